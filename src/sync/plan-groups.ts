import type { GroupCounts } from "../domain/run-counts.ts";

/**
 * The group planner: which groups the source should have (after the mode's selection and the ignore
 * rules) against the groups it holds. Pure. Memberships are diffed set-based in SQL (apply.ts) once the
 * users and groups exist.
 */
export interface SourceGroup {
  externalId: string;
  name: string;
  description: string | null;
}

export interface HeldGroup extends SourceGroup {
  id: string;
}

export type GroupChange =
  | { action: "create"; externalId: string; name: string; description: string | null }
  | { action: "update"; id: string; externalId: string; name: string; description: string | null; before: SourceGroup; link: boolean }
  | { action: "delete"; id: string; externalId: string; name: string; before: SourceGroup }
  | { action: "conflict"; externalId: string; name: string; message: string };

export interface GroupPlan {
  changes: GroupChange[];
  counts: GroupCounts;
}

export interface GroupFilter {
  ignore: string[];
  ignoreContaining: string[];
}

/** Ignore by whole name (without case, as groups are named everywhere) or object ID, and by a case-insensitive "contains". */
export function isIgnored(group: Pick<SourceGroup, "name" | "externalId">, filter: GroupFilter): boolean {
  return filter.ignore.includes(group.externalId) || ignoringRule(group.name, filter) !== undefined;
}

/** The rule that leaves a group out by the name or ID it is selected by (its ID only by a whole rule), if one does. */
export function ignoringRule(selected: string, filter: GroupFilter): { list: "ignoreGroups" | "ignoreGroupsContaining"; rule: string } | undefined {
  const lower = selected.toLowerCase();
  const whole = filter.ignore.find((i) => i.toLowerCase() === lower);
  if (whole !== undefined) return { list: "ignoreGroups", rule: whole };
  const part = filter.ignoreContaining.find((p) => lower.includes(p.toLowerCase()));
  return part === undefined ? undefined : { list: "ignoreGroupsContaining", rule: part };
}

/** Selected groups are named by display name (case-insensitive) or object id. */
export function isSelected(group: SourceGroup, selected: string[]): boolean {
  return selected.some((s) => s === group.externalId || s.toLowerCase() === group.name.toLowerCase());
}

/**
 * `formers`: groups kept when their source was removed, with the Entra object ID of a desired group. The
 * source takes them back (linked), as if it held them; `otherNames` must not name them.
 */
export function planGroups(input: { desired: SourceGroup[]; held: HeldGroup[]; formers?: HeldGroup[]; otherNames: ReadonlySet<string> }): GroupPlan {
  const heldById = new Map([...(input.formers ?? []), ...input.held].map((g) => [g.externalId, g]));
  const linked = new Set((input.formers ?? []).map((g) => g.id));
  const wanted = new Set(input.desired.map((g) => g.externalId));
  // A held group keeps its name when it is not renamed or its rename is refused; the names so kept are taken
  // before anyone claims a new one. Renames may swap or chain names within the run (the applier frees them
  // first). A refused rename keeps a name someone else may have claimed, so repeat until nothing moves.
  let keeping = new Set<string>();
  for (;;) {
    const pass = planPass(input.desired, heldById, linked, input.otherNames, keeping);
    if (pass.keeping.size === keeping.size) return finish(pass.changes, pass.counts);
    keeping = pass.keeping;
  }

  function finish(changes: GroupChange[], counts: GroupPlan["counts"]): GroupPlan {
    for (const held of input.held) {
      if (wanted.has(held.externalId)) continue;
      counts.groupsDeleted++;
      changes.push({ action: "delete", id: held.id, externalId: held.externalId, name: held.name, before: { externalId: held.externalId, name: held.name, description: held.description } });
    }
    // Deletions first, then renames, then creations, so a name freed in this run can be reused by it.
    const order = { delete: 0, update: 1, create: 2, conflict: 3 } as const;
    changes.sort((a, b) => order[a.action] - order[b.action]);
    return { changes, counts };
  }
}

function planPass(desired: SourceGroup[], heldById: Map<string, HeldGroup>, linked: ReadonlySet<string>, otherNames: ReadonlySet<string>, keeping: ReadonlySet<string>) {
  const counts = { groupsCreated: 0, groupsUpdated: 0, groupsDeleted: 0, groupsUnchanged: 0, groupConflicts: 0 };
  const changes: GroupChange[] = [];
  const taken = new Map<string, string>();
  for (const g of desired) {
    const held = heldById.get(g.externalId);
    if (held && (keeping.has(g.externalId) || held.name.toLowerCase() === g.name.toLowerCase())) taken.set(held.name.toLowerCase(), g.externalId);
  }
  const refused = new Set(keeping);
  const conflicts: { g: SourceGroup; held: HeldGroup | undefined }[] = [];
  for (const g of desired) {
    const key = g.name.toLowerCase();
    const owner = taken.get(key);
    const held = heldById.get(g.externalId);
    if (keeping.has(g.externalId) || otherNames.has(key) || (owner !== undefined && owner !== g.externalId)) {
      counts.groupConflicts++;
      conflicts.push({ g, held });
      if (held) refused.add(g.externalId);
      continue;
    }
    taken.set(key, g.externalId);
    if (!held) {
      counts.groupsCreated++;
      changes.push({ action: "create", externalId: g.externalId, name: g.name, description: g.description });
    } else if (linked.has(held.id) || held.name !== g.name || held.description !== g.description) {
      counts.groupsUpdated++;
      changes.push({ action: "update", id: held.id, externalId: g.externalId, name: g.name, description: g.description, before: { externalId: held.externalId, name: held.name, description: held.description }, link: linked.has(held.id) });
    } else counts.groupsUnchanged++;
  }
  // Named once every group has claimed its name: the holder may come later in the listing.
  for (const { g, held } of conflicts) {
    const key = g.name.toLowerCase();
    changes.push({ action: "conflict", externalId: g.externalId, name: g.name, message: conflictMessage(g, held, otherNames.has(key) ? undefined : taken.get(key)) });
  }
  return { changes, counts, keeping: refused };
}

/** Says which group holds the name and what keeps this one from it, so the admin knows what to rename. */
function conflictMessage(g: SourceGroup, held: HeldGroup | undefined, owner: string | undefined): string {
  const holder = owner === undefined
    ? "a group of this workspace that does not come from this source (added by hand, imported or synced from another source)"
    : `another Entra ID group of this source (object ID ${owner})`;
  if (held) return `renamed in Entra ID to "${g.name}", the name of ${holder}; it keeps its name "${held.name}" until one of them is renamed`;
  return `"${g.name}" is the name of ${holder}; this Entra ID group (object ID ${g.externalId}) is not synced until one of them is renamed`;
}
