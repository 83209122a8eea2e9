import { sql, type Kysely } from "kysely";

/**
 * The reference checks to `users` (migrations 009, 012) are skipped while the transaction-local setting
 * `rollcall.own_users` is `on`. A writer sets it (`withOwnUsers`) only around statements whose every
 * user is one it inserted itself, earlier in the same transaction: a first import's cards and memberships
 * point only at the users of its batch. Such a user cannot be missing, and no other transaction can see it to
 * delete it, so the lookup and lock proved nothing: at 100,000 users they were about 0.45 s of the server's
 * 3.7 s. The references to groups and workspaces are still checked.
 */
const userReferences = [
  { trigger: "group_members_member_user_id_fkey_insert", child: "group_members", column: "member_user_id" },
  { trigger: "user_identifiers_user_id_fkey_insert", child: "user_identifiers", column: "user_id" },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  // Unset, the setting is NULL: coalesced, or the comparison would be NULL and the trigger would never fire.
  const notOwn = `coalesce(current_setting('rollcall.own_users', true), '') <> 'on'`;
  for (const r of userReferences) {
    await sql.raw(`
      DROP TRIGGER ${r.trigger} ON ${r.child};
      CREATE TRIGGER ${r.trigger} AFTER INSERT ON ${r.child} REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT WHEN (${notOwn}) EXECUTE FUNCTION rollcall_check_references('${r.column}', 'users', 'id');
    `).execute(db);
  }
}
