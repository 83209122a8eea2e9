import { sql } from "kysely";
import { invalidInput, notFound, RollcallError, type ErrorCode } from "../errors.ts";
import { countChanges, listChanges, pageOfChanges, type ChangeRecord } from "./change-log.ts";
import { entraSourceNames, unknownSourceMessage } from "./source-not-found.ts";
import type { WorkspaceContext } from "./context.ts";
import { stopHere } from "../sync/cancel.ts";
import { endAbandonedRuns } from "../sync/lease.ts";
import type { RunProgress } from "../sync/run-record.ts";
import { failedRunCounts, runCountsOf, type RunCounts } from "../domain/run-counts.ts";
import { describeActor } from "../domain/actor.ts";
import type { RunMode, RunStatus, RunTrigger } from "../storage/schema.ts";

/** Run history: what each sync did, when, how, and (for one run) its per-user change log. */
export interface Run {
  id: string;
  source: string;
  trigger: RunTrigger;
  mode: RunMode;
  dryRun: boolean;
  forced: boolean;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  counts: RunCounts;
  progress: RunProgress;
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> } | null;
  graphRequests: number;
  graphThrottled: number;
  /** Who started the run: an admin, an API token, the CLI's user or "schedule". */
  requestedBy: string | null;
  /** Someone asked the run to stop (POST …/cancel): who, and when. */
  cancelRequested: { by: string; at: string } | null;
  /** A dry run's change set deleted when newer dry runs of its source came (its counts stay). */
  changesDiscardedAt: string | null;
}

type Ctx = Pick<WorkspaceContext, "db" | "workspace">;

function runQuery(ctx: Ctx) {
  return sql`select r.*, s.name as source_name from sync_runs r join sources s on s.id = r.source_id where r.workspace_id = ${ctx.workspace.id}`;
}

/**
 * A run's progress in the order the API answers it (a jsonb column sorts its keys by length). A row recorded without
 * progress (the column's default, {}) is at its start while it runs, done once it ended.
 */
function progressOf(stored: Partial<RunProgress>, status: RunStatus): RunProgress {
  const { users, groups, planned, toPlan, note, timings } = stored;
  const counters = Object.entries({ users, groups, planned, toPlan, note, timings }).filter(([, value]) => value !== undefined);
  return { phase: stored.phase ?? (status === "running" ? "starting" : "done"), ...Object.fromEntries(counters) };
}

function toRun(r: Record<string, unknown>): Run {
  return {
    id: r.id as string,
    source: r.source_name as string,
    trigger: r.trigger as RunTrigger,
    mode: r.mode as RunMode,
    dryRun: r.dry_run as boolean,
    forced: r.forced as boolean,
    requestedBy: r.requested_by as string | null,
    status: r.status as RunStatus,
    startedAt: new Date(r.started_at as Date).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at as Date).toISOString() : null,
    counts: runCountsOf(r.counts as Record<string, unknown>),
    progress: progressOf(r.progress as Partial<RunProgress>, r.status as RunStatus),
    error: r.error as Run["error"],
    graphRequests: r.graph_requests as number,
    graphThrottled: r.graph_throttled as number,
    cancelRequested: r.cancel_requested_at ? { by: r.cancel_requested_by as string, at: new Date(r.cancel_requested_at as Date).toISOString() } : null,
    changesDiscardedAt: r.changes_discarded_at ? new Date(r.changes_discarded_at as Date).toISOString() : null,
  };
}

export async function listRuns(ctx: Ctx, filter: { source?: string | undefined; limit?: number | undefined } = {}): Promise<Run[]> {
  return (await pageOfRuns(ctx, { ...filter, offset: 0 })).items;
}

/** Newest first; `total`: every run the filter matches, for paging through them. */
export async function pageOfRuns(ctx: Ctx, filter: { source?: string | undefined; limit?: number | undefined; offset: number }): Promise<{ items: Run[]; total: number }> {
  const where = filter.source ? sql`and lower(s.name) = lower(${filter.source})` : sql``;
  const { rows } = await sql<Record<string, unknown>>`
    select page.*, count(*) over () as total from (${runQuery(ctx)} ${where}) page
    order by page.started_at desc, page.id desc limit ${filter.limit ?? 50} offset ${filter.offset}`.execute(ctx.db);
  if (rows.length === 0 && filter.source) await assertSourceName(ctx, filter.source);
  const total = rows.length ? Number(rows[0]!.total) : filter.offset === 0 ? 0 : await countRuns(ctx, where);
  return { items: rows.map(toRun), total };
}

/** A page past the last run holds no row to count with: counted on its own. */
async function countRuns(ctx: Ctx, where: ReturnType<typeof sql>): Promise<number> {
  const { rows } = await sql<{ total: number }>`select count(*)::int as total from (${runQuery(ctx)} ${where}) page`.execute(ctx.db);
  return rows[0]!.total;
}

/** A misspelt source would read as "never synced". */
async function assertSourceName(ctx: Ctx, name: string): Promise<void> {
  const names = await entraSourceNames(ctx);
  if (names.some((n) => n.toLowerCase() === name.toLowerCase())) return;
  throw invalidInput([{ field: "source", value: name, message: unknownSourceMessage(ctx, name, names) }]);
}

/** A run id is a UUID: anything else names no run (and would not reach the database's uuid column). */
export function assertRunId(id: string): void {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound("run", id);
}

/** A run, with the first `changes` entries of its change log (none by default). */
export async function getRun(ctx: Ctx, id: string, options: { changes?: number } = {}): Promise<Run & { changes: ChangeRecord[] }> {
  assertRunId(id);
  const { rows } = await sql<Record<string, unknown>>`${runQuery(ctx)} and r.id = ${id}`.execute(ctx.db);
  if (!rows[0]) throw notFound("run", id);
  const changes = options.changes ? await listChanges(ctx.db, ctx.workspace.id, { runId: id, limit: options.changes }) : [];
  return { ...toRun(rows[0]), changes };
}

/** A run, a page of its change log (of one action, if asked), how many entries match, and how many each action has. */
export type RunWithChanges = Run & { changes: ChangeRecord[]; changesTotal: number; changesByAction: Record<string, number> };

export async function runWithChanges(ctx: Ctx, id: string, page: { action?: string | undefined; limit: number; offset?: number; after?: string | undefined }): Promise<RunWithChanges> {
  const run = await getRun(ctx, id);
  const { action, ...at } = page;
  const { items, total, actions } = await pageOfChanges(ctx.db, ctx.workspace.id, { runId: id, action }, at);
  return { ...run, changes: items, changesTotal: total, changesByAction: actions };
}

/** A page of a run's change log (of one action, if asked), not counted: what a client paging through the whole log asks after its first page. */
export async function runChangePage(ctx: Ctx, id: string, page: { action?: string | undefined; limit: number; offset?: number; after?: string | undefined }): Promise<ChangeRecord[]> {
  await getRun(ctx, id);
  const { action, ...at } = page;
  return listChanges(ctx.db, ctx.workspace.id, { runId: id, action, ...at });
}

/** A run as runWithChanges gives it, its change log read a page at a time as it is consumed. */
export type RunWithChangePages = Omit<RunWithChanges, "changes"> & { changes: AsyncIterable<ChangeRecord[]> };

/** The run and the first `limit` entries of its change log (of one action, if given), `pageSize` at a time, by entry id. */
export async function runWithChangePages(ctx: Ctx, id: string, page: { action?: string | undefined; limit: number; pageSize: number }): Promise<RunWithChangePages> {
  const run = await getRun(ctx, id);
  const filter = { runId: id, action: page.action };
  const { total, actions } = await countChanges(ctx.db, ctx.workspace.id, filter);
  async function* changes(): AsyncGenerator<ChangeRecord[]> {
    let after: string | undefined;
    for (let left = Math.min(page.limit, total); left > 0; ) {
      const items = await listChanges(ctx.db, ctx.workspace.id, { ...filter, limit: Math.min(page.pageSize, left), after });
      if (items.length === 0) return;
      yield items;
      left -= items.length;
      after = items.at(-1)!.id;
    }
  }
  return { ...run, changes: changes(), changesTotal: total, changesByAction: actions };
}

/** Reject a run stopped at the deletion threshold: nothing is applied, and the record says so. */
export async function rejectRun(ctx: Ctx, id: string): Promise<Run> {
  assertRunId(id);
  await ctx.db.transaction().execute(async (trx) => {
    const { rows } = await sql`update sync_runs set status = 'rejected' where id = ${id} and workspace_id = ${ctx.workspace.id} and status = 'stopped' returning id`.execute(trx);
    if (!rows.length) {
      const { rows: found } = await sql<{ status: string }>`select status from sync_runs where id = ${id} and workspace_id = ${ctx.workspace.id}`.execute(trx);
      if (!found[0]) throw notFound("run", id);
      throw new RollcallError("conflict", `Run ${id} is ${found[0].status}, not waiting for a decision; only a run stopped at the deletion threshold can be rejected`, { status: found[0].status });
    }
    // Its "stopped at the deletion threshold" notice asked for this decision: it is settled now.
    await sql`update notifications set resolved_at = now() where kind = 'sync_stopped' and subject = ${id} and resolved_at is null`.execute(trx);
  });
  return getRun(ctx, id);
}

/**
 * Asks a running run to stop; its runner, in whichever process shares the database, sees the request within about a
 * second and fails the run "Cancelled by <actor>", rolling back what it had not committed (sync/cancel.ts). A run whose
 * process no longer holds the source's lease (killed, or cut off from the database) would never see it: it is failed
 * at once. A run of this very process is aborted at once and answered once it has stopped. Refuses a run that is not
 * running.
 */
export async function cancelRun(ctx: WorkspaceContext, id: string): Promise<Run> {
  assertRunId(id);
  // Its poll, like this request's write, would wait behind the run's transaction on PGlite.
  const stoppedHere = stopHere(ctx.db, id, ctx.workspace.id, ctx.actor);
  await stoppedHere;
  await ctx.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ status: string; alive: boolean; phase: string | null }>`select r.status, r.progress->>'phase' as phase, exists (select 1 from source_state s
        where s.source_id = r.source_id and s.lease_run_id = r.id and s.lease_expires_at > now()) as alive
      from sync_runs r where r.id = ${id} and r.workspace_id = ${ctx.workspace.id} for update of r`.execute(trx);
    const run = rows[0];
    if (!run) throw notFound("run", id);
    const asked = sql`cancel_requested_at = coalesce(cancel_requested_at, now()), cancel_requested_by = coalesce(cancel_requested_by, ${ctx.actor})`;
    // Stopped in its photo step, a run ends succeeded (its changes were committed): runner.ts.
    if (stoppedHere && run.status !== "running") {
      await sql`update sync_runs set ${asked} where id = ${id}`.execute(trx);
      return;
    }
    if (run.status !== "running") throw new RollcallError("conflict", `Run ${id} is ${run.status}, not running; there is nothing to stop`, { status: run.status });
    if (run.alive) {
      await sql`update sync_runs set ${asked} where id = ${id}`.execute(trx);
      return;
    }
    if (run.phase === "photos") {
      await sql`update sync_runs set ${asked} where id = ${id}`.execute(trx);
      await endAbandonedRuns(trx, sql`r.id = ${id}`);
      return;
    }
    const message = `Cancelled by ${describeActor(ctx.actor)}: the run had stopped responding (its process was killed or lost the database); nothing it had not committed was applied`;
    await sql`update sync_runs set ${asked}, status = 'failed', finished_at = now(), counts = ${JSON.stringify(failedRunCounts())}::jsonb,
      error = ${JSON.stringify({ code: "sync_failed", message, details: { cancelledBy: ctx.actor } })}::jsonb where id = ${id}`.execute(trx);
  });
  return getRun(ctx, id);
}
