import type { RunCounts } from "./run-counts.ts";
import { scimQuietText, secretUrgency, type ScimQuiet } from "./source.ts";
import type { RunMode, RunStatus } from "../storage/schema.ts";

/** What the workspaces' overview knows of one source: enough to say whether it needs an admin. */
export interface SourceGlance {
  name: string;
  lastRun: { status: RunStatus; mode: RunMode; dryRun: boolean; counts: RunCounts; startedAt: string } | null;
  awaitingReview: string | null;
  secret: { set: boolean; expiresOn: string | null; daysLeft: number | null };
}

/**
 * What it knows of a SCIM source: whether Entra ID's provisioning service has gone quiet (source.ts scimQuiet), and
 * when the credential signing its users in with Microsoft expires (null: sign-in off, or no date recorded).
 */
export interface ScimGlance {
  name: string;
  quiet: ScimQuiet | null;
  signInSecret?: { kind: "secret" | "certificate"; expiresOn: string; daysLeft: number } | null;
}

export type AttentionLevel = "critical" | "warning";

export interface Attention {
  /** The worst of the reasons; null when nothing needs attention. */
  level: AttentionLevel | null;
  /** Worst first, one line each, naming the source. */
  reasons: string[];
}

type Reason = { level: AttentionLevel; text: string };

function reasonsOf(source: SourceGlance): Reason[] {
  const reasons: Reason[] = [];
  const { lastRun, secret } = source;
  if (lastRun?.status === "failed") reasons.push({ level: "critical", text: `${source.name}: the last ${lastRun.dryRun ? "preview" : "run"} failed (${lastRun.startedAt.slice(0, 10)})` });
  if (source.awaitingReview) reasons.push({ level: "critical", text: `${source.name}: a run stopped at the deletion threshold and waits for review` });
  if (!secret.set) reasons.push({ level: "critical", text: `${source.name}: no client secret or certificate is set` });
  else if (secret.daysLeft !== null && secret.expiresOn !== null) reasons.push(...expiryReasons(`${source.name}: the client secret`, { expiresOn: secret.expiresOn, daysLeft: secret.daysLeft }));
  const conflicts = (lastRun?.counts.conflicts ?? 0) + (lastRun?.counts.groupConflicts ?? 0);
  if (conflicts > 0) reasons.push({ level: "warning", text: `${source.name}: the last run found ${conflicts} conflict${conflicts === 1 ? "" : "s"}` });
  return reasons;
}

/** A credential expired (critical), or expiring as its notifications say (secretUrgency); `what` names it. */
function expiryReasons(what: string, { expiresOn, daysLeft }: { expiresOn: string; daysLeft: number }): Reason[] {
  if (daysLeft <= 0) return [{ level: "critical", text: `${what} expired on ${expiresOn}` }];
  const level = secretUrgency(daysLeft);
  return level ? [{ level, text: `${what} expires in ${daysLeft} day${daysLeft === 1 ? "" : "s"} (${expiresOn})` }] : [];
}

/**
 * A quiet SCIM source is a warning, as its alert is: provisioning may only be paused, but changes in Entra ID are not
 * arriving. Its sign-in credential expiring is as pressing as an Entra ID source's secret.
 */
function scimReasonsOf(source: ScimGlance): Reason[] {
  const expiry = source.signInSecret ? expiryReasons(`${source.name}: the sign-in ${source.signInSecret.kind === "certificate" ? "certificate" : "client secret"}`, source.signInSecret) : [];
  return [...expiry, ...(source.quiet ? [{ level: "warning" as const, text: `${source.name}: ${scimQuietText(source.quiet)}` }] : [])];
}

/** Whether a workspace's sources need an admin, and why: failed runs, stopped runs, expired or expiring secrets, conflicts, quiet SCIM sources. */
export function attentionOf(sources: SourceGlance[], scimSources: ScimGlance[] = []): Attention {
  const reasons = [...sources.flatMap(reasonsOf), ...scimSources.flatMap(scimReasonsOf)];
  const critical = reasons.filter((r) => r.level === "critical");
  const ordered = [...critical, ...reasons.filter((r) => r.level === "warning")];
  return { level: ordered[0]?.level ?? null, reasons: ordered.map((r) => r.text) };
}

const rank = (level: AttentionLevel | null) => (level === "critical" ? 0 : level === "warning" ? 1 : 2);

/** Those needing attention first (critical, then warning), then by name. */
export function byAttention<T extends { name: string; attention: Attention }>(a: T, b: T): number {
  return rank(a.attention.level) - rank(b.attention.level) || a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.name.localeCompare(b.name);
}
