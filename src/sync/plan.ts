import type { DesiredUser } from "../sources/entra/mapping.ts";
import { linkedTags, type SourceType } from "../domain/user.ts";
import type { UserCounts } from "../domain/run-counts.ts";

/**
 * The user planner: what the source says (the in-scope users of the ids under consideration) and what we
 * hold → the change set. Pure: no I/O, the same input always gives the same plan. A dry run prints it;
 * a run applies it.
 */
export type RemovalPolicy = "disable" | "delete" | "keep";

/** The fields a sync owns and compares; everything else on a user (tags, PIN unless mapped, …) is left alone. */
export const comparedFields = [
  "userPrincipalName", "email", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId",
  "mobilePhone", "businessPhones", "preferredLanguage", "enabled", "aliases", "cardNumbers", "customAttributes",
] as const;
export type ComparedField = (typeof comparedFields)[number];
export type SyncedFields = Pick<DesiredUser, ComparedField>;

export interface HeldUser extends SyncedFields {
  id: string;
  sourceId: string | null;
  sourceType: SourceType;
  sourceName: string;
  externalId: string | null;
  tags: string[];
}

export interface Ownership {
  aliases: boolean;
  cardNumbers: boolean;
  customKeys: string[];
}

export interface UserPlanInput {
  source: { id: string; name: string };
  /** In-scope users among the ids considered by this run (mapped). */
  desired: DesiredUser[];
  /** This source's users among the ids considered (in scope or not). */
  held: HeldUser[];
  /**
   * Other users holding an email or UPN wanted by `desired` (any source), and users kept when their source was
   * removed (no source, an Entra object ID) whose object ID is among `desired`.
   */
  holders: HeldUser[];
  /** Lower-cased emails/UPNs already claimed by earlier chunks of this run. */
  claimed: ReadonlySet<string>;
  /** Users that earlier chunks of this run link to an Entra user (by email or object ID). */
  taken?: ReadonlySet<string>;
  /**
   * For holders of this source that this run rewrites: the lower-cased emails/UPNs they will have after it.
   * A value such a holder gives up is free (two users swapping emails); the applier clears before it sets.
   */
  futureKeys?: ReadonlyMap<string, readonly string[]>;
  /**
   * Holders that their Entra source no longer lists in its scope (deleted, or out of scope): this source's, and
   * disabled ones of other sources. One already disabled for it gives its address to the new object that has it
   * (a re-hire, an account re-created, a person moved to another tenant): linked to it, like a manual user,
   * instead of keeping the live account out of the directory.
   */
  departed?: ReadonlySet<string>;
  /**
   * Entra object ids of held users that Entra ID holds soft-deleted (`@removed` reason "changed", restorable for 30
   * days: merge.ts). Such a user leaving is only disabled, also under on-remove delete: a mistaken deletion, restored
   * in Entra ID, comes back with its PIN, cards and role. Once Entra ID deletes it for good (or a full run no longer
   * finds it among the deleted users: soft-deleted.ts), on-remove applies as to any other.
   */
  restorable?: ReadonlySet<string>;
  /**
   * Entra object ids of held users disabled here because Entra ID had them in deleted items (their last status change
   * says so: plan-run.ts). Listed again, they were restored there: an enable says so rather than the generic reason.
   */
  restored?: ReadonlySet<string>;
  /**
   * Entra object ids of held users disabled here because Entra ID had them in deleted items, that Entra ID has since
   * deleted for good (purged 30 days on, or deleted from deleted items: soft-deleted.ts purgedOf). Under on-remove
   * disable they stay disabled, and a "purge" entry says once that they can no longer be restored there.
   */
  purged?: ReadonlySet<string>;
  onRemove: RemovalPolicy;
  linkByEmail: boolean;
  owned: Ownership;
}

export type UserChange =
  | { action: "create"; externalId: string; subject: string; after: DesiredUser }
  | { action: "update"; logAction: "update" | "disable" | "enable" | "link"; userId: string; externalId: string; subject: string; before: HeldUser; after: DesiredUser; changed: ComparedField[]; tags: string[]; reason?: string }
  | { action: "disable"; userId: string; externalId: string; subject: string; before: HeldUser; reason?: string }
  | { action: "delete" | "release" | "purge"; userId: string; externalId: string; subject: string; before: HeldUser }
  | { action: "conflict"; externalId: string; subject: string; message: string; holderId: string };

export interface UserPlan {
  changes: UserChange[];
  counts: UserCounts;
  /** Emails/UPNs this chunk claims (to pass on, lower-cased). */
  claims: string[];
  /** Users this chunk links (to pass on as `taken`). */
  taken: string[];
  /** Per-user warnings (dropped phone numbers, …), for the run's change log. */
  warnings: { externalId: string; subject: string; messages: string[] }[];
  /**
   * This source's users that keep an email or UPN Entra ID no longer gives them, their new ones being a conflict:
   * their lower-cased email and UPN, by user id (for later chunks, which would think them given up: futureKeys).
   */
  kept: Map<string, string[]>;
}

export const emptyCounts = (): UserCounts => ({ created: 0, updated: 0, linked: 0, disabled: 0, deleted: 0, unchanged: 0, skipped: 0, conflicts: 0, warnings: 0, released: 0, removals: 0 });

export function addCounts(into: UserCounts, more: UserCounts): void {
  for (const key of Object.keys(more) as (keyof UserCounts)[]) into[key] += more[key];
}

const subjectOf = (u: { email: string | null; userPrincipalName: string | null; displayName: string }) => u.email ?? u.userPrincipalName ?? u.displayName;
const keyOf = (value: string | null) => (value ? value.toLowerCase() : null);
/** A user's email and UPN as addresses compare: lower-cased, the missing left out. */
export const addressKeys = (u: { email: string | null; userPrincipalName: string | null }) => [keyOf(u.email), keyOf(u.userPrincipalName)].filter((k): k is string => k !== null);
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Desired values merged with the held user where the sync does not own the field. */
export function mergeOwned(desired: DesiredUser, held: HeldUser | undefined, owned: Ownership): DesiredUser {
  if (!held) return desired;
  const custom = { ...held.customAttributes };
  for (const key of owned.customKeys) delete custom[key];
  return {
    ...desired,
    aliases: owned.aliases ? desired.aliases : held.aliases,
    cardNumbers: owned.cardNumbers ? desired.cardNumbers : held.cardNumbers,
    customAttributes: { ...custom, ...desired.customAttributes },
  };
}

export function changedFields(before: SyncedFields, after: SyncedFields): ComparedField[] {
  return comparedFields.filter((field) => {
    const a = before[field];
    const b = after[field];
    if (Array.isArray(a) && Array.isArray(b)) return !sameList(a, b);
    if (field === "customAttributes") return JSON.stringify(sortKeys(a as Record<string, string>)) !== JSON.stringify(sortKeys(b as Record<string, string>));
    return a !== b;
  });
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([x], [y]) => (x < y ? -1 : 1)));
}

export function planUsers(input: UserPlanInput): UserPlan {
  // A holder this run rewrites gives up its email and UPN (futureKeys), unless its own new ones are refused (a
  // conflict): then it keeps the old ones, and a user this pass gave them to has to wait as well. Each pass can
  // only add holders that keep their keys, so this ends.
  let futureKeys = input.futureKeys;
  for (;;) {
    const plan = planPass({ ...input, futureKeys });
    const kept = keptKeys(input, plan.changes);
    const unexpected = [...kept].filter(([id, keys]) => {
      const expected = futureKeys?.get(id);
      return expected && keys.some((k) => !expected.includes(k));
    });
    if (!unexpected.length) return { ...plan, kept };
    futureKeys = new Map([...(futureKeys ?? []), ...unexpected]);
  }
}

/** This source's users whose new email or UPN is a conflict, so they keep old ones Entra ID no longer gives them. */
function keptKeys(input: UserPlanInput, changes: Omit<UserPlan, "kept">["changes"]): Map<string, string[]> {
  const heldById = new Map(input.held.map((h) => [h.externalId ?? "", h]));
  const desiredById = new Map(input.desired.map((d) => [d.externalId, d]));
  const kept = new Map<string, string[]>();
  for (const change of changes) {
    const held = change.action === "conflict" ? heldById.get(change.externalId) : undefined;
    const desired = held && desiredById.get(change.externalId);
    if (!held || !desired) continue;
    const keys = addressKeys(held);
    const wanted = addressKeys(desired);
    if (keys.some((k) => !wanted.includes(k))) kept.set(held.id, keys);
  }
  return kept;
}

function planPass(input: UserPlanInput): Omit<UserPlan, "kept"> {
  const counts = emptyCounts();
  const changes: UserChange[] = [];
  const warnings: UserPlan["warnings"] = [];
  const claims: string[] = [];
  const heldById = new Map(input.held.map((h) => [h.externalId ?? "", h]));
  const holderByKey = new Map<string, HeldUser>();
  for (const h of input.holders) {
    for (const key of [keyOf(h.email), keyOf(h.userPrincipalName)]) if (key && !holderByKey.has(key)) holderByKey.set(key, h);
  }
  // A user kept when its source was removed keeps its Entra object ID: the same object, in any source, takes it back.
  const wantedIds = new Set(input.desired.map((d) => d.externalId));
  const formerById = new Map(input.holders.filter((h) => h.sourceId === null && h.externalId !== null && wantedIds.has(h.externalId)).map((h) => [h.externalId!, h]));
  const claimedHere = new Set<string>();
  const takenHere = new Set<string>();
  const taken = (id: string) => takenHere.has(id) || (input.taken?.has(id) ?? false);
  const inScope = new Set<string>();

  for (const desired of input.desired) {
    inScope.add(desired.externalId);
    const subject = subjectOf(desired);
    if (desired.warnings.length) {
      counts.warnings += 1; // one change-log entry per user, however many messages: what `runs show --action warning` lists
      warnings.push({ externalId: desired.externalId, subject, messages: desired.warnings });
    }
    const held = heldById.get(desired.externalId);
    const former = held ? undefined : formerById.get(desired.externalId);
    const own = held ?? former;
    const keys = addressKeys(desired);

    // Someone else already has this email or UPN: link a manual/imported user, otherwise a conflict.
    const dupe = keys.find((k) => input.claimed.has(k) || claimedHere.has(k));
    const keeps = (h: HeldUser, k: string) => input.futureKeys?.get(h.id)?.includes(k) ?? true;
    const holders = [...new Set(keys.map((k) => [k, holderByKey.get(k)] as const).filter(([k, h]) => h !== undefined && h.id !== own?.id && keeps(h, k)).map(([, h]) => h!))];
    let linkTo: HeldUser | undefined;
    let conflict: string | undefined;
    if (dupe) conflict = `"${dupe}" is also used by another user of this source in the same run`;
    else if (former && taken(former.id)) conflict = `user ${former.id}, kept from Entra object ${desired.externalId}, is already linked to another Entra user by this run`;
    else if (holders.length > 1) conflict = `its email and user principal name belong to two different users (${holders.map((h) => h.id).join(", ")})`;
    else if (holders.length === 1) {
      const holder = holders[0]!;
      if (own) conflict = `"${subjectOf(desired)}" already belongs to user ${holder.id} (${holder.sourceType} "${holder.sourceName}")`;
      else if (holder.sourceType === "entra" && input.departed?.has(holder.id)) {
        const scope = holder.sourceId === input.source.id ? "this source's scope" : `the scope of Entra ID source "${holder.sourceName}"`;
        const kept = `"${subject}" still belongs to user ${holder.id}, kept from Entra object ${holder.externalId}, which left ${scope}`;
        if (!input.linkByEmail) conflict = `${kept}, and linking by email is off for this source: delete that user to sync this account`;
        else if (holder.enabled || taken(holder.id)) conflict = `${kept} in this run: the next run links that user to this account`;
        else linkTo = holder;
      } else if (holder.sourceType === "entra") {
        conflict = holder.sourceId === input.source.id
          ? `"${subject}" already belongs to Entra object ${holder.externalId} of this source: two users in Entra ID have this address; give one of them another`
          : holder.externalId === desired.externalId
            ? `"${subject}" is already synced by Entra ID source "${holder.sourceName}" (user ${holder.id}), which reads the same tenant: two sources claim one account. Leave it to one of them: scope the other to groups it is not in, or remove that source`
            : `"${subject}" is already claimed by Entra ID source "${holder.sourceName}" (user ${holder.id}); two tenants claim the same person: give one of the two accounts another address, or leave it out of one source's scope`;
      } else if (holder.sourceType === "scim") {
        conflict = `"${subject}" is already provisioned over SCIM by source "${holder.sourceName}" (user ${holder.id}): leave the person to one of the two sources`;
      } else if (taken(holder.id) || formerById.has(holder.externalId ?? "")) {
        conflict = `"${subject}" belongs to user ${holder.id}, which this run links to another Entra user`;
      } else if (!input.linkByEmail) conflict = `"${subject}" already belongs to ${holder.sourceType} user ${holder.id}, and linking by email is off for this source`;
      else linkTo = holder;
    }
    if (conflict) {
      counts.conflicts++;
      if (!held) {
        counts.skipped++;
        changes.push({ action: "conflict", externalId: desired.externalId, subject, message: conflict, holderId: holders[0]?.id ?? former?.id ?? "" });
        continue;
      }
      // Only the address waits: everything else follows Entra ID, above all an account disabled there.
      const kept = [held.email, held.userPrincipalName].filter(Boolean).map((k) => `"${k}"`).join(" and ");
      changes.push({ action: "conflict", externalId: desired.externalId, subject, message: `${conflict}; the user keeps ${kept} until then, and the rest of it is synced`, holderId: holders[0]?.id ?? held.id });
    } else {
      for (const k of keys) claimedHere.add(k);
      linkTo ??= former;
      if (linkTo) takenHere.add(linkTo.id);
    }

    const base = held ?? linkTo;
    if (!base) {
      counts.created++;
      changes.push({ action: "create", externalId: desired.externalId, subject, after: mergeOwned(desired, undefined, input.owned) });
      continue;
    }
    const wanted = conflict ? { ...desired, email: base.email, userPrincipalName: base.userPrincipalName } : desired;
    const after = mergeOwned(wanted, base, input.owned);
    const changed = changedFields(base, after);
    if (linkTo) {
      counts.linked++;
      changes.push({ action: "update", logAction: "link", userId: base.id, externalId: desired.externalId, subject, before: base, after, changed, tags: linkedTags(base.tags, base.sourceType) });
      continue;
    }
    if (changed.length === 0 && desired.pin === undefined) {
      counts.unchanged++;
      continue;
    }
    if (changed.length === 0) {
      counts.unchanged++; // a mapped PIN is re-hashed but is not a visible change
      changes.push({ action: "update", logAction: "update", userId: base.id, externalId: desired.externalId, subject, before: base, after, changed, tags: base.tags });
      continue;
    }
    const newlyDisabled = base.enabled && !after.enabled;
    const logAction = newlyDisabled ? "disable" : !base.enabled && after.enabled ? "enable" : "update";
    if (newlyDisabled) {
      counts.disabled++;
      counts.removals++;
    } else counts.updated++;
    const reason = logAction === "update" ? undefined
      : logAction === "enable" && input.restored?.has(desired.externalId) ? restoredReason : statusReasons[logAction];
    changes.push({ action: "update", logAction, userId: base.id, externalId: desired.externalId, subject, before: base, after, changed, tags: base.tags, ...(reason && { reason }) });
  }

  // Held but not (or no longer) in scope: removed in Entra, or out of the source's scope.
  for (const held of input.held) {
    if (inScope.has(held.externalId ?? "")) continue;
    const subject = subjectOf(held);
    const restorable = input.restorable?.has(held.externalId ?? "") ?? false;
    const policy = restorable && input.onRemove === "delete" ? "disable" : input.onRemove;
    if (policy === "delete") {
      counts.deleted++;
      counts.removals++;
      changes.push({ action: "delete", userId: held.id, externalId: held.externalId ?? "", subject, before: held });
    } else if (policy === "disable" && held.enabled) {
      counts.disabled++;
      counts.removals++;
      changes.push({ action: "disable", userId: held.id, externalId: held.externalId ?? "", subject, before: held, ...(restorable && { reason: restorableReason(input.onRemove) }) });
    } else if (policy === "disable" && input.purged?.has(held.externalId ?? "")) {
      counts.unchanged++; // no change to the user: its history says it can no longer be restored in Entra ID
      changes.push({ action: "purge", userId: held.id, externalId: held.externalId ?? "", subject, before: held });
    } else if (policy === "keep") {
      // Kept as a source removal keeps its users (core/source-removal.ts): managed in Rollcall from now on, and
      // taken back by its Entra object ID if it comes back into scope.
      counts.released++;
      changes.push({ action: "release", userId: held.id, externalId: held.externalId ?? "", subject, before: held });
    } else counts.unchanged++;
  }
  claims.push(...claimedHere);
  return { changes, counts, claims, taken: [...takenHere], warnings };
}

/**
 * Why a sync disabled or enabled a user it holds, in the change's entry: the status Entra ID has, whichever side
 * changed (a user disabled here by hand is enabled again the same way).
 */
export const statusReasons = {
  disable: "Entra ID has the account disabled (sign-in blocked there)",
  enable: "Entra ID has the account enabled: a sync sets the status Entra ID has",
} as const;

/** Why a user disabled while in Entra ID's deleted items stays disabled for good, in its "purge" entry. */
export const purgedReason = "deleted for good in Entra ID (purged from deleted users, 30 days on, or deleted there): it can no longer be restored there";

/** Why a user disabled while in Entra ID's deleted items is enabled again: an admin restored it there. */
export const restoredReason = "restored in Entra ID from deleted users, enabled there";

/** The start of every restorableReason: how plan-run.ts finds the users disabled for being in deleted items. */
export const restorablePrefix = "deleted in Entra ID, restorable";

/** Why a soft-deleted user is disabled, in the run's change entry ("disabled: deleted in Entra ID, restorable"). */
export function restorableReason(onRemove: RemovalPolicy): string {
  return onRemove === "delete"
    ? `${restorablePrefix} (for 30 days): deleted here once Entra ID deletes it for good`
    : `${restorablePrefix} (for 30 days)`;
}

/**
 * The deletion threshold: stop when the run would disable or delete more than `percent` of the users the
 * source held before the run AND more than `count` users.
 */
export function exceedsThreshold(removals: number, heldBefore: number, threshold: { percent: number; count: number }): boolean {
  return removals > threshold.count && removals * 100 > heldBefore * threshold.percent;
}
