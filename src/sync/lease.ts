import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError } from "../errors.ts";
import { failedRunCounts } from "../domain/run-counts.ts";

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
  if (previous) await sql`update sync_runs set ${failedUnresponsive} where id = ${previous} and status = 'running'`.execute(db);
  return previous !== null;
}

const failedUnresponsive = sql`status = 'failed', finished_at = now(), counts = ${JSON.stringify(failedRunCounts())}::jsonb,
  error = jsonb_build_object('code', 'sync_failed', 'message', 'The run stopped responding (its process was killed or lost the database); nothing it had not committed was applied')`;

/**
 * Runs whose process is gone (killed, or cut off from the database while it finished) hold no live lease, yet stay
 * "running" in history and status until someone syncs their source. Every server sweeps them as it ticks. A run
 * younger than a minute may still be claiming its lease. Returns how many were failed.
 */
export async function failAbandonedRuns(db: Db): Promise<number> {
  const result = await sql`update sync_runs r set ${failedUnresponsive}
    where r.status = 'running' and r.started_at < now() - interval '1 minute'
      and not exists (select 1 from source_state s where s.lease_run_id = r.id and s.lease_expires_at > now())`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * The embedded database belongs to the one process that opened it (storage/lock.ts): a run still "running" there
 * died with an earlier process, and its lease would keep its source from syncing until it expired. The lease is
 * expired, not cleared: the next run takes it over and clears what the dead run left staged.
 */
export async function failRunsOfEarlierProcesses(db: Db): Promise<void> {
  await sql`update sync_runs set ${failedUnresponsive} where status = 'running'`.execute(db);
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
