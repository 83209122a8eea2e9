import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { isUniqueViolation, type Db, type Store } from "../storage/database.ts";
import type { RunTrigger } from "../storage/schema.ts";
import { RollcallError, toRollcallError } from "../errors.ts";
import type { HttpFetch } from "../net/http.ts";
import { endpoints, needsGroups, type EntraConfig } from "../sources/entra/config.ts";
import { GraphClient, graphFailure, isStaleDelta, staleDeltaAnswer, type RetryPolicy } from "../sources/entra/graph.ts";
import { createTokenProvider, type Credential } from "../sources/entra/token.ts";
import { adviceFor } from "../sources/entra/advice.ts";
import { applyPlan, type Applied } from "./apply.ts";
import { clearAbandonedStage, clearStage, type FetchProgress } from "./fetch.ts";
import { NotStreamable, streamFirstSync, streamsFirstSync } from "./first-sync.ts";
import { claimLease, defaultLeaseMs, releaseLease } from "./lease.ts";
import { registerRunHere } from "./cancel.ts";
import { RunRecord, type RunSummary, type SyncProgress } from "./run-record.ts";
import { listMergeAndPlan, type ListAndPlanInput, type Planned } from "./list-and-plan.ts";
import { exceedsThreshold } from "./plan.ts";
import { failedRunCounts, type RunCounts, type UserCounts } from "../domain/run-counts.ts";
import { countHeldUsers, planRun } from "./plan-run.ts";
import { withBoundedHeap } from "./heap.ts";
import { forgetOlderDryRuns } from "./dry-run-history.ts";
import { discardSpool, restoreChanges, spoolChanges, type SpooledChanges } from "./change-spool.ts";
import { photoStep, photosUnfinished } from "./photos.ts";

export type Trigger = RunTrigger;

export interface SyncRequest {
  workspaceId: string;
  /** Names the workspace in the commands a failed run's advice gives. */
  workspaceName?: string;
  source: { id: string; name: string; config: EntraConfig; credential: Credential | null };
  trigger: Trigger;
  full?: boolean;
  dryRun?: boolean;
  force?: boolean;
  /** The stopped run this one approves: it applies only when its change set is exactly the reviewed one. */
  approves?: string;
  actor?: string;
}

export interface RunnerOptions {
  fetch: HttpFetch;
  onProgress?: (p: SyncProgress) => void;
  leaseMs?: number;
  retry?: RetryPolicy;
  /** Called when the run record exists (the API answers with it while the run goes on). */
  onStarted?: (runId: string) => void;
  /** false: a first sync goes through staging even where it could stream (tests compare the two). */
  streamFirstSync?: boolean;
  /** Aborting it (the CLI's Ctrl-C) cancels Graph requests and ends the run as failed with its reason; nothing uncommitted is applied. A cancel request recorded on the run (cancel.ts) does the same. */
  signal?: AbortSignal;
  /** Users planned at once (planRun's default unless a test sets it: few users then cross chunk boundaries). */
  planChunkSize?: number;
}

class Rollback extends Error {}

/**
 * Tables whose rows a run deletes or rewrites. Without autovacuum (PGlite) their old versions would stay
 * dead and the tables would grow with every run; the first vacuum after a first sync of 100k users takes
 * about 0.5 s, later ones milliseconds.
 */
const rewrittenTables = ["entra_users", "entra_dirty_users", "entra_groups", "entra_members", "entra_departed", "users", "groups", "group_members", "user_identifiers", "source_state", "sync_runs"];

/**
 * A run's lifecycle: lease → run record → listing into staging, each chain merged into the mirror with its
 * delta link as soon as it ends, and the plan (overlapped: list-and-plan.ts) → threshold → apply in one
 * transaction → run record. Progress and the lease heartbeat are written while it goes (run-record.ts); every
 * failure ends in a failed run record with its reason.
 */
export async function runSync(store: Store, request: SyncRequest, options: RunnerOptions): Promise<RunSummary> {
  const work = () => run(store, request, options);
  // Only the embedded database shares the process's memory (see heap.ts).
  return store.kind === "pglite" ? withBoundedHeap(work) : work();
}

async function run(store: Store, request: SyncRequest, options: RunnerOptions): Promise<RunSummary> {
  const { db } = store;
  const { source } = request;
  const runId = randomUUID();
  const leaseMs = options.leaseMs ?? defaultLeaseMs;
  const cancel = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  const fetch: HttpFetch = async (url, init) => {
    signal.throwIfAborted();
    return options.fetch(url, { ...init, signal });
  };
  const tookOver = await claimLease(db, source.id, runId, leaseMs);

  const { mode, deltaLinks, whyFull } = await insertRun(db, runId, request);
  options.onStarted?.(runId);

  const record = new RunRecord(db, { id: runId, sourceId: source.id, mode, dryRun: request.dryRun ?? false }, { ms: leaseMs }, cancel, options.onProgress);
  const { progress } = record;
  if (whyFull) progress.note = whyFull;
  const timed = record.timed.bind(record);
  const assertLease = () => record.assertLease(signal);
  let merged = false;
  const leftHere = registerRunHere(db, runId, request.workspaceId, cancel);
  let graphClient: GraphClient | undefined;
  // A run that applied, of a source that syncs photos, then brings them in step (photos.ts) before it ends: its row stays
  // running meanwhile (RunRecord.applied). Its changes are committed: whatever happens to the photos, it ends succeeded.
  const photosThenEnd = async (counts: RunCounts): Promise<RunSummary> => {
    record.report(true);
    try {
      const added = await photoStep({ db, graph: graphClient!, signal, workspaceId: request.workspaceId, sourceId: source.id, runId, actor: request.actor ?? `sync:${source.name}`, mode: record.run.mode, retry: options.retry });
      Object.assign(counts, { photosChanged: added.photosChanged, warnings: (counts.warnings ?? 0) + added.warnings });
    } catch (error) {
      counts.warnings = (counts.warnings ?? 0) + 1;
      await photosUnfinished(db, { workspaceId: request.workspaceId, sourceId: source.id, runId, actor: request.actor ?? `sync:${source.name}` }, toRollcallError(signal.reason ?? error).message).catch(() => undefined);
    }
    try {
      return await record.finish("succeeded", counts);
    } catch {
      return record.summary("succeeded", counts); // the database lost: the stale-run sweep ends the row (lease.ts)
    }
  };
  const applyContext = { store, request, record, signal, ...(source.config.photos && !request.dryRun && { afterApply: photosThenEnd }) };

  try {
    // Runs clear their own staging; only a killed one leaves rows behind (a scan of each stage table: 0.2 s).
    if (tookOver) await clearAbandonedStage(store);
    if (!request.source.credential) throw new RollcallError("source_auth_failed", "No client secret is stored for this source", { aadsts: "AADSTS7000218" });
    const { loginUrl, graphUrl } = endpoints(source.config);
    const tokens = createTokenProvider({ loginUrl, graphUrl, tenantId: source.config.tenantId, clientId: source.config.clientId, credential: request.source.credential, fetch, signal });
    const graph = new GraphClient({ graphUrl, tokens, fetch, signal, ...(options.retry && { retry: options.retry }) });
    record.graph = graph;
    graphClient = graph;
    await tokens.token({ refresh: true });

    progress.phase = "fetching";
    record.report(true);
    const applyInput = { runId, workspaceId: request.workspaceId, workspaceName: request.workspaceName, source, config: source.config, actor: request.actor ?? `sync:${source.name}`, signal };
    const onListing = (p: FetchProgress) => {
      progress.users = p.users;
      progress.groups = p.groups;
      record.report();
    };
    // Not a dry run: the streamed mirror is committed apart from the directory, without the dirty marks the next run would plan.
    if (options.streamFirstSync !== false && !request.approves && !request.dryRun && (await streamsFirstSync(store, { workspaceId: request.workspaceId, sourceId: source.id, config: source.config, mode }))) {
      try {
        return await applyInTransaction(applyContext, { errors: 0 }, undefined, async (trx) => {
          const onListed = () => {
            progress.phase = "applying";
            record.report(true);
          };
          const streamed = await streamFirstSync(store, trx, graph, { ...applyInput, plannedRows: 0 }, { onListing, onListed, timed });
          assertLease();
          return streamed;
        });
      } catch (error) {
        if (!(error instanceof NotStreamable)) throw error;
        Object.assign(progress, { phase: "fetching", users: 0, groups: 0, note: `Listing again through staging: ${error.message}` });
      }
    }
    let replanning = false;
    const onPlanning = (done: number, total: number) => {
      progress.phase = replanning ? "replanning" : "planning";
      progress.planned = done;
      progress.toPlan = total;
      record.report();
    };
    const planInput = { runId, source: { id: source.id, name: source.name, workspaceId: request.workspaceId }, config: source.config, chunkSize: options.planChunkSize };
    const stages = (links: ListAndPlanInput["links"]) => listMergeAndPlan(store, graph, { ...planInput, mode: record.run.mode, links, dryRun: request.dryRun ?? false }, { onListing, onPlanning, timed, assertLease });
    let planned: Planned;
    try {
      planned = await stages(deltaLinks);
      merged = true;
    } catch (error) {
      if (!isStaleDelta(error, deltaLinks)) throw error;
      // Graph rejected a stored delta token (expired or reset), or reset the sync state in the middle of the round
      // (410 on a nextLink: "restart with a full synchronization" [delta-query-overview]): start over with a full listing, once.
      await clearStage(store, runId, { merged: false });
      if (mode === "delta") await record.becomeFull(`The stored delta token was rejected by Graph (${staleDeltaAnswer(error)}); running a full sync instead`);
      else progress.note = `Graph reset the sync state during the listing (${staleDeltaAnswer(error)}); listing again`;
      planned = await stages(null).catch((e: unknown) => {
        throw isStaleDelta(e) ? graphFailure(e, "list the directory", source.config) : e;
      });
      merged = true;
    }
    // Another source's run, an import or an edit can take an email, an UPN or a group name between this run's
    // plan and its apply: the apply then fails on a unique index and rolls back, and the run plans again against
    // the directory as it is now (where the plan links the user, or gives a conflict).
    for (let attempt = 1; ; attempt++) {
      const counts: RunCounts = { ...planned.counts, errors: 0 };
      assertLease();
      const stop = await thresholdStop(db, request, planned.counts.removals, counts);
      progress.phase = "applying";
      record.report(true);
      try {
        return await applyInTransaction(applyContext, counts, stop, (trx) => timed("applying", () => applyPlan(trx, { ...applyInput, plannedRows: planned.rows, dirtySeen: planned.dirtySeen, runWarnings: planned.runWarnings })));
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (attempt === applyAttempts) throw takenMeanwhile(error, attempt);
        await sql`delete from sync_plan_users where run_id = ${runId}`.execute(db);
        replanning = true;
        Object.assign(progress, { phase: "replanning", planned: 0 });
        record.report(true);
        const { runWarnings, deletedItemsRefused } = planned;
        planned = { ...(await timed("planning", () => planRun(store, { ...planInput, mode: record.run.mode, deletedItemsRefused }, onPlanning))), runWarnings, deletedItemsRefused };
      }
    }
  } catch (error) {
    const e = toRollcallError(error);
    const message = e.code === "database_unreachable" ? databaseLost(e) : adviceFor(e.message, { name: source.name, workspace: request.workspaceName ?? "default" });
    const failure = { code: e.code, message, details: e.details };
    try {
      return await record.finish("failed", failedRunCounts(), failure);
    } catch (finishing) {
      const lost = toRollcallError(finishing);
      if (lost.code !== "database_unreachable") throw finishing;
      // Written once the database is back, staging and lease with it (the cleaning below fails meanwhile).
      record.finishWhenBack(failedRunCounts(), failure, async () => {
        await clearStage(store, runId, { merged });
        await releaseLease(db, source.id, runId);
      });
      throw lost;
    }
  } finally {
    await record.close();
    await clearStage(store, runId, { merged }).catch(() => undefined);
    await store.reclaim(rewrittenTables).catch(() => undefined);
    await releaseLease(db, source.id, runId).catch(() => undefined);
    leftHere();
  }
}

function databaseLost(error: RollcallError): string {
  return `The database became unreachable during the run (${String(error.details.reason)}); nothing the run had not committed was applied. Sync again once the database is back (a scheduled run does at its next time).`;
}

/** Plans and applies a run makes at most when values it writes keep being taken meanwhile. */
const applyAttempts = 3;

function takenMeanwhile(error: unknown, attempts: number): RollcallError {
  const { constraint, detail } = error as { constraint?: string; detail?: string };
  return new RollcallError("sync_failed", `Nothing was applied: ${attempts} times over, while this run applied its changes, other changes to the workspace (another source's sync, an import or an edit) took a value it was writing${detail ? ` (${detail})` : ""}. Run it again once they are done.`, { constraint: constraint ?? null });
}

function hoursOrDays(ms: number): string {
  const hours = Math.round(ms / 3_600_000);
  return hours % 24 === 0 ? `${hours / 24} day${hours === 24 ? "" : "s"}` : `${hours} hour${hours === 1 ? "" : "s"}`;
}

/**
 * Decides the run's mode, and records the run as running. A delta run gets the delta links it starts from; a full
 * one that was not asked for says why (`whyFull`), as an admin used to delta runs would ask.
 */
async function insertRun(db: Db, runId: string, request: SyncRequest): Promise<{ mode: RunSummary["mode"]; deltaLinks: ListAndPlanInput["links"]; whyFull?: string }> {
  const { source } = request;
  const state = (await sql<{ users_delta_link: string | null; groups_delta_link: string | null; last_full_at: Date | null }>`
    select users_delta_link, groups_delta_link, last_full_at from source_state where source_id = ${source.id}`.execute(db)).rows[0];
  const fullDue = !state?.last_full_at || Date.now() - new Date(state.last_full_at).getTime() > source.config.fullEveryMs;
  const noLinks = !state?.users_delta_link || (needsGroups(source.config) && !state.groups_delta_link);
  const mode = request.full || noLinks || fullDue ? "full" : "delta";
  const whyFull = request.full || !state?.last_full_at ? undefined
    : noLinks ? "Full sync: no delta token is stored (the source's scope, mapping or removal settings changed since the last run, or it did not finish)"
    : fullDue ? `Full sync: the periodic full reconciliation is due (every ${hoursOrDays(source.config.fullEveryMs)})` : undefined;
  await db
    .insertInto("sync_runs")
    .values({ id: runId, workspace_id: request.workspaceId, source_id: source.id, trigger: request.trigger, mode, dry_run: request.dryRun ?? false, status: "running", counts: JSON.stringify({}), progress: JSON.stringify({ phase: "starting" }), forced: request.force ?? false, requested_by: request.actor ?? null } as never)
    .execute();
  return { mode, deltaLinks: mode === "delta" ? { users: state!.users_delta_link, groups: state!.groups_delta_link } : null, ...(whyFull && { whyFull }) };
}

/**
 * The deletion threshold: the reason a run that would remove too many users stops before applying. A stopped run
 * still computes its whole change set (applied, captured, rolled back, like a dry run), so the review lists exactly
 * what approving it would change. A dry run applies nothing, so it never stops: its `counts` say whether the real
 * run would.
 */
async function thresholdStop(db: Db, request: SyncRequest, removals: number, counts: RunCounts): Promise<RunSummary["error"] | undefined> {
  const threshold = request.source.config.deletionThreshold;
  if (request.force) return undefined;
  // Counting the source's users scans them (0.1 s at 100k): only a run removing more than the threshold's count needs it.
  const heldBefore = removals > threshold.count ? await countHeldUsers(db, request.source.id) : 0;
  if (!exceedsThreshold(removals, heldBefore, threshold)) return undefined;
  if (request.dryRun) {
    Object.assign(counts, { wouldStopAtThreshold: 1, heldBefore });
    return undefined;
  }
  const message = `Stopped before applying anything: this run would disable or delete ${removals.toLocaleString("en-US")} of the ${heldBefore.toLocaleString("en-US")} users the source holds (threshold: more than ${threshold.percent}% and more than ${threshold.count}). Check the source's scope in Entra ID; if the removals are expected, run it once with --force (or approve the run).`;
  return { code: "sync_threshold_exceeded", message, details: { removals, heldBefore, threshold } };
}

/**
 * Runs `apply` in one transaction. A run is kept and recorded as succeeded in it (or, with `afterApply`, as applied,
 * then ended by it); a dry run's or a stopped run's change set is captured, rolled back and kept on the run only
 * (nothing happened to the users).
 */
async function applyInTransaction(
  { store, request, record, signal, afterApply }: { store: Store; request: SyncRequest; record: RunRecord; signal: AbortSignal; afterApply?: (counts: RunCounts) => Promise<RunSummary> },
  counts: RunCounts,
  stopped: RunSummary["error"] | undefined,
  apply: (trx: Db) => Promise<Applied & { userCounts?: UserCounts }>,
): Promise<RunSummary> {
  const runId = record.run.id;
  let stop = stopped;
  let captured: SpooledChanges | undefined;
  try {
    await store.db.transaction().execute(async (trx) => {
      const applied = await apply(trx);
      signal.throwIfAborted();
      Object.assign(counts, applied.userCounts, applied.groupCounts, { membershipsAdded: applied.memberships.added, membershipsRemoved: applied.memberships.removed });
      counts.warnings = (counts.warnings ?? 0) + applied.warnings;
      for (const [step, ms] of Object.entries(applied.timings)) record.progress.timings![`applying.${step}`] = ms;
      if (!stop && request.approves && !(await sameChanges(trx, runId, request.approves))) {
        stop = {
          code: "sync_plan_changed",
          message: `Nothing was applied: Entra ID changed since run ${request.approves} was reviewed, so its changes are no longer the ones this run would make. Review this run's changes instead, then apply or reject it.`,
          details: { reviewedRunId: request.approves },
        };
      }
      if (request.dryRun || stop) {
        captured = await spoolChanges(trx, runId);
        throw new Rollback();
      }
      // In the same transaction: whoever sees this run succeeded sees the reviewed one applied.
      if (request.approves) await sql`update sync_runs set status = 'applied' where id = ${request.approves} and status = 'stopped'`.execute(trx);
      await (afterApply ? record.applied(trx, counts) : record.end(trx, "succeeded", counts));
    });
  } catch (error) {
    if (!(error instanceof Rollback)) {
      if (captured) await discardSpool(captured);
      throw error;
    }
    await restoreChanges(store, captured!, { id: runId, workspaceId: request.workspaceId });
    const summary = stop ? await record.finish("stopped", counts, stop) : await record.finish("succeeded", counts);
    if (request.dryRun) await forgetOlderDryRuns(store, request.source.id);
    // The rolled-back apply left its entries dead in change_log, which the embedded database does not vacuum by itself.
    await store.reclaim(["change_log"]).catch(() => undefined);
    return summary;
  }
  return afterApply ? afterApply(counts) : record.summary("succeeded", counts);
}

/** Does the run's change set (being applied in `trx`) match the reviewed run's stored one, row for row? Actors and ids aside. */
async function sameChanges(trx: Store["db"], runId: string, reviewedRunId: string): Promise<boolean> {
  // Change sets kept by earlier versions hold JSON null where the applier wrote SQL NULL.
  const entry = sql.raw(`action, subject, coalesce(before::jsonb, 'null') as before, coalesce(after::jsonb, 'null') as after`);
  const { rows } = await sql<{ differing: number }>`select count(*)::int as differing from (
      (select ${entry} from change_log where run_id = ${runId} except all select ${entry} from change_log where run_id = ${reviewedRunId})
      union all
      (select ${entry} from change_log where run_id = ${reviewedRunId} except all select ${entry} from change_log where run_id = ${runId})) d`.execute(trx);
  return rows[0]!.differing === 0;
}
