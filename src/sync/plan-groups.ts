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
  | { action: "update"; id: string; externalId: string; name: string; description: string | null; before: SourceGroup }
  | { action: "delete"; id: string; externalId: string; name: string; before: SourceGroup }
  | { action: "conflict"; externalId: string; name: string; message: string };

export interface GroupPlan {
  changes: GroupChange[];
  counts: { groupsCreated: number; groupsUpdated: number; groupsDeleted: number; groupsUnchanged: number; groupConflicts: number };
}

export interface GroupFilter {
  ignore: string[];
  ignoreContaining: string[];
}

/** Ignore by exact name, and by a case-insensitive "contains". */
export function isIgnored(name: string, filter: GroupFilter): boolean {
  const lower = name.toLowerCase();
  return filter.ignore.includes(name) || filter.ignoreContaining.some((part) => lower.includes(part.toLowerCase()));
}

/** Selected groups are named by display name (case-insensitive) or object id. */
export function isSelected(group: SourceGroup, selected: string[]): boolean {
  return selected.some((s) => s === group.externalId || s.toLowerCase() === group.name.toLowerCase());
}

export function planGroups(input: { desired: SourceGroup[]; held: HeldGroup[]; otherNames: ReadonlySet<string> }): GroupPlan {
  const counts = { groupsCreated: 0, groupsUpdated: 0, groupsDeleted: 0, groupsUnchanged: 0, groupConflicts: 0 };
  const changes: GroupChange[] = [];
  const heldById = new Map(input.held.map((g) => [g.externalId, g]));
  const wanted = new Set(input.desired.map((g) => g.externalId));
  // Names in use after this plan: other sources' groups, plus ours that stay (renames claim as they go).
  const taken = new Map<string, string>();
  for (const g of input.held) if (wanted.has(g.externalId)) taken.set(g.name.toLowerCase(), g.externalId);

  for (const g of input.desired) {
    const key = g.name.toLowerCase();
    const owner = taken.get(key);
    if (input.otherNames.has(key) || (owner !== undefined && owner !== g.externalId)) {
      counts.groupConflicts++;
      changes.push({ action: "conflict", externalId: g.externalId, name: g.name, message: `a group called "${g.name}" already exists in this workspace; this Entra group was left out` });
      continue;
    }
    taken.set(key, g.externalId);
    const held = heldById.get(g.externalId);
    if (!held) {
      counts.groupsCreated++;
      changes.push({ action: "create", externalId: g.externalId, name: g.name, description: g.description });
    } else if (held.name !== g.name || held.description !== g.description) {
      counts.groupsUpdated++;
      changes.push({ action: "update", id: held.id, externalId: g.externalId, name: g.name, description: g.description, before: { externalId: held.externalId, name: held.name, description: held.description } });
    } else counts.groupsUnchanged++;
  }
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
