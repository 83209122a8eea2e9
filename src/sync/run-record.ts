import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError, toRollcallError, type ErrorCode } from "../errors.ts";
import type { GraphClient } from "../sources/entra/graph.ts";
import { renewLease } from "./lease.ts";
import { watchCancel } from "./cancel.ts";
import { runCountsOf, type RunCounts } from "../domain/run-counts.ts";

/** "replanning": an apply collided with a change made meanwhile and rolled back; the run plans again (runner.ts), its count from 0. */
/** "photos": the run applied and is recorded; a source that syncs photos brings them in step (photos.ts). */
export const syncPhases = ["starting", "fetching", "planning", "replanning", "applying", "photos", "done"] as const;

export interface SyncProgress {
  phase: (typeof syncPhases)[number];
  users: number;
  groups: number;
  planned: number;
  toPlan: number;
  note?: string;
  /** Milliseconds spent in each finished phase. */
  timings?: Record<string, number>;
}

/** A run's progress as its row holds it: the phase from the start (the row is made with only that), the rest once the runner reports. */
export type RunProgress = Pick<SyncProgress, "phase"> & Partial<SyncProgress>;

export interface RunSummary {
  runId: string;
  mode: "full" | "delta";
  status: "succeeded" | "failed" | "stopped";
  dryRun: boolean;
  counts: RunCounts;
  graphRequests: number;
  graphThrottled: number;
  error?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/**
 * A running run's row in sync_runs and what keeps it alive: progress (reported to `onProgress` at once, written
 * at most once a second), the source lease's heartbeat, the watch for a cancel request, and the row's end.
 * Background writes are tracked, so that the run never ends with one still in flight.
 */
export class RunRecord {
  readonly progress: SyncProgress = { phase: "starting", users: 0, groups: 0, planned: 0, toPlan: 0, timings: {} };
  /** Set once connected: its request counts go into the record. */
  graph: GraphClient | undefined;
  private lastWrite = 0;
  private lostLease = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly stopWatchingCancel: () => void;

  constructor(
    private readonly db: Db,
    readonly run: { id: string; sourceId: string; mode: RunSummary["mode"]; dryRun: boolean },
    lease: { ms: number },
    cancel: AbortController,
    private readonly onProgress?: (p: SyncProgress) => void,
  ) {
    this.heartbeat = setInterval(() => {
      this.track(renewLease(db, run.sourceId, run.id, lease.ms).then((ok) => (this.lostLease ||= !ok)));
    }, Math.max(1000, Math.floor(lease.ms / 3)));
    this.stopWatchingCancel = watchCancel(db, run.id, cancel, 1000, (p) => this.track(p));
  }

  /** Graph rejected the stored delta token: the run goes on as a full one. */
  async becomeFull(note: string): Promise<void> {
    this.run.mode = "full";
    this.progress.note = note;
    await sql`update sync_runs set mode = 'full' where id = ${this.run.id}`.execute(this.db);
  }

  /** Runs `step`, recording its milliseconds in the progress's timings under `name`. */
  async timed<T>(name: string, step: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await step();
    } finally {
      this.progress.timings![name] = Math.round(performance.now() - start);
    }
  }

  /** Tells `onProgress`, and writes the progress to the row when `force` or a second has passed since the last write. */
  report(force = false): void {
    this.onProgress?.({ ...this.progress });
    if (!force && Date.now() - this.lastWrite < 1000) return;
    this.lastWrite = Date.now();
    const { requests, throttled } = this.graphStats();
    this.track(sql`update sync_runs set progress = ${JSON.stringify(this.progress)}::jsonb, heartbeat_at = now(), graph_requests = ${requests},
      graph_throttled = ${throttled} where id = ${this.run.id} and status = 'running'`.execute(this.db));
  }

  /** Throws when the run was aborted, or when the heartbeat found another process holding the source. */
  assertLease(signal: AbortSignal): void {
    signal.throwIfAborted();
    if (this.lostLease) throw new RollcallError("sync_failed", "This run lost its lease (the database was unreachable for too long, and another process took the source over)");
  }

  /**
   * Writes the run's end to its row, through `target` (the apply's transaction, for a run that succeeded). Only the
   * documented keys are stored (runCountsOf): RunCounts is a type, and an object merged in with more keys
   * (Object.assign, a spread) would be stored, then left out of every answer.
   */
  async end(target: Db, status: RunSummary["status"], counts: RunCounts, error?: RunSummary["error"]): Promise<void> {
    const { requests, throttled } = this.graphStats();
    // clock_timestamp(): inside the apply's transaction now() is when that transaction began, long before the run ends.
    await sql`update sync_runs set status = ${status}, finished_at = clock_timestamp(), mode = ${this.run.mode}, counts = ${JSON.stringify(runCountsOf(counts))}::jsonb,
      progress = ${JSON.stringify({ ...this.progress, phase: "done" })}::jsonb, error = ${error ? JSON.stringify(error) : null}::jsonb,
      graph_requests = ${requests}, graph_throttled = ${throttled}, heartbeat_at = now()
      where id = ${this.run.id}`.execute(target);
  }

  /**
   * For a run that goes on to its photo step (photos.ts), in place of `end` in the apply's transaction: its counts are
   * committed with its changes, and the row stays "running" (phase "photos"), so that the source stays busy (its
   * lease counts) and whoever follows the run waits for its photos. Killed meanwhile, it is ended by the stale-run
   * sweep as succeeded, with a warning (lease.ts endAbandonedRuns).
   */
  async applied(trx: Db, counts: RunCounts): Promise<void> {
    this.progress.phase = "photos";
    const { requests, throttled } = this.graphStats();
    await sql`update sync_runs set mode = ${this.run.mode}, counts = ${JSON.stringify(runCountsOf(counts))}::jsonb, progress = ${JSON.stringify(this.progress)}::jsonb,
      graph_requests = ${requests}, graph_throttled = ${throttled}, heartbeat_at = now() where id = ${this.run.id}`.execute(trx);
  }

  /** Ends the row outside any transaction, once the background writes are done, and sums the run up. */
  async finish(status: RunSummary["status"], counts: RunCounts, error?: RunSummary["error"]): Promise<RunSummary> {
    await this.inFlight;
    await this.end(this.db, status, counts, error);
    return this.summary(status, counts, error);
  }

  /**
   * The run failed because the database went away, so its end cannot be written now: it is written, then `cleanUp`
   * runs (its staging, its lease), as soon as the database answers again, tried every `retryMs` while this process
   * lives. A process that stops first leaves the run to the stale-run sweep (lease.ts failAbandonedRuns).
   */
  finishWhenBack(counts: RunCounts, error: NonNullable<RunSummary["error"]>, cleanUp: () => Promise<void>, retryMs = 2_000): void {
    const attempt = () => {
      this.end(this.db, "failed", counts, error)
        .then(cleanUp)
        .catch((failure: unknown) => {
          if (toRollcallError(failure).code === "database_unreachable") setTimeout(attempt, retryMs).unref();
        });
    };
    setTimeout(attempt, retryMs).unref();
  }

  summary(status: RunSummary["status"], counts: RunCounts, error?: RunSummary["error"]): RunSummary {
    this.progress.phase = "done";
    this.onProgress?.({ ...this.progress });
    const { requests, throttled } = this.graphStats();
    return { runId: this.run.id, mode: this.run.mode, status, dryRun: this.run.dryRun, counts, graphRequests: requests, graphThrottled: throttled, ...(error && { error }) };
  }

  /** Stops the heartbeat and the cancel watch, and waits for the last background writes. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.stopWatchingCancel();
    await this.inFlight;
  }

  private track(p: Promise<unknown>): void {
    this.inFlight = Promise.all([this.inFlight, p.catch(() => undefined)]);
  }

  private graphStats(): { requests: number; throttled: number } {
    return { requests: this.graph?.stats.requests ?? 0, throttled: this.graph?.stats.throttled ?? 0 };
  }
}
