import { sql, type RawBuilder } from "kysely";
import type { Db } from "../storage/database.ts";

/**
 * The marks on mirror users a run must look at (entra_dirty_users), between a run and whoever else marks them.
 * A run plans from the marks there are when it starts planning and clears only those (version up to the one it
 * saw), so a mark made meanwhile (an edit or a delete here, a change of the source's scope) outlives it.
 * Marks made outside runs hold a shared advisory lock on the source until they commit, and a run takes the
 * version it saw under the exclusive one: no mark older than that version can commit after it. (An advisory
 * lock, not the source_state row: a run's merge writes marks and then that row, and would deadlock with an edit.)
 * https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
 */

/** The advisory lock of a source's marks: this namespace, and the hash of the source's id. */
const marksLock = (sourceId: RawBuilder<unknown>) => sql`7301, hashtext(${sourceId}::text)`;

/** Marks `mirrorUsers` (a `select source_id, id` of entra_users) dirty from outside a run, newer than any a running run saw. */
export async function markDirtyOutsideRun(trx: Db, mirrorUsers: RawBuilder<unknown>): Promise<void> {
  await sql`select pg_advisory_xact_lock_shared(${marksLock(sql`source_id`)}) from (select distinct source_id from (${mirrorUsers}) m order by 1) s`.execute(trx);
  await sql`insert into entra_dirty_users (source_id, id) select source_id, id from (${mirrorUsers}) m
    on conflict (source_id, id) do update set version = excluded.version`.execute(trx);
}

/** The newest mark of the source as a run starts planning: what the run may clear (clearSeenMarks). */
export async function seenMarks(db: Db, sourceId: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${marksLock(sql`${sourceId}`)})`.execute(trx);
    const { rows } = await sql<{ version: string }>`select coalesce(max(version), 0) as version from entra_dirty_users where source_id = ${sourceId}`.execute(trx);
    return Number(rows[0]!.version);
  });
}

/** Clears the marks the run saw (up to `seen`), but for those of users it must look at again (conflicts). Returns how many. */
export async function clearSeenMarks(trx: Db, input: { sourceId: string; runId: string; seen: number }): Promise<number> {
  const cleaned = await sql`delete from entra_dirty_users d where d.source_id = ${input.sourceId} and d.version <= ${input.seen}
    and not exists (select 1 from sync_plan_users p where p.run_id = ${input.runId} and p.action = 'conflict' and p.external_id = d.id)`.execute(trx);
  return Number(cleaned.numAffectedRows ?? 0);
}
