import { api, withQuery, ws } from "./api.ts";
import type { ChangeRecord, PageOf } from "./types.ts";
import type { Source } from "../core/sources.ts";
import type { Run as StoredRun } from "../core/runs.ts";
import type { RemovedSource, SourceRemoval } from "../core/source-removal.ts";
import type { Check, ConnectResult as TestResult } from "../sources/entra/connect.ts";
import type { EntraConfig } from "../sources/entra/config.ts";
import type { SyncProgress } from "../sync/run-record.ts";
import type { TriedUser } from "../core/source-try.ts";
import type { ScimSource } from "../core/scim-sources.ts";
import { runStarter } from "../domain/actor.ts";

/** Every call the synchronization screens make, in one place, typed with the server's own shapes. */
export type { Source, EntraConfig, RemovedSource, SourceRemoval, Check, TestResult, TriedUser, ScimSource };

/** Sign in with Microsoft's settings of a SCIM source as the console sends them (a blank secret is not sent: the stored one stays). */
export type ScimSignInInput = { signIn: boolean; tenantId?: string; clientId?: string; clientSecret?: string; certificatePem?: string; privateKeyPem?: string; secretExpiresOn?: string | null };

/** A run as the API gives it: its progress (empty before the first report), and its first changes from GET /runs/ID. */
export type Run = Omit<StoredRun, "progress"> & { progress: Partial<SyncProgress>; changes?: ChangeRecord[] };

/** The write-side shape of a source: its settings, plus the secret or certificate only when it is being set. */
export interface SourceInput extends Partial<EntraConfig> {
  name?: string;
  clientSecret?: string;
  certificatePem?: string;
  privateKeyPem?: string;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  description: string | null;
}

const enc = encodeURIComponent;

export const syncApi = {
  listSources: (workspace: string, signal?: AbortSignal) =>
    api.get<PageOf<Source>>(ws(workspace, "/sources"), undefined, { signal }).then((page) => page.items),
  /** The names of the workspace's Entra ID and SCIM sources, as its users' source filter offers them. */
  sourceNames: (workspace: string, signal?: AbortSignal) =>
    api
      .get<PageOf<Source> & { scimSources: ScimSource[] }>(ws(workspace, "/sources"), undefined, { signal })
      .then((page) => [...page.items, ...page.scimSources].map((s) => ({ name: s.name, type: s.type }))),
  listScimSources: (workspace: string, signal?: AbortSignal) =>
    api.get<PageOf<Source> & { scimSources: ScimSource[] }>(ws(workspace, "/sources"), undefined, { signal }).then((page) => page.scimSources),
  /** A SCIM source, with sign-in with Microsoft from the start when `input` has its settings. */
  createScimSource: (workspace: string, input: { name: string; onRemove: ScimSource["config"]["onRemove"] } & Partial<ScimSignInInput>) =>
    api.post<ScimSource & { token?: string }>(ws(workspace, "/sources"), { type: "scim", ...input }),
  /** A new Secret Token, in the answer only; the one before stops working. */
  newScimToken: (workspace: string, name: string) => api.patch<ScimSource & { token?: string }>(ws(workspace, `/sources/${enc(name)}`), { newScimToken: true }),
  /** A SCIM source's name, onRemove or country, with the version this tab read (a change made meanwhile is refused). */
  updateScimSource: (workspace: string, name: string, input: { name?: string; onRemove?: ScimSource["config"]["onRemove"]; country?: string | null }) =>
    api.patch<ScimSource>(ws(workspace, `/sources/${enc(name)}`), input, { ifMatch: true }),
  /** A SCIM source's sign-in with Microsoft: the switch, its app registration, and a client secret or certificate (write-only). */
  updateScimSignIn: (workspace: string, name: string, input: ScimSignInInput) =>
    api.patch<ScimSource>(ws(workspace, `/sources/${enc(name)}`), input),
  /** An Entra ID source, or a SCIM source: its page is its type's. */
  getSource: (workspace: string, name: string, signal?: AbortSignal) => api.get<Source | ScimSource>(ws(workspace, `/sources/${enc(name)}`), undefined, { signal }),
  createSource: (workspace: string, input: SourceInput) => api.post<Source>(ws(workspace, "/sources"), input),
  updateSource: (workspace: string, name: string, input: SourceInput) => api.patch<Source>(ws(workspace, `/sources/${enc(name)}`), input, { ifMatch: true }),
  removeSource: (workspace: string, name: string, users: SourceRemoval) => api.del<Pick<RemovedSource, "name" | "removal">>(withQuery(ws(workspace, `/sources/${enc(name)}`), { users })),
  test: (workspace: string, name: string) => api.post<TestResult>(ws(workspace, `/sources/${enc(name)}/test`)),
  /** Groups of the source's tenant whose display name starts with `q`. */
  findGroups: (workspace: string, name: string, q: string) => api.post<{ items: DirectoryGroup[] }>(ws(workspace, `/sources/${enc(name)}/find-groups`), { q }),
  /** One Entra user as the source's mapping makes it (user: UPN, email or object ID); nothing is stored. */
  tryUser: (workspace: string, name: string, user: string) => api.get<TriedUser>(ws(workspace, `/sources/${enc(name)}/try-user`), { user }),
  sync: async (workspace: string, name: string, options: { dryRun?: boolean; full?: boolean; force?: boolean }) =>
    (await api.post<Run>(ws(workspace, `/sources/${enc(name)}/sync`), options)).id,
  listRuns: (workspace: string, query: { source?: string; limit?: number; offset?: number }, signal?: AbortSignal) =>
    api.get<PageOf<Run>>(ws(workspace, "/runs"), query, { signal }),
  getRun: (workspace: string, id: string, signal?: AbortSignal) =>
    api.get<Run>(ws(workspace, `/runs/${enc(id)}`), undefined, { signal }),
  /** A page of a run's change log, optionally one action's entries; `actions` counts the whole run's. */
  runChanges: (workspace: string, id: string, query: { action?: string; offset?: number; limit?: number }, signal?: AbortSignal) =>
    api.get<PageOf<ChangeRecord> & { actions: Record<string, number> }>(ws(workspace, `/runs/${enc(id)}/changes`), { limit: 200, ...query }, { signal }),
  approve: (workspace: string, id: string) => api.post<Run>(ws(workspace, `/runs/${enc(id)}/approve`)),
  reject: (workspace: string, id: string) => api.post<Run>(ws(workspace, `/runs/${enc(id)}/reject`)),
  cancel: (workspace: string, id: string) => api.post<Run>(ws(workspace, `/runs/${enc(id)}/cancel`)),
};

const phaseText: Record<string, string> = {
  starting: "Signing in to Microsoft Entra ID",
  fetching: "Reading users and groups from Microsoft Graph",
  planning: "Comparing with the directory",
  replanning: "Comparing again: the directory changed meanwhile",
  applying: "Applying changes",
  photos: "Changes applied · checking users' photos in Microsoft Graph",
  done: "Finished",
};

/** The progress bar's numbers and words for a run. Fetching has no known total, so it is indeterminate. */
export function describeProgress(run: Pick<Run, "progress" | "status">): { value: number | null; max: number | null; label: string } {
  const p = run.progress ?? {};
  const phase = p.phase ?? "starting";
  let label = phaseText[phase] ?? phase;
  if (phase === "fetching") label += ` · ${(p.users ?? 0).toLocaleString()} users, ${(p.groups ?? 0).toLocaleString()} groups read`;
  const planning = phase === "planning" || phase === "replanning";
  if (planning && p.toPlan) label += ` · ${(p.planned ?? 0).toLocaleString()} of ${p.toPlan.toLocaleString()}`;
  if (p.note) label += ` (${p.note})`;
  if (planning && p.toPlan) return { value: p.planned ?? 0, max: p.toPlan, label };
  if (phase === "done") return { value: 1, max: 1, label };
  return { value: null, max: null, label };
}

/** Each count's words, plural then singular ("1 error", "2 errors"). */
const countLabels: [string, string, string][] = [
  ["created", "created", "created"],
  ["linked", "linked", "linked"],
  ["updated", "updated", "updated"],
  ["disabled", "disabled", "disabled"],
  ["deleted", "deleted", "deleted"],
  ["unchanged", "unchanged", "unchanged"],
  ["skipped", "skipped", "skipped"],
  ["released", "released", "released"],
  ["conflicts", "conflicts", "conflict"],
  ["warnings", "warnings", "warning"],
  ["groupsCreated", "groups created", "group created"],
  ["groupsUpdated", "groups updated", "group updated"],
  ["groupsDeleted", "groups deleted", "group deleted"],
  ["groupsUnchanged", "groups unchanged", "group unchanged"],
  ["groupConflicts", "group conflicts", "group conflict"],
  ["membershipsAdded", "memberships added", "membership added"],
  ["membershipsRemoved", "memberships removed", "membership removed"],
  ["photosChanged", "photos changed", "photo changed"],
  ["errors", "errors", "error"],
];

/** Counts that describe the run rather than count its changes (a preview's threshold check). */
const notChanges = new Set(["removals", "wouldStopAtThreshold", "heldBefore"]);

/** "12 created · 3 updated · 1 disabled": only the counts that are non-zero, in a fixed order. */
export function countsSummary(counts: Record<string, number> | undefined, all = false): { key: string; label: string; value: number }[] {
  if (!counts) return [];
  const known = countLabels.filter(([k]) => k in counts).map(([key, plural, one]) => ({ key, label: counts[key] === 1 ? one : plural, value: counts[key]! }));
  const extra = Object.entries(counts)
    .filter(([k]) => !countLabels.some(([c]) => c === k) && !notChanges.has(k))
    .map(([key, value]) => ({ key, label: key.replace(/([A-Z])/g, " $1").toLowerCase(), value }));
  return [...known, ...extra].filter((c) => all || c.value > 0);
}

/** A preview whose real run would stop at the deletion threshold: what it would remove, and what Sync now will do. */
export function wouldStopWarning(run: Pick<Run, "dryRun" | "counts">): string | null {
  const counts = run.counts ?? {};
  if (!run.dryRun || !counts.wouldStopAtThreshold) return null;
  const of = counts.heldBefore ? ` of the ${counts.heldBefore.toLocaleString()} users the source holds` : "";
  return `A real sync would stop at the deletion threshold: it would disable or delete ${(counts.removals ?? 0).toLocaleString()} users${of}. Sync now will stop for your review; these changes apply only once you approve them.`;
}

/** Who started a run, and how: "ada@example.com (console or API)", "alice (CLI)", "Schedule". */
export const startedBy = (r: Pick<Run, "trigger" | "requestedBy">): string => runStarter(r);

export function statusTone(status: string | undefined): "ok" | "bad" | "warn" | "info" | "neutral" {
  switch (status) {
    case "succeeded":
    case "applied":
      return "ok";
    case "failed":
      return "bad";
    case "stopped":
      return "warn";
    case "running":
      return "info";
    default:
      return "neutral";
  }
}

/**
 * What a run's counts are: changes it made, or changes it would make (a preview, a run stopped for review)
 * or would have made and did not (a rejected or failed run). `applied` is a stopped run whose changes the
 * approving run made.
 */
export function countsMeaning(run: Pick<Run, "status" | "dryRun">): "Changes" | "Would change" | "Not applied" {
  if (run.status === "rejected" || run.status === "failed") return "Not applied";
  if (run.dryRun || run.status === "stopped") return "Would change";
  return "Changes";
}

export function statusText(run: Pick<Run, "status" | "dryRun">): string {
  const s: Record<string, string> = {
    running: "Running",
    succeeded: run.dryRun ? "Preview ready" : "Succeeded",
    failed: "Failed",
    stopped: "Needs review",
    applied: "Applied",
    rejected: "Rejected",
  };
  return s[run.status] ?? run.status;
}
