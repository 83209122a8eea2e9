import type { ScimSourceOverview, SourceOverview, WorkspaceOverview } from "../core/workspace-overview.ts";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const minute = (iso: string) => iso.slice(0, 16).replace("T", " ");

function sourceLine(source: SourceOverview): string {
  const run = source.running ? "running now" : source.lastRun ? `last run ${source.lastRun.status}${source.lastRun.dryRun ? " (preview)" : ""} ${minute(source.lastRun.startedAt)}` : "never run";
  return `${source.name}: ${run}${source.nextRunAt ? `, next ${minute(source.nextRunAt)}` : ""}`;
}

function scimLine(source: ScimSourceOverview): string {
  const request = source.lastRequestAt ? `last request ${minute(source.lastRequestAt)}` : "never called";
  return `${source.name} (SCIM): ${plural(source.users, "user")}, ${plural(source.groups, "group")}, ${request}`;
}

/** `rollcall workspaces list --overview` on a terminal: a line per workspace, its reasons under it, then its sources. */
export function overviewText(list: WorkspaceOverview[]): string {
  if (list.length === 0) return "No workspaces you may use.";
  return list
    .map((w) => {
      const head = `${w.attention.level ? w.attention.level.toUpperCase() : "OK"}  ${w.name} (${w.role}): ${plural(w.users, "user")}, ${plural(w.notifications, "open notification")}`;
      const lines = [...w.sources.map((s) => `    ${sourceLine(s)}`), ...w.scimSources.map((s) => `    ${scimLine(s)}`)];
      const sources = lines.length ? lines : ["    no sources"];
      return [head, ...w.attention.reasons.map((r) => `  ! ${r}`), ...sources].join("\n");
    })
    .join("\n");
}
