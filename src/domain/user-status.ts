import { describeActor } from "./actor.ts";

/**
 * Why a user is enabled or disabled, in words a help desk reads at a glance: who changed it, when, in which sync and
 * why, and what the next sync of their Entra ID source makes of it. Shared by the console's user page and
 * `rollcall users show`, so both tell the same story. Pure.
 */

/** The changes that can set a user's status: create, disable, enable, or update and link (an import's or a sync's change that set it among others). */
export const statusActions = ["create", "disable", "enable", "update", "link"] as const;

/** The change that gave a user the status they have (their creation when nothing changed it since). */
export interface StatusChange {
  enabled: boolean;
  action: (typeof statusActions)[number];
  at: string;
  actor: string;
  /** The sync run that made it, and its Entra ID source's name; null for a change made here (by hand, an import, a bulk action). */
  runId: string | null;
  syncSource: string | null;
  /** Why, as the entry says it (a sync's "Entra ID has the account disabled…"); null when it says nothing. */
  reason: string | null;
}

/**
 * A sync's conflict over the user that their history ends with: each run that still meets it says so (the history
 * once, until something else is logged on them), so it is most likely still open.
 */
export interface OpenConflict {
  message: string;
  at: string;
  runId: string | null;
  syncSource: string | null;
}

interface StatusUser {
  enabled: boolean;
  source: { type: string; name: string };
}

/** The change, if it is the one that gave the user the status they have now (an older log may not hold it). */
export function currentStatusChange(user: StatusUser, change: StatusChange | null | undefined): StatusChange | null {
  return change && change.enabled === user.enabled ? change : null;
}

/**
 * "Disabled by the sync of contoso on 7 Dec 2026, 03:07: Entra ID has the account disabled (sign-in blocked there)",
 * "Enabled by ops@example.com on …", "Created disabled by …", without a full stop. `when` is `change.at` as the reader
 * shows dates.
 */
export function statusSentence(change: StatusChange, when: string): string {
  const status = change.enabled ? "Enabled" : "Disabled";
  const what = change.action === "create" ? `Created ${status.toLowerCase()}` : status;
  const who = change.runId ? `the sync of ${change.syncSource ?? "a removed source"}` : describeActor(change.actor);
  return `${what} by ${who} on ${when}${change.reason ? `: ${change.reason}` : ""}`;
}

/**
 * What the next sync of a synced user's source does to the status they have, when it may undo it: a status set here
 * (by hand, an import) is set back to Entra ID's, and a user a sync disabled stays disabled until Entra ID enables
 * them. Null for a user no sync owns, or a status a sync gave and will keep.
 */
export function nextSyncSentence(user: StatusUser, change: StatusChange | null): string | null {
  if (user.source.type !== "entra") return null;
  const source = user.source.name;
  if (!change) return `The next sync of ${source} sets the status Entra ID has.`;
  if (change.runId) {
    return user.enabled ? null : `Enabling them here lasts only until the next sync of ${source}, which disables them again while Entra ID has the account disabled or outside the source's scope: enable the account in Entra ID.`;
  }
  return user.enabled
    ? `The next sync of ${source} sets the status Entra ID has: if the account is disabled there, or outside the source's scope, it disables them again. Enable the account in Entra ID to make this last.`
    : `The next sync of ${source} sets the status Entra ID has: if the account is enabled there, it enables them again. Disable the account in Entra ID to make this last.`;
}
