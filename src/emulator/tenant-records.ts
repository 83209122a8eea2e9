// What the tenant keeps per user and group besides the Graph object: its place in the creation order, whether it
// is deleted, its memberships, and its change sequence numbers (delta-tracking.ts); and walks of the groups' nesting.
import type { Tracked } from "./delta-tracking.ts";
import type { GraphGroup, GraphUser, MemberKind, MemberRef } from "./directory-types.ts";

export const ACTIVE = 0;
export const SOFT_DELETED = 1;
export const HARD_DELETED = 2;

export interface UserRec extends Tracked {
  u: GraphUser; pos: number; state: number; groups: Set<string>; restoreGroups?: string[];
  /** The manager's user id (a navigation property, not in `u`), and the last one it had: delta names it when removed. */
  manager?: string; lastManager?: string;
}
export interface MemberEvent { id: string; kind: MemberKind; add: boolean; seq: number }
export interface GroupRec extends Tracked {
  g: GraphGroup; pos: number; state: number;
  members: Map<string, MemberKind>; log: MemberEvent[]; parents: Set<string>;
  /** While soft-deleted: its members and the groups it was in, which come back with it. */
  restore?: { members: string[]; parents: string[] };
}

/** The members of group `groupId` and, through the groups among them, of theirs: each once. */
export function nestedMembers(groups: ReadonlyMap<string, GroupRec>, groupId: string): MemberRef[] {
  const seen = new Map<string, MemberKind>();
  const stack = [groupId];
  while (stack.length) {
    const g = groups.get(stack.pop() as string);
    if (!g) continue;
    for (const [id, kind] of g.members) {
      if (seen.has(id)) continue;
      seen.set(id, kind);
      if (kind === "group") stack.push(id);
    }
  }
  return [...seen].map(([id, kind]) => ({ id, kind }));
}

/** The groups `direct` names and every group they are in, each once. */
export function enclosingGroups(groups: ReadonlyMap<string, GroupRec>, direct: Iterable<string>): string[] {
  const seen = new Set<string>();
  const stack = [...direct];
  while (stack.length) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const p of groups.get(id)?.parents ?? []) stack.push(p);
  }
  return [...seen];
}
