import { Command, InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import type { ChangeRecord } from "../../core/change-log.ts";
import { changeDetails } from "../change-lines.ts";
import { changeKind, isRunAction, runActionMessage, runKinds } from "../../domain/change.ts";
import type { RunSummary, SyncProgress } from "../../sync/run-record.ts";
import type { RunCounts } from "../../domain/run-counts.ts";
import type { RunWithChanges } from "../../core/runs.ts";
import { allOf } from "../json-stream.ts";
import { RollcallError } from "../../errors.ts";
import { serverFrom } from "../api-client.ts";
import { keptDryRuns } from "../../sync/dry-run-history.ts";
import { directoryCommand, positiveInteger, runOn, suggest, table, type GlobalOptions } from "../io.ts";
import { describeActor } from "../../domain/actor.ts";

/** `rollcall sync NAME` and `rollcall runs …`. The progress bar is on standard error; --json output stays clean. */
export function progressBar(enabled: boolean): { update(p: SyncProgress): void; stop(): void } {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: "{phase} [{bar}] {value}/{total} {detail}", hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const planned = p.phase === "planning" || p.phase === "replanning" || p.phase === "applying";
      const total = planned ? Math.max(1, p.toPlan) : Math.max(1, p.users);
      const value = planned ? p.planned : p.users;
      const detail = p.phase === "fetching" ? `users fetched, ${p.groups} groups` : p.phase === "planning" ? `users planned, ${p.groups} groups listed` : p.phase === "replanning" ? "users planned again (the directory changed meanwhile)" : p.phase === "photos" ? "users' photos being checked" : "";
      // The total first: drawn with the old one, a listing's bar read "11/1 users fetched".
      if (!started) {
        bar.start(total, value, { phase: p.phase.padEnd(10), detail });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(value, { phase: p.phase.padEnd(10), detail });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** A run's counts and Graph traffic, as `rollcall sync` and `rollcall runs show` print them. */
function countLines(c: RunCounts, graph: { graphRequests: number; graphThrottled: number }): string[] {
  return [
    `  users:   ${c.created ?? 0} created, ${c.updated ?? 0} updated, ${c.linked ?? 0} linked, ${c.disabled ?? 0} disabled, ${c.deleted ?? 0} deleted, ${c.released ? `${c.released} released (left the source, kept: --on-remove keep), ` : ""}${c.unchanged ?? 0} unchanged, ${c.skipped ?? 0} skipped, ${c.conflicts ?? 0} conflicts`,
    `  groups:  ${c.groupsCreated ?? 0} created, ${c.groupsUpdated ?? 0} updated, ${c.groupsDeleted ?? 0} deleted, ${c.groupsUnchanged ?? 0} unchanged (${c.groupConflicts ?? 0} conflicts); memberships +${c.membershipsAdded ?? 0} -${c.membershipsRemoved ?? 0}`,
    ...(c.photosChanged !== undefined ? [`  photos:  ${c.photosChanged} changed`] : []),
    `  ${c.warnings ?? 0} warning${c.warnings === 1 ? "" : "s"}; ${graph.graphRequests} Graph request${graph.graphRequests === 1 ? "" : "s"} (${graph.graphThrottled} throttled)`,
  ];
}

/** A dry run never stops, but its counts say when the real run would (runner.ts). */
function wouldStopLine(r: { dryRun: boolean; counts: RunCounts }): string[] {
  if (!r.dryRun || !r.counts.wouldStopAtThreshold) return [];
  return [`  a real run would stop at the deletion threshold: it would disable or delete ${(r.counts.removals ?? 0).toLocaleString("en-US")} of the ${(r.counts.heldBefore ?? 0).toLocaleString("en-US")} users the source holds (apply past it with --force, or approve the stopped run)`];
}

/** The summary only counts warnings and conflicts: the commands that list them. */
function readThemLine(s: RunSummary, workspace?: string): string[] {
  const kinds = (["warning", "conflict"] as const).filter((kind) => (s.counts[`${kind}s`] ?? 0) > 0);
  if (!kinds.length) return [];
  const one = kinds.length === 1 && s.counts[`${kinds[0]!}s`] === 1;
  return [`  read ${one ? "it" : "them"} with ${kinds.map((kind) => suggest(["runs", "show", s.runId, "--action", kind], workspace)).join(" and ")}`];
}

/** A failed run's counts are all 0 (domain/run-counts.ts failedRunCounts): this says why, whatever it had planned. */
const failedLine = "  nothing was applied (a run applies its changes all at once, or none)";

export function describeSummary(s: RunSummary, workspace?: string): string {
  const lines = [`${s.dryRun ? "Dry run " : "Run "}${s.runId}: ${s.status} (${s.mode})`, ...countLines(s.counts, s), ...readThemLine(s, workspace), ...wouldStopLine(s)];
  // A failed dry run planned nothing: there is no change set to see.
  if (s.dryRun) lines.push(s.status === "failed" ? "  nothing was applied" : `  nothing was applied; see the change set with ${suggest(["runs", "show", s.runId], workspace)}`);
  else if (s.status === "failed") lines.push(failedLine);
  if (s.error) lines.push(`  ${s.status === "stopped" ? "stopped" : "error"} [${s.error.code}]: ${s.error.message}`);
  return lines.join("\n");
}

export const summaryJson = (s: RunSummary) => ({ runId: s.runId, mode: s.mode, status: s.status, dryRun: s.dryRun, counts: s.counts, ...(s.error && { error: s.error }) });

export function syncCommand(): Command {
  return directoryCommand("sync", "sync an Entra ID source now")
    .argument("<source>", "source name")
    .option("--full", "full listing and reconciliation instead of a delta")
    .option("--dry-run", "compute the whole change set without applying it")
    .option("--force", "apply even when the deletion threshold is exceeded (this run only)")
    .action(async (name: string, flags: GlobalOptions & { full?: boolean; dryRun?: boolean; force?: boolean }) => {
      const bar = progressBar(Boolean(process.stderr.isTTY));
      // Ctrl-C or SIGTERM: end the run as failed, rolled back, with its lease released, rather than dying and leaving
      // a "running" run that locks the source until its lease expires. Through a server, the server is asked to stop
      // it (POST …/runs/{id}/cancel) and the run is followed until it has. A second one exits at once.
      const interrupt = new AbortController();
      const remote = Boolean(serverFrom(flags.server));
      const onSignal = (signal: NodeJS.Signals) => {
        if (interrupt.signal.aborted) process.exit(130);
        process.stderr.write(`\n${signal}: ${remote ? "asking the server to stop the run" : "stopping the run"}; what it had not committed is rolled back\n`);
        interrupt.abort(new RollcallError("sync_failed", `Interrupted (${signal}): the run was stopped before it finished; nothing it had not committed was applied`, { interrupted: signal }));
      };
      process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
      try {
        await runOn(flags, async (directory) => {
          try {
            return await directory.sync(name, { full: flags.full ?? false, dryRun: flags.dryRun ?? false, force: flags.force ?? false }, (p) => bar.update(p), interrupt.signal);
          } finally {
            bar.stop();
          }
        }, { human: (s) => describeSummary(s, flags.workspace), json: summaryJson, ok: (s) => s.status === "succeeded" }, "sync");
      } finally {
        process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      }
      if (interrupt.signal.aborted) process.exitCode = 130;
    });
}

/** One change-log entry of a run: its action and subject, then what it says and the fields it changed. */
function describeChange(c: ChangeRecord): string[] {
  // "add to group Pilots: ada@example.com": the action names the group, the subject the member.
  const heading = changeKind(c.action) === c.action ? `${c.action.padEnd(10)} ${c.subject}` : `${c.action}: ${c.subject}`;
  return [`    ${heading}`, ...changeDetails(c, " ".repeat(15))];
}

export function describeRun(r: RunWithChanges, action?: string): string {
  const lines = [
    `Run ${r.id} of ${r.source}: ${r.status}${r.dryRun ? " (dry run)" : ""}${r.forced ? " (forced)" : ""}`,
    `  ${r.mode}, ${r.trigger}${r.requestedBy && r.trigger !== "schedule" && r.trigger !== "notification" && r.requestedBy !== "cli" ? ` by ${describeActor(r.requestedBy)}` : ""}, ${r.startedAt} → ${r.finishedAt ?? "running"}`,
    ...(typeof r.progress.note === "string" ? [`  ${r.progress.note}`] : []),
    ...countLines(r.counts, r),
    ...wouldStopLine(r),
  ];
  if (r.status === "running") lines.push(`  progress: ${JSON.stringify(r.progress)}`);
  if (r.status === "failed" && !r.dryRun) lines.push(failedLine);
  if (r.error) lines.push(`  error [${r.error.code}]: ${r.error.message}`);
  if (r.changesDiscardedAt) lines.push(`  its change set was deleted ${r.changesDiscardedAt}, when newer dry runs of ${r.source} came (a source keeps those of its ${keptDryRuns} newest); \`rollcall sync ${r.source} --dry-run\` plans again`);
  const kinds = Object.entries(r.changesByAction).map(([kind, n]) => `${kind} ${n}`).join(", ");
  if (r.changesTotal) {
    const planned = r.dryRun || r.status === "stopped" || r.status === "rejected" ? ", planned, not applied" : "";
    lines.push(`  ${action ? `${action} ` : ""}changes (${r.changesTotal}${planned}):`);
    for (const c of r.changes) lines.push(...describeChange(c));
    const more = r.changesTotal - r.changes.length;
    if (more > 0) lines.push(`    … ${more} more: --limit ${r.changesTotal} lists them all`);
    if (more > 0 && !action && Object.keys(r.changesByAction).length > 1) lines.push(`    by kind (--action KIND): ${kinds}`);
  } else if (action && kinds) {
    lines.push(`  no "${action}" changes; this run has (--action KIND): ${kinds}`);
  }
  return lines.join("\n");
}

export function runsCommand(): Command {
  const runs = new Command("runs").description("sync run history");
  runs.addCommand(
    directoryCommand("list", "recent runs")
      .option("--source <name>", "only this source's runs")
      .option("--limit <n>", "how many", positiveInteger, 50)
      .action(async (flags: GlobalOptions & { source?: string; limit: number }) =>
        runOn(flags, (directory) => directory.runs.list({ source: flags.source, limit: flags.limit }), {
          // A failed run's counts are all 0 (it applied nothing): its row leaves them blank, as a running one's.
          human: (list) => table(list.map((r) => ({ ...r, counts: r.status === "failed" ? {} : r.counts })).map(({ counts, ...r }) => ({ id: r.id, source: r.source, status: `${r.status}${r.dryRun ? " (dry run)" : ""}`, mode: r.mode, trigger: r.trigger, started: r.startedAt, created: counts.created ?? "", updated: counts.updated ?? "", linked: counts.linked || "", conflicts: counts.conflicts || "", removed: counts.disabled === undefined && counts.deleted === undefined ? "" : (counts.disabled ?? 0) + (counts.deleted ?? 0) })), ["id", "source", "status", "mode", "trigger", "started", "created", "updated", "linked", "removed", "conflicts"], `No sync runs in workspace ${flags.workspace}${flags.source ? ` for source ${flags.source}` : ""} yet.`),
        }),
      ),
  );
  runs.addCommand(
    directoryCommand("show", "one run with its change log")
      .argument("<id>", "run id (from runs list)")
      .option("--action <action>", `only this kind of change: ${runKinds.join(", ")}; or one group's, e.g. "add to group Pilots"`, runAction)
      .option("--limit <n>", "how many changes to list", positiveInteger, 200)
      .action(async (id: string, flags: GlobalOptions & { action?: string; limit: number }) =>
        runOn(flags, (directory) => directory.runs.get(id, { action: flags.action, limit: flags.limit }), { human: async (r) => describeRun({ ...r, changes: await allOf(r.changes) }, flags.action) }),
      ),
  );
  runs.addCommand(
    directoryCommand("approve", "apply a run stopped at the deletion threshold (runs the source again with --force)").argument("<id>", "run id (from runs list)").action(async (id: string, flags: GlobalOptions) =>
      runOn(flags, async (directory) => {
        const bar = progressBar(Boolean(process.stderr.isTTY));
        try {
          return await directory.runs.approve(id, (p) => bar.update(p));
        } finally {
          bar.stop();
        }
      }, { human: (s) => describeSummary(s, flags.workspace), json: summaryJson, ok: (s) => s.status === "succeeded" }, "sync"),
    ),
  );
  runs.addCommand(
    directoryCommand("reject", "dismiss a run stopped at the deletion threshold").argument("<id>", "run id (from runs list)").action(async (id: string, flags: GlobalOptions) =>
      runOn(flags, (directory) => directory.runs.reject(id), { human: (r) => `run ${r.id}: ${r.status}` }),
    ),
  );
  runs.addCommand(
    directoryCommand("cancel", "stop a running sync, in whichever process runs it; what it had not committed is not applied").argument("<id>", "run id (from runs list)").action(async (id: string, flags: GlobalOptions) =>
      runOn(flags, (directory) => directory.runs.cancel(id), {
        human: (r) => (r.status === "running" ? `run ${r.id}: asked to stop; it fails as cancelled within about a second (if its process was killed, when its lease expires: within 90 seconds)` : `run ${r.id}: ${r.status} (${r.error?.message ?? "stopped"})`),
      }),
    ),
  );
  return runs;
}

function runAction(value: string): string {
  if (!isRunAction(value)) throw new InvalidArgumentError(`It ${runActionMessage}.`);
  return value;
}
