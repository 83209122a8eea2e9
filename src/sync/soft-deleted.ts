import { sql } from "kysely";
import type { Db, Store } from "../storage/database.ts";
import { GraphRequestError, graphFailure, permissionFor, type GraphClient } from "../sources/entra/graph.ts";
import type { RunWarning } from "./apply.ts";
import { restorablePrefix, type HeldUser } from "./plan.ts";

/**
 * Graph's full listing of users leaves out the users deleted but still restorable (soft-deleted: in deletedItems for
 * 30 days). A full run reads users through a delta query's first round, which "will return the resources that
 * currently exist in the collection" (https://learn.microsoft.com/graph/delta-query-overview); only a round from a
 * stored token reports a soft delete, as `@removed: changed`. So a user the source holds that a full listing lacks
 * may be gone for good or only soft-deleted, and deletedItems tells which
 * (https://learn.microsoft.com/graph/api/directory-deleteditems-list). The soft-deleted ones are staged as the delta
 * would have reported them (removed, reason "changed"): the merge keeps them restorable and the plan only disables
 * them, whatever on-remove says (merge.ts, plan.ts).
 */
export interface SoftDeletedCheck {
  /** Users the source holds that the listing lacked. */
  missing: number;
  /** Of them, those soft-deleted in Entra ID. */
  restorable: number;
  /** Set when Graph refused to list deleted users: the run goes on without telling them apart, and logs this. */
  warning?: RunWarning;
}

const deletedUsers = "/directory/deletedItems/microsoft.graph.user?$select=id&$top=999";

/** Run between a full users listing (in staging) and its merge. Asks Graph nothing when no held user is missing. */
export async function stageSoftDeleted(store: Store, graph: GraphClient, input: { sourceId: string; runId: string }): Promise<SoftDeletedCheck> {
  const missing = await heldButNotListed(store.db, input);
  if (!missing.size) return { missing: 0, restorable: 0 };
  // The tenant's deleted users, 999 a request (30 days of deletions), rather than a request per missing user (a wave of leavers).
  const restorable: string[] = [];
  try {
    for await (const page of graph.pages(deletedUsers)) {
      for (const user of page.value) if (missing.has(String(user.id))) restorable.push(String(user.id));
    }
  } catch (error) {
    if (!(error instanceof GraphRequestError && error.status === 403)) throw graphFailure(error, "list the users deleted in Entra ID");
    // Unchecked, the users an earlier run found restorable stay so: counted gone, their restorable state would end, and
    // the next run planning one (changed here meanwhile) would say Entra ID deleted it for good, which nothing told.
    const known = await knownRestorable(store.db, input.sourceId, missing);
    if (known.length) await store.copyRows("sync_stage_users", ["run_id", "id", "data", "removed"], known.map((id) => [input.runId, id, null, "changed"]));
    return { missing: missing.size, restorable: known.length, warning: refusedWarning({ unknown: missing.size - known.length, known: known.length }, error) };
  }
  if (restorable.length) {
    await store.copyRows("sync_stage_users", ["run_id", "id", "data", "removed"], restorable.map((id) => [input.runId, id, null, "changed"]));
  }
  return { missing: missing.size, restorable: restorable.length };
}

/** The Entra object ids of the source's users that the run's staged listing does not name at all. */
async function heldButNotListed(db: Db, input: { sourceId: string; runId: string }): Promise<Set<string>> {
  const { rows } = await sql<{ id: string }>`select u.external_id as id from users u
    where u.source_id = ${input.sourceId} and u.external_id is not null
      and not exists (select 1 from sync_stage_users s where s.run_id = ${input.runId} and s.id = u.external_id)`.execute(db);
  return new Set(rows.map((r) => r.id));
}

/** Of `missing`, those entra_restorable has: an earlier run found them in deleted items. */
async function knownRestorable(db: Db, sourceId: string, missing: Set<string>): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`select id from entra_restorable where source_id = ${sourceId} and id = any(${[...missing]}::text[])`.execute(db);
  return rows.map((r) => r.id);
}

const usersText = (n: number) => (n === 1 ? "1 user" : `${n.toLocaleString("en-US")} users`);

/** One warning for the run: what it could not tell of each kind of missing user, and the permission that lets it. */
function refusedWarning(missing: { unknown: number; known: number }, error: GraphRequestError): RunWarning {
  const permission = permissionFor(error.url);
  const parts = [];
  if (missing.unknown) {
    parts.push(`whether the ${usersText(missing.unknown)} the source holds that Entra ID no longer lists are deleted for good or only deleted there and still restorable for 30 days: `
      + `the source's on-remove setting applied to them as to users deleted for good (with on-remove delete, they lose their PIN, cards and role here)`);
  }
  if (missing.known) {
    const it = missing.known === 1 ? "it" : "they";
    parts.push(`whether Entra ID has since deleted ${it === "it" ? "it" : "them"} for good, for the ${usersText(missing.known)} the source holds disabled while restorable there: `
      + `${it} stay${it === "it" ? "s" : ""} disabled as restorable, and no "purge" entry says ${it} can no longer be restored until a run may read deleted users`);
  }
  // The same words every run (no request id): approving a stopped run compares its log with the reviewed one's.
  const message = `Graph refused to list the users deleted in Entra ID (403 ${error.code}), so this run could not tell ${parts.join("; nor ")}. `
    + `In App registrations > API permissions add the Microsoft Graph application permission ${permission} `
    + `(it reads deleted users) and click "Grant admin consent".`;
  return { subject: "Users deleted in Entra ID", message };
}

/**
 * Of the held users `disabled` (this chunk's disabled ones), the Entra object ids of those whose last status change
 * (disable or enable, by a sync or by hand) is a sync's disable for being in Entra ID's deleted items: listed again,
 * Entra ID restored them, and their enable says so (plan.ts restoredReason).
 */
export async function restoredOf(db: Db, disabled: HeldUser[]): Promise<Set<string>> {
  if (!disabled.length) return new Set();
  const { rows } = await sql<{ id: string }>`select u.external_id as id from users u
    where u.id = any(${disabled.map((h) => h.id)}::uuid[]) and u.external_id is not null and ${disabledWhileRestorable}`.execute(db);
  return new Set(rows.map((r) => r.id));
}

/** Of users `u`: the last status change (a "purge" entry ends it) is a sync's disable for being in deleted items. */
const disabledWhileRestorable = sql`(select c.after->>'reason' from change_log c where c.user_id = u.id and c.action in ('disable', 'enable', 'purge') order by c.id desc limit 1)
  like ${`${restorablePrefix}%`}`;

/**
 * Of the held users `disabled`, the Entra object ids of those disabled for being in deleted items (restoredOf) that
 * Entra ID has since deleted for good: neither restorable any more (a delta's `@removed` reason "deleted", "deleted
 * and can't be restored", or a full run's deletedItems no longer listing them: merge.ts trackRestorable) nor listed
 * again. https://learn.microsoft.com/graph/delta-query-overview (resource representation in the delta query response)
 * Their "purge" entry then ends their status changes, so it is written once.
 */
export async function purgedOf(db: Db, sourceId: string, disabled: HeldUser[]): Promise<Set<string>> {
  if (!disabled.length) return new Set();
  const { rows } = await sql<{ id: string }>`select u.external_id as id from users u
    where u.id = any(${disabled.map((h) => h.id)}::uuid[]) and u.source_id = ${sourceId} and u.external_id is not null
      and not exists (select 1 from entra_restorable r where r.source_id = ${sourceId} and r.id = u.external_id)
      and not exists (select 1 from entra_users e where e.source_id = ${sourceId} and e.id = u.external_id)
      and ${disabledWhileRestorable}`.execute(db);
  return new Set(rows.map((r) => r.id));
}
