import { sql, type Kysely } from "kysely";

/**
 * The tables a sync or an import fills by the hundred thousand check their references once per statement
 * instead of once per row. A foreign key runs a lookup trigger for every inserted row: in a first sync of
 * 100,000 users that was about 1.9 million lookups (memberships, change-log rows, the mirror), and on
 * PostgreSQL it doubled the cost of writing memberships (4.7 s instead of 1.7 s for 289,662 rows).
 *
 * Each reference below keeps a foreign key's guarantees, with triggers:
 * - after an INSERT statement, the parents of its rows (a transition table) are locked FOR KEY SHARE, as a
 *   foreign key locks them, and any missing one fails the statement with foreign_key_violation (23503);
 * - a row whose reference columns an UPDATE changes is checked the same way, on its own;
 * - deleting parents deletes their children (or sets the reference to NULL) in one statement;
 * - a parent's key cannot change while references to it are held by triggers (ids never change here).
 * Locking the parents makes a concurrent delete of one wait for the inserting transaction, and the delete's
 * cascade (a statement of its own, with a fresh snapshot under READ COMMITTED) then sees the new children.
 */
interface Reference {
  constraint: string;
  child: string;
  columns: string[];
  parent: string;
  keys: string[];
  onDelete: "cascade" | "set null";
}

const references: Reference[] = [
  { constraint: "users_workspace_id_fkey", child: "users", columns: ["workspace_id"], parent: "workspaces", keys: ["id"], onDelete: "cascade" },
  { constraint: "users_source_id_fkey", child: "users", columns: ["source_id"], parent: "sources", keys: ["id"], onDelete: "set null" },
  { constraint: "group_members_group_fkey", child: "group_members", columns: ["workspace_id", "group_id"], parent: "groups", keys: ["workspace_id", "id"], onDelete: "cascade" },
  { constraint: "group_members_member_user_id_fkey", child: "group_members", columns: ["member_user_id"], parent: "users", keys: ["id"], onDelete: "cascade" },
  { constraint: "group_members_member_group_id_fkey", child: "group_members", columns: ["member_group_id"], parent: "groups", keys: ["id"], onDelete: "cascade" },
  { constraint: "user_identifiers_user_id_fkey", child: "user_identifiers", columns: ["user_id"], parent: "users", keys: ["id"], onDelete: "cascade" },
  { constraint: "user_identifiers_workspace_id_fkey", child: "user_identifiers", columns: ["workspace_id"], parent: "workspaces", keys: ["id"], onDelete: "cascade" },
  { constraint: "change_log_workspace_id_fkey", child: "change_log", columns: ["workspace_id"], parent: "workspaces", keys: ["id"], onDelete: "cascade" },
  { constraint: "change_log_run_id_fkey", child: "change_log", columns: ["run_id"], parent: "sync_runs", keys: ["id"], onDelete: "set null" },
  { constraint: "entra_users_source_id_fkey", child: "entra_users", columns: ["source_id"], parent: "sources", keys: ["id"], onDelete: "cascade" },
  { constraint: "entra_groups_source_id_fkey", child: "entra_groups", columns: ["source_id"], parent: "sources", keys: ["id"], onDelete: "cascade" },
  { constraint: "entra_members_source_id_fkey", child: "entra_members", columns: ["source_id"], parent: "sources", keys: ["id"], onDelete: "cascade" },
];

const functions = `
  CREATE FUNCTION rollcall_reference_missing(child text, reference text, cols text, key text, parent text) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"', child, reference
      USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (%s)=%s is not present in table "%s".', cols, key, parent),
        TABLE = child, CONSTRAINT = reference;
  END $$;

  CREATE FUNCTION rollcall_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    cols text := TG_ARGV[0]; parent text := TG_ARGV[1]; keys text := TG_ARGV[2];
    present text; wanted bigint; locked bigint; missing text;
  BEGIN
    SELECT string_agg(format('%I IS NOT NULL', c), ' AND ') INTO present FROM unnest(string_to_array(cols, ',')) c;
    EXECUTE format('SELECT count(*) FROM (SELECT DISTINCT %s FROM new_rows WHERE %s) d', cols, present) INTO wanted;
    IF wanted = 0 THEN RETURN NULL; END IF;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I WHERE (%s) IN (SELECT %s FROM new_rows WHERE %s) FOR KEY SHARE) l',
      parent, keys, cols, present) INTO locked;
    IF locked <> wanted THEN
      EXECUTE format('SELECT row(%s)::text FROM new_rows WHERE %s AND (%s) NOT IN (SELECT %s FROM %I) LIMIT 1', cols, present, cols, keys, parent) INTO missing;
      PERFORM rollcall_reference_missing(TG_TABLE_NAME, TG_NAME, cols, missing, parent);
    END IF;
    RETURN NULL;
  END $$;

  CREATE FUNCTION rollcall_check_reference_row() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    cols text := TG_ARGV[0]; parent text := TG_ARGV[1]; keys text := TG_ARGV[2];
    found bigint; missing text;
  BEGIN
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I WHERE (%s) = (SELECT %s FROM (SELECT ($1).*) n) FOR KEY SHARE) l', parent, keys, cols)
      INTO found USING NEW;
    IF found = 0 THEN
      EXECUTE format('SELECT row(%s)::text FROM (SELECT ($1).*) n', cols) INTO missing USING NEW;
      PERFORM rollcall_reference_missing(TG_TABLE_NAME, TG_NAME, cols, missing, parent);
    END IF;
    RETURN NULL;
  END $$;

  CREATE FUNCTION rollcall_cascade_references() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    child text := TG_ARGV[0]; cols text := TG_ARGV[1]; keys text := TG_ARGV[2]; action text := TG_ARGV[3];
  BEGIN
    IF action = 'cascade' THEN
      EXECUTE format('DELETE FROM %I WHERE (%s) IN (SELECT %s FROM old_rows)', child, cols, keys);
    ELSE
      EXECUTE format('UPDATE %I SET (%s) = ROW(%s) WHERE (%s) IN (SELECT %s FROM old_rows)', child, cols,
        (SELECT string_agg('NULL', ',') FROM unnest(string_to_array(cols, ','))), cols, keys);
    END IF;
    RETURN NULL;
  END $$;

  CREATE FUNCTION rollcall_keep_key() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'the key (%) of table "%" cannot change: other tables refer to it', TG_ARGV[0], TG_TABLE_NAME
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
  END $$;
`;

function statements(r: Reference): string {
  const cols = r.columns.join(",");
  const keys = r.keys.join(",");
  const args = `'${cols}', '${r.parent}', '${keys}'`;
  const changed = (list: string[]) => `ROW(${list.map((c) => `OLD.${c}`).join(",")}) IS DISTINCT FROM ROW(${list.map((c) => `NEW.${c}`).join(",")})`;
  // A reference set to NULL refers to nothing (as with a foreign key's MATCH SIMPLE).
  const set = r.columns.map((c) => ` AND NEW.${c} IS NOT NULL`).join("");
  return `
    ALTER TABLE ${r.child} DROP CONSTRAINT ${r.constraint};
    CREATE TRIGGER ${r.constraint}_insert AFTER INSERT ON ${r.child} REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION rollcall_check_references(${args});
    CREATE TRIGGER ${r.constraint}_update AFTER UPDATE OF ${cols} ON ${r.child}
      FOR EACH ROW WHEN (${changed(r.columns)}${set}) EXECUTE FUNCTION rollcall_check_reference_row(${args});
    CREATE TRIGGER ${r.constraint}_delete AFTER DELETE ON ${r.parent} REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION rollcall_cascade_references('${r.child}', '${cols}', '${keys}', '${r.onDelete}');
    CREATE TRIGGER ${r.constraint}_key AFTER UPDATE OF ${keys} ON ${r.parent}
      FOR EACH ROW WHEN (${changed(r.keys)}) EXECUTE FUNCTION rollcall_keep_key('${keys}');
  `;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(functions + references.map(statements).join("")).execute(db);
}
