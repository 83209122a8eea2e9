import { sql } from "kysely";
import { RollcallError } from "../errors.ts";
import type { Config } from "../config.ts";
import { entraFetch } from "../sources/entra/custom-urls.ts";
import type { Store } from "../storage/database.ts";
import type { SecretBox } from "../security/encryption.ts";
import type { Workspace } from "../core/workspaces.ts";
import { loadSourceForSync } from "../core/sources.ts";
import { assertRunId } from "../core/runs.ts";
import { runSync, type RunnerOptions, type Trigger } from "./runner.ts";
import type { RunSummary } from "./run-record.ts";
import type { Logger } from "pino";
import type { ProcessMetrics } from "../metrics/process.ts";

export type SyncDeps = { store: Store; secrets: SecretBox; config: Pick<Config, "entraCustomUrls">; logger?: Logger; metrics?: ProcessMetrics | undefined };

/**
 * What the CLI, the API and the scheduler call: resolve the source, run it, return the summary. The end of each run
 * a server makes (API, console, schedule) is logged, a failed or stopped one as a warning with why: the operator's view of syncs.
 */
export async function syncSource(
  deps: SyncDeps,
  workspace: Workspace,
  sourceKey: string,
  request: { trigger: Trigger; full?: boolean; dryRun?: boolean; force?: boolean; approves?: string; actor?: string },
  options: Partial<RunnerOptions> = {},
): Promise<RunSummary> {
  const source = await loadSourceForSync({ db: deps.store.db, workspace, secrets: deps.secrets }, sourceKey);
  const started = performance.now();
  const summary = await runSync(deps.store, { workspaceId: workspace.id, workspaceName: workspace.name, source, ...request }, { fetch: entraFetch(deps.config), ...options });
  deps.metrics?.runFinished({ trigger: request.trigger, mode: summary.mode, status: summary.status, dryRun: summary.dryRun, seconds: (performance.now() - started) / 1000 });
  const entry = { workspace: workspace.name, source: source.name, runId: summary.runId, trigger: request.trigger, mode: summary.mode, dryRun: request.dryRun ?? false, status: summary.status, counts: summary.counts };
  // A run from the CLI ("manual") prints its own summary, on the terminal that started it.
  const logger = request.trigger === "manual" ? undefined : deps.logger;
  if (summary.status === "succeeded") logger?.info(entry, "sync finished");
  else logger?.warn({ ...entry, error: summary.error }, `sync ${summary.status}`);
  return summary;
}

/**
 * Approve a run stopped at the deletion threshold: run the source again once with force, applying only when its
 * change set is exactly the reviewed run's (otherwise it stops for a new review), and mark the reviewed run applied.
 */
export async function approveRun(deps: SyncDeps, workspace: Workspace, runId: string, actor: string, options: Partial<RunnerOptions> = {}): Promise<RunSummary> {
  assertRunId(runId);
  const { rows } = await sql<{ name: string; status: string; later_id: string | null; later_status: string | null }>`
    select s.name, r.status, later.id as later_id, later.status as later_status
    from sync_runs r join sources s on s.id = r.source_id
    left join lateral (select l.id, l.status from sync_runs l where l.source_id = r.source_id and not l.dry_run and l.started_at > r.started_at
      and l.status in ('succeeded', 'stopped', 'applied') order by l.started_at desc limit 1) later on true
    where r.id = ${runId} and r.workspace_id = ${workspace.id}`.execute(deps.store.db);
  const run = rows[0];
  if (!run) throw new RollcallError("not_found", `run "${runId}" was not found`, { resource: "run", key: runId });
  if (run.status !== "stopped") throw new RollcallError("conflict", `Run ${runId} is ${run.status}, not waiting for a decision; only a run stopped at the deletion threshold can be approved`, { status: run.status });
  // A later run planned from a newer directory: this run's change set is out of date, whatever Entra ID did since.
  if (run.later_id) {
    const what = run.later_status === "stopped" ? `run ${run.later_id} stopped for review after it, with the changes as they are now: approve or reject that one` : `run ${run.later_id} has synced the source since: sync again to see what is left to change`;
    throw new RollcallError("conflict", `Run ${runId} is out of date: ${what}.`, { status: run.status, laterRun: run.later_id });
  }
  // The run that applies the changes marks the reviewed one applied as it commits (runner.ts).
  return syncSource(deps, workspace, run.name, { trigger: "api", force: true, approves: runId, actor }, options);
}
