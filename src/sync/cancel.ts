import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError } from "../errors.ts";
import { describeActor } from "../domain/actor.ts";

/**
 * Stopping a running sync from anywhere: the request is recorded on the run (core/runs.ts cancelRun, migration 020),
 * since its runner may be in another process sharing the database; the runner polls for it (`watchCancel`) and
 * aborts, which fails the run the way a Ctrl-C does: whatever it had not committed is rolled back. A run of the
 * process that takes the request is aborted at once (`stopHere`), without waiting for its next poll: on PGlite
 * the poll, like the request's own write, waits behind the run's transaction.
 */

/** The reason a cancelled run fails with. */
export function cancelledBy(actor: string): RollcallError {
  return new RollcallError("sync_failed", `Cancelled by ${describeActor(actor)}: the run was stopped before it finished; nothing it had not committed was applied`, { cancelledBy: actor });
}

/**
 * While a run goes: every `everyMs`, reads whether someone asked it to stop, and if so aborts `controller` with
 * "cancelled by". One read at a time (on PGlite a read waits behind the run's own transaction); `track` lets the
 * runner wait for the last one before it finishes.
 */
export function watchCancel(db: Db, runId: string, controller: AbortController, everyMs: number, track: (p: Promise<unknown>) => void): () => void {
  let reading = false;
  const timer = setInterval(() => {
    if (reading || controller.signal.aborted) return;
    reading = true;
    const read = sql<{ by: string | null }>`select cancel_requested_by as by from sync_runs where id = ${runId} and cancel_requested_at is not null`
      .execute(db)
      .then(({ rows }) => {
        if (rows[0] && !controller.signal.aborted) controller.abort(cancelledBy(rows[0].by ?? "someone"));
      })
      .finally(() => (reading = false));
    track(read);
  }, everyMs);
  return () => clearInterval(timer);
}

interface RunHere {
  workspaceId: string;
  controller: AbortController;
  ended: Promise<void>;
}

/** The runs going on in this process, by the database handle they run over, then by run id. */
const runsHere = new WeakMap<Db, Map<string, RunHere>>();

/** Registers a run going on over `db` in this process; call the function returned once it has ended. */
export function registerRunHere(db: Db, runId: string, workspaceId: string, controller: AbortController): () => void {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const runs = runsHere.get(db) ?? new Map<string, RunHere>();
  runsHere.set(db, runs);
  runs.set(runId, { workspaceId, controller, ended });
  return () => {
    runs.delete(runId);
    end();
  };
}

/** Aborts a run of the workspace going on over `db` in this process, as cancelled by `actor`; resolves once it has ended. Null when it runs elsewhere (or not at all). */
export function stopHere(db: Db, runId: string, workspaceId: string, actor: string): Promise<void> | null {
  const run = runsHere.get(db)?.get(runId);
  if (!run || run.workspaceId !== workspaceId) return null;
  if (!run.controller.signal.aborted) run.controller.abort(cancelledBy(actor));
  return run.ended;
}

/**
 * Aborts every run going on over `db` in this process with `reason`, and resolves once they have ended (each failed,
 * rolled back, its lease released). For a server that is stopping: a run it left behind would stay "running" and
 * keep its source from syncing on every other process until its lease expired.
 */
export async function stopRunsHere(db: Db, reason: RollcallError): Promise<void> {
  const runs = [...(runsHere.get(db)?.values() ?? [])];
  for (const run of runs) if (!run.controller.signal.aborted) run.controller.abort(reason);
  await Promise.all(runs.map((run) => run.ended));
}
