import type { SourceOverview, WorkspaceOverview } from "../core/workspace-overview.ts";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const minute = (iso: string) => iso.slice(0, 16).replace("T", " ");

function sourceLine(source: SourceOverview): string {
  const run = source.running ? "running now" : source.lastRun ? `last run ${source.lastRun.status}${source.lastRun.dryRun ? " (preview)" : ""} ${minute(source.lastRun.startedAt)}` : "never run";
  return `${source.name}: ${run}${source.nextRunAt ? `, next ${minute(source.nextRunAt)}` : ""}`;
}

/** `rollcall workspaces list --overview` on a terminal: a line per workspace, its reasons under it, then its sources. */
export function overviewText(list: WorkspaceOverview[]): string {
  if (list.length === 0) return "No workspaces you may use.";
  return list
    .map((w) => {
      const head = `${w.attention.level ? w.attention.level.toUpperCase() : "OK"}  ${w.name} (${w.role}): ${plural(w.users, "user")}, ${plural(w.notifications, "open notification")}`;
      const sources = w.sources.length ? w.sources.map((s) => `    ${sourceLine(s)}`) : ["    no Entra ID sources"];
      return [head, ...w.attention.reasons.map((r) => `  ! ${r}`), ...sources].join("\n");
    })
    .join("\n");
}
