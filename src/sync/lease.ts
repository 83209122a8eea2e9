import { sql, type RawBuilder } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError } from "../errors.ts";
import { failedRunCounts } from "../domain/run-counts.ts";
import { photosUnfinishedMessage } from "./photos.ts";

/**
 * One run per source at a time, across every process sharing the database: a lease on the source's
 * source_state row, claimed by an atomic UPDATE … WHERE (free or expired) and renewed by the run's
 * heartbeat. A killed run stops renewing; once its lease expires the next claim takes over and marks
 * the dead run failed. A run that has written its end holds its lease a little longer (clearing its staging), but
 * no longer counts as running: someone who saw it end may start the next one at once.
 */
const leaseFree = (state: string) => sql.raw(`(${state}.lease_run_id is null or ${state}.lease_expires_at < now()
    or exists (select 1 from sync_runs ended where ended.id = ${state}.lease_run_id and ended.status <> 'running'))`);

export const defaultLeaseMs = 90_000;

/** Returns true when the lease was taken over from a dead run (whose staged rows are then left behind). */
export async function claimLease(db: Db, sourceId: string, runId: string, leaseMs: number): Promise<boolean> {
  await sql`insert into source_state (source_id) values (${sourceId}) on conflict do nothing`.execute(db);
  const { rows } = await sql<{ previous: string | null }>`
    update source_state s set lease_run_id = ${runId}, lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval
    from (select lease_run_id as previous from source_state where source_id = ${sourceId} for update) old
    where s.source_id = ${sourceId} and ${leaseFree("s")}
    returning old.previous`.execute(db);
  if (rows.length === 0) {
    const running = await sql<{ id: string; started_at: Date; trigger: string }>`
      select r.id, r.started_at, r.trigger from source_state s join sync_runs r on r.id = s.lease_run_id where s.source_id = ${sourceId}`.execute(db);
    const run = running.rows[0];
    throw new RollcallError(
      "sync_running",
      run
        ? `A sync of this source is already running (run ${run.id}, ${run.trigger}, started ${new Date(run.started_at).toISOString()}); wait for it or follow it with \`rollcall runs show ${run.id}\``
        : "A sync of this source is starting in another process; try again in a moment",
      { runId: run?.id ?? null },
    );
  }
  const previous = rows[0]!.previous;
  if (previous) await endAbandonedRuns(db, sql`r.id = ${previous}`);
  return previous !== null;
}

const failedRunCountsJson = sql`${JSON.stringify(failedRunCounts())}::jsonb`;
const unresponsiveError = sql`jsonb_build_object('code', 'sync_failed', 'message', 'The run stopped responding (its process was killed or lost the database); nothing it had not committed was applied')`;

/**
 * Ends the running runs `where` selects whose process is gone. One killed in its photo step had committed its changes
 * and counts (RunRecord.applied): it ends succeeded, with a warning that its photos were not finished, and the next
 * run checks every photo. Any other fails: nothing it had not committed was applied.
 */
export async function endAbandonedRuns(db: Db, where: RawBuilder<unknown>): Promise<number> {
  const inPhotos = sql`r.progress->>'phase' = 'photos'`;
  const { rows } = await sql<{ ended: number }>`with ended as (
      update sync_runs r set status = case when ${inPhotos} then 'succeeded' else 'failed' end,
        finished_at = now(),
        counts = case when ${inPhotos} then r.counts || jsonb_build_object('warnings', coalesce((r.counts->>'warnings')::int, 0) + 1) else ${failedRunCountsJson} end,
        error = case when ${inPhotos} then null else ${unresponsiveError} end,
        progress = case when ${inPhotos} then r.progress || '{"phase":"done"}'::jsonb else r.progress end
      where r.status = 'running' and ${where}
      returning r.id, r.workspace_id, r.source_id, r.requested_by, r.status),
    warned as (insert into change_log (workspace_id, run_id, subject, action, after, actor)
      select e.workspace_id, e.id, 'photos', 'warning', json_build_object('messages', json_build_array(${photosUnfinishedMessage("the run's process stopped during its photo step")}::text)),
        coalesce(e.requested_by, 'sync:' || s.name) from ended e join sources s on s.id = e.source_id where e.status = 'succeeded'),
    recheck as (update source_state set photos_checked_at = null where source_id in (select source_id from ended where status = 'succeeded'))
    select count(*)::int as ended from ended`.execute(db);
  return rows[0]!.ended;
}

/**
 * Runs whose process is gone (killed, or cut off from the database while it finished) hold no live lease, yet stay
 * "running" in history and status until someone syncs their source. Every server sweeps them as it ticks. A run
 * younger than a minute may still be claiming its lease. Returns how many were ended.
 */
export async function failAbandonedRuns(db: Db): Promise<number> {
  return endAbandonedRuns(db, sql`r.started_at < now() - interval '1 minute'
      and not exists (select 1 from source_state s where s.lease_run_id = r.id and s.lease_expires_at > now())`);
}

/**
 * The embedded database belongs to the one process that opened it (storage/lock.ts): a run still "running" there
 * died with an earlier process, and its lease would keep its source from syncing until it expired. The lease is
 * expired, not cleared: the next run takes it over and clears what the dead run left staged.
 */
export async function failRunsOfEarlierProcesses(db: Db): Promise<void> {
  await endAbandonedRuns(db, sql`true`);
  await sql`update source_state set lease_expires_at = now() - interval '1 second' where lease_run_id is not null and lease_expires_at > now()`.execute(db);
}

/** Renew the lease; false when it was lost (another process took over an expired lease). */
export async function renewLease(db: Db, sourceId: string, runId: string, leaseMs: number): Promise<boolean> {
  const result = await sql`update source_state set lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval
    where source_id = ${sourceId} and lease_run_id = ${runId}`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

export async function releaseLease(db: Db, sourceId: string, runId: string): Promise<void> {
  await sql`update source_state set lease_run_id = null, lease_expires_at = null where source_id = ${sourceId} and lease_run_id = ${runId}`.execute(db);
}

/**
 * Within a transaction that changes what a run relies on (removing or renaming the source, its scope or mapping): waits for a
 * claim in progress, then refuses while a run holds the lease. Holding the row, no run starts until the
 * transaction ends.
 */
export async function lockIdleSource(trx: Db, source: { id: string; name: string }, why = "wait for it to finish"): Promise<void> {
  const { rows } = await sql<{ lease_run_id: string | null; running: boolean }>`
    select lease_run_id, not ${leaseFree("s")} as running from source_state s where source_id = ${source.id} for update`.execute(trx);
  const runId = rows[0]?.running ? rows[0].lease_run_id : null;
  if (runId) throw new RollcallError("sync_running", `Source "${source.name}" is syncing (run ${runId}); ${why}`, { runId });
}
