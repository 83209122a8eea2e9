import { sql } from "kysely";
import type { Db, Store } from "../database.ts";
import { arrayLiteral, copyField, CopyEncoder } from "../copy-format.ts";
import type { ImportedUser } from "../../sources/import/row.ts";
import { stagedColumns } from "./imports.ts";
import { copyUserFields, userColumns } from "../user-row.ts";
import { withOwnUsers } from "../references.ts";
import type { ApplyStepReport } from "./import-apply.ts";

/** Where a first import's users go, and who the change log names. */
export interface NewUsersTarget {
  workspaceId: string;
  sourceName: string;
  sourceId: string;
  actor: string;
  /** Fields whose column is in the file (as ImportPass computes them). */
  present: Set<string>;
}

/** A batch of new users, encoded for COPY: what writeNewUsers writes. */
export interface EncodedNewUsers {
  users: Uint8Array[];
  identifiers: Uint8Array[];
  memberships: Uint8Array[];
  changes: Uint8Array[];
}

/** In the order NewUserRows writes them: the columns every row of an import shares come last, written once. */
const copiedColumns = ["id", ...userColumns, "tags", "workspace_id", "source_type", "source_name", "source_id"];
const changeColumns = ["user_id", "subject", "after", "workspace_id", "action", "actor"];

const importedTag = arrayLiteral(["Imported"]);

/** Always in a create entry, whether the file has their column or not (as the staged apply's). */
const identityFields = new Set(["email", "userPrincipalName", "displayName"]);

/**
 * An import's new users written straight into the directory's tables with COPY, without staging: used when
 * the workspace held no users as the import started, so that no row can match or clash with a user and every
 * row the file's own checks let through is a create. Each row is encoded as it is read, into the rows of
 * four tables (the user, its cards and aliases, its memberships, its change-log entry), exactly as the
 * staged apply (import-apply.ts) would write them. At 100,000 rows on PGlite this writes in about 6.5 s what
 * staging and applying took 10 s for (BENCHMARKS.md, session 20).
 */
export class NewUserRows {
  private readonly users = new CopyEncoder();
  private readonly identifiers = new CopyEncoder();
  private readonly memberships = new CopyEncoder();
  private readonly changes = new CopyEncoder();
  /** The create entry's fields. */
  private readonly logged: (typeof stagedColumns)[number]["field"][];
  private readonly logsEnabled: boolean;
  /** The end of every line of users, and of change_log, and of every create entry's JSON: what all of them share, encoded once. */
  private readonly userEnd: string;
  private readonly changeEnd: string;
  private readonly afterEnd: string;

  constructor(private readonly target: NewUsersTarget) {
    this.logged = stagedColumns.filter((c) => target.present.has(c.field) || identityFields.has(c.field)).map((c) => c.field);
    this.logsEnabled = this.logged.includes("enabled");
    const { workspaceId, sourceName, sourceId, actor } = target;
    this.userEnd = `\t${[workspaceId, "import", sourceName, sourceId].map(copyField).join("\t")}\n`;
    this.changeEnd = `\t${[workspaceId, "create", actor].map(copyField).join("\t")}\n`;
    this.afterEnd = `,"source":${JSON.stringify(`import:${sourceName}`)}}`;
  }

  /**
   * Encodes `user` (id `id`) as a member of `groupIds` (the ids of the groups its row names, each once). Lines are
   * concatenated rather than joined from arrays of values, which cost an array and a copy per row and table.
   */
  add(id: string, user: ImportedUser, groupIds: string[]): void {
    const { workspaceId } = this.target;
    // Most rows have no custom attributes or tags: their constant forms save building each (copyUserFields does so for phones).
    const custom = user.customAttributes ? JSON.stringify(Object.fromEntries(Object.entries(user.customAttributes).filter(([, value]) => value !== ""))) : "{}";
    const tags = user.tags?.length ? arrayLiteral(["Imported", ...user.tags.filter((t) => t !== "Imported")]) : importedTag;
    this.users.addLine(`${id}\t${copyUserFields(user, custom)}\t${copyField(tags)}${this.userEnd}`);
    const aliases = user.aliases ?? [];
    const cards = user.cardNumbers ?? [];
    for (let i = 0; i < aliases.length; i++) this.identifiers.addLine(`${workspaceId}\talias\t${copyField(aliases[i]!.toLowerCase())}\t${copyField(aliases[i]!)}\t${id}\t${i}\n`);
    for (let i = 0; i < cards.length; i++) this.identifiers.addLine(`${workspaceId}\tcard\t${copyField(cards[i]!)}\t${copyField(cards[i]!)}\t${id}\t${i}\n`);
    for (const groupId of groupIds) this.memberships.addLine(`${workspaceId}\t${groupId}\t${id}\n`);
    this.changes.addLine(`${id}\t${copyField(user.email ?? user.userPrincipalName ?? user.displayName)}\t${copyField(this.after(user))}${this.changeEnd}`);
  }

  /** The create entry's `after`: the logged fields, null where the row has no value, and the source. */
  private after(user: ImportedUser): string {
    // One native call for most rows. A property list also filters the keys of nested objects (custom attributes)
    // and leaves out what is undefined: of the file's columns, only a blank Enabled cell leaves its field so.
    if (user.customAttributes === undefined && (user.enabled !== undefined || !this.logsEnabled)) return JSON.stringify(user, this.logged).slice(0, -1) + this.afterEnd;
    return JSON.stringify(Object.fromEntries(this.logged.map((field) => [field, user[field] ?? null]))).slice(0, -1) + this.afterEnd;
  }

  /** The rows encoded since the last take. */
  take(): EncodedNewUsers {
    return { users: this.users.take(), identifiers: this.identifiers.take(), memberships: this.memberships.take(), changes: this.changes.take() };
  }
}

/**
 * Writes a batch of new users inside `trx`, users first. The other rows refer only to the batch's users, so
 * their references to `users` go unchecked (withOwnUsers); those to groups and the workspace are checked.
 */
export async function writeNewUsers(store: Store, trx: Db, rows: EncodedNewUsers, onStep: ApplyStepReport = () => {}): Promise<void> {
  const steps: [string, string, string[], Uint8Array[]][] = [
    ["new users", "users", copiedColumns, rows.users],
    ["cards and aliases", "user_identifiers", ["workspace_id", "kind", "key", "value", "user_id", "position"], rows.identifiers],
    ["memberships", "group_members", ["workspace_id", "group_id", "member_user_id"], rows.memberships],
    ["change log", "change_log", changeColumns, rows.changes],
  ];
  const copy = async (done: number) => {
    const [label, table, columns, chunks] = steps[done]!;
    onStep(done, steps.length, label);
    if (chunks.length) await store.copyInto(trx, table, columns, chunks);
  };
  await copy(0);
  await withOwnUsers(trx, async () => {
    for (let done = 1; done < steps.length; done++) await copy(done);
  });
  onStep(steps.length, steps.length);
}

export interface WorkspaceGroup {
  id: string;
  name: string;
  sourceType: string;
  sourceName: string;
}

/** The workspace's groups, by lower-case name: an import links the ones its rows name and creates the rest. */
export async function workspaceGroups(db: Db, workspaceId: string): Promise<Map<string, WorkspaceGroup>> {
  const rows = await db.selectFrom("groups").select(["id", "name", "source_type", "source_name"]).where("workspace_id", "=", workspaceId).execute();
  return new Map(rows.map((g) => [g.name.toLowerCase(), { id: g.id, name: g.name, sourceType: g.source_type, sourceName: g.source_name }]));
}

/** Creates an import's new groups (with the ids given, or new ones), each with its change-log entry. */
export async function insertImportGroups(trx: Db, target: Omit<NewUsersTarget, "present">, groups: { id?: string; name: string }[]): Promise<void> {
  if (groups.length === 0) return;
  const { workspaceId, sourceName, sourceId, actor } = target;
  await sql`
    WITH created AS (
      INSERT INTO groups (id, workspace_id, name, source_type, source_name, source_id)
      SELECT coalesce(g.id, rollcall_uuid7()), ${workspaceId}, g.name, 'import', ${sourceName}, ${sourceId}
      FROM unnest(${groups.map((g) => g.id ?? null)}::uuid[], ${groups.map((g) => g.name)}::text[]) WITH ORDINALITY g(id, name, ord)
      ORDER BY g.ord RETURNING id, name)
    INSERT INTO change_log (workspace_id, group_id, subject, action, after, actor)
    SELECT ${workspaceId}, id, name, 'create group', jsonb_build_object('name', name, 'source', 'import:' || ${sourceName}::text), ${actor} FROM created`.execute(trx);
}
