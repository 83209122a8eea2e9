// The in-memory directory of one tenant: users and groups in creation-ordered arrays (stable paging
// positions, tombstones kept for delta), id/UPN maps, memberships with a per-group change log, and a
// monotonically increasing change sequence that delta tokens are cut from. The per-object records are in
// tenant-records.ts, the change tracking delta reads and its token lifecycle in delta-tracking.ts.
import { randomUUID } from "node:crypto";
import { blankContact, blankDevice, blankGroup, blankUser, graphNow } from "./blank-objects.ts";
import type { GraphContact, GraphDevice, GraphGroup, GraphUser, GroupInput, MemberKind, MemberRef, OtherMemberKind, UserInput } from "./directory-types.ts";
import { DeltaTokens, touch } from "./delta-tracking.ts";
import type { UserPhoto } from "./photos.ts";
import { ACTIVE, enclosingGroups, HARD_DELETED, nestedMembers, SOFT_DELETED, type GroupRec, type UserRec } from "./tenant-records.ts";

export class NotFound extends Error {}

/**
 * Whether Entra moves a deleted group to deleted items (restorable for 30 days) rather than deleting it for good:
 * Microsoft 365 groups and, since 2026 (MC1183299), cloud-only security groups; distribution groups, mail-enabled
 * security groups and groups synced from on-premises are still deleted at once.
 * https://learn.microsoft.com/graph/api/group-delete
 */
export function restorableWhenDeleted(g: GraphGroup): boolean {
  if (g.groupTypes.includes("Unified")) return true;
  return g.securityEnabled && !g.mailEnabled && g.onPremisesSyncEnabled !== true;
}

export class Tenant {
  users: UserRec[] = [];
  groups: GroupRec[] = [];
  usersById = new Map<string, UserRec>();
  usersByUpn = new Map<string, UserRec>();
  groupsById = new Map<string, GroupRec>();
  /** Directory objects groups can hold besides users and groups, by id, as Graph shows them. */
  others = new Map<string, { kind: OtherMemberKind; obj: Record<string, unknown> }>();
  seq = 0;
  memberships = 0;
  readonly delta = new DeltaTokens();
  /** Ids of the soft-deleted users and groups (deleted items), which Entra deletes for good 30 days on (recycle-bin.ts). */
  readonly bin = new Set<string>();
  /**
   * Directory extensions registered for users, by full name (`extension_{app ID without dashes}_{name}`): a user
   * carries a value as a property of that name, served only when `$select` names it, and only when set.
   * https://learn.microsoft.com/graph/extensibility-overview#directory-microsoft-entra-id-extensions
   */
  readonly userExtensions = new Set<string>();
  /** Users' profile photos, by user id (photos.ts): no change sequence, as Graph's delta query does not track them. */
  readonly photos = new Map<string, UserPhoto>();

  constructor(readonly id: string, readonly domain: string, readonly displayName: string) {}

  // ---- users ----
  userRec(idOrUpn: string, includeDeleted = false): UserRec | undefined {
    const r = this.usersById.get(idOrUpn) ?? this.usersByUpn.get(idOrUpn.toLowerCase());
    if (!r || r.state === HARD_DELETED || (r.state === SOFT_DELETED && !includeDeleted)) return undefined;
    return r;
  }
  requireUser(idOrUpn: string, includeDeleted = false): UserRec {
    const r = this.userRec(idOrUpn, includeDeleted);
    if (!r) throw new NotFound(`user ${idOrUpn} not found in tenant ${this.id}`);
    return r;
  }

  insertUser(u: GraphUser): UserRec {
    if (this.usersById.has(u.id)) throw new Error(`user id ${u.id} already exists`);
    const key = u.userPrincipalName.toLowerCase();
    if (this.usersByUpn.has(key)) throw new Error(`userPrincipalName ${u.userPrincipalName} already exists`);
    const seq = ++this.seq;
    const rec: UserRec = { u, pos: this.users.length, seq, born: seq, stateSeq: seq, state: ACTIVE, groups: new Set() };
    this.users.push(rec);
    this.usersById.set(u.id, rec);
    this.usersByUpn.set(key, rec);
    return rec;
  }

  createUser(input: UserInput = {}): GraphUser {
    const id = input.id ?? randomUUID();
    const upn = input.userPrincipalName ?? `user.${id.slice(0, 8)}@${this.domain}`;
    const u = blankUser(id, upn);
    this.applyUser(u, input);
    return this.insertUser(u).u;
  }

  private applyUser(u: GraphUser, patch: UserInput): void {
    for (const [k, v] of Object.entries(patch)) {
      if (k === "id" || v === undefined) continue;
      if (k === "onPremisesExtensionAttributes" && v && typeof v === "object") {
        u.onPremisesExtensionAttributes = { ...u.onPremisesExtensionAttributes, ...(v as Record<string, string | null>) } as GraphUser["onPremisesExtensionAttributes"];
      } else {
        u[k] = v;
      }
    }
  }

  updateUser(idOrUpn: string, patch: UserInput): GraphUser {
    const rec = this.requireUser(idOrUpn);
    if (patch.userPrincipalName && patch.userPrincipalName.toLowerCase() !== rec.u.userPrincipalName.toLowerCase()) {
      const key = patch.userPrincipalName.toLowerCase();
      if (this.usersByUpn.has(key)) throw new Error(`userPrincipalName ${patch.userPrincipalName} already exists`);
      this.usersByUpn.delete(rec.u.userPrincipalName.toLowerCase());
      this.usersByUpn.set(key, rec);
    }
    this.applyUser(rec.u, patch);
    rec.seq = ++this.seq;
    touch(rec, Object.keys(patch), rec.seq);
    return rec.u;
  }

  deleteUser(idOrUpn: string, permanent = false): void {
    const rec = this.usersById.get(idOrUpn) ?? this.usersByUpn.get(idOrUpn.toLowerCase());
    if (!rec || rec.state === HARD_DELETED || (rec.state === SOFT_DELETED && !permanent)) throw new NotFound(`user ${idOrUpn} not found in tenant ${this.id}`);
    if (rec.state === ACTIVE) {
      rec.restoreGroups = [...rec.groups];
      for (const gid of rec.restoreGroups) this.removeMember(gid, rec.u.id);
      for (const report of this.directReports(rec.u.id)) this.setManager(report.u.id, null);
    }
    rec.state = permanent ? HARD_DELETED : SOFT_DELETED;
    // A deleted user's name is free at once (deleted items show it prefixed with the object id: deleted-items.ts).
    if (this.usersByUpn.get(rec.u.userPrincipalName.toLowerCase()) === rec) this.usersByUpn.delete(rec.u.userPrincipalName.toLowerCase());
    if (permanent) this.bin.delete(rec.u.id);
    else this.bin.add(rec.u.id);
    rec.u.deletedDateTime = graphNow();
    rec.seq = rec.stateSeq = ++this.seq;
  }

  restoreUser(id: string): GraphUser {
    const rec = this.usersById.get(id);
    if (!rec || rec.state !== SOFT_DELETED) throw new NotFound(`deleted user ${id} not found in tenant ${this.id}`);
    const key = rec.u.userPrincipalName.toLowerCase();
    if (this.usersByUpn.has(key)) throw new Error(`userPrincipalName ${rec.u.userPrincipalName} already exists: another user took it after ${id} was deleted`);
    this.usersByUpn.set(key, rec);
    rec.state = ACTIVE;
    this.bin.delete(id);
    rec.u.deletedDateTime = null;
    rec.seq = rec.stateSeq = ++this.seq;
    for (const gid of rec.restoreGroups ?? []) if (this.groupsById.get(gid)?.state === ACTIVE) this.addMember(gid, id);
    rec.restoreGroups = undefined;
    // Its own manager link comes back with it (if that manager is still there); its reports lost theirs for good.
    if (rec.manager && !this.userRec(rec.manager)) this.setManager(id, null);
    return rec.u;
  }

  // ---- managers ----
  /** The user's manager, while both are active. */
  managerOf(rec: UserRec): UserRec | undefined {
    return rec.manager ? this.userRec(rec.manager) : undefined;
  }

  /** Assigns (or with null, removes) a user's manager: another active user of the tenant, never itself. */
  setManager(idOrUpn: string, managerIdOrUpn: string | null): UserRec {
    const rec = this.requireUser(idOrUpn);
    const mgr = managerIdOrUpn === null ? undefined : this.requireUser(managerIdOrUpn);
    if (mgr === rec) throw new Error(`user ${rec.u.id} cannot be their own manager`);
    if ((mgr?.u.id ?? undefined) === rec.manager) return rec;
    if (rec.manager) rec.lastManager = rec.manager;
    rec.manager = mgr?.u.id;
    rec.seq = ++this.seq;
    touch(rec, ["manager"], rec.seq);
    return rec;
  }

  /** The active users whose manager is `id`. */
  directReports(id: string): UserRec[] {
    return this.users.filter((r) => r.state === ACTIVE && r.manager === id);
  }

  // ---- groups ----
  groupRec(id: string, includeDeleted = false): GroupRec | undefined {
    const r = this.groupsById.get(id);
    if (!r || r.state === HARD_DELETED || (r.state === SOFT_DELETED && !includeDeleted)) return undefined;
    return r;
  }
  requireGroup(id: string): GroupRec {
    const r = this.groupRec(id);
    if (!r) throw new NotFound(`group ${id} not found in tenant ${this.id}`);
    return r;
  }

  insertGroup(g: GraphGroup): GroupRec {
    if (this.groupsById.has(g.id)) throw new Error(`group id ${g.id} already exists`);
    const seq = ++this.seq;
    const rec: GroupRec = { g, pos: this.groups.length, seq, born: seq, stateSeq: seq, state: ACTIVE, members: new Map(), log: [], parents: new Set() };
    this.groups.push(rec);
    this.groupsById.set(g.id, rec);
    return rec;
  }

  createGroup(input: GroupInput = {}): GraphGroup {
    const id = input.id ?? randomUUID();
    const g = blankGroup(id, input.displayName ?? `Group ${id.slice(0, 8)}`);
    for (const [k, v] of Object.entries(input)) if (k !== "id" && v !== undefined) g[k] = v;
    return this.insertGroup(g).g;
  }

  updateGroup(id: string, patch: GroupInput): GraphGroup {
    const rec = this.requireGroup(id);
    for (const [k, v] of Object.entries(patch)) if (k !== "id" && v !== undefined) rec.g[k] = v;
    rec.seq = ++this.seq;
    touch(rec, Object.keys(patch), rec.seq);
    return rec.g;
  }

  /** Soft unless `permanent` or a kind Entra deletes for good (restorableWhenDeleted); `permanent` also purges a soft-deleted one. */
  deleteGroup(id: string, permanent = false): void {
    const rec = this.groupsById.get(id);
    if (!rec || rec.state === HARD_DELETED || (rec.state === SOFT_DELETED && !permanent)) throw new NotFound(`group ${id} not found in tenant ${this.id}`);
    const soft = !permanent && restorableWhenDeleted(rec.g);
    rec.restore = soft ? { members: [...rec.members.keys()], parents: [...rec.parents] } : undefined;
    for (const pid of [...rec.parents]) this.removeMember(pid, id);
    for (const mid of [...rec.members.keys()]) this.removeMember(id, mid);
    rec.state = soft ? SOFT_DELETED : HARD_DELETED;
    if (soft) this.bin.add(id);
    else this.bin.delete(id);
    rec.g.deletedDateTime = graphNow();
    rec.seq = rec.stateSeq = ++this.seq;
  }

  /** Like a restore from deleted items: memberships come back, except with objects gone meanwhile (or that now would make a cycle). */
  restoreGroup(id: string): GraphGroup {
    const rec = this.groupsById.get(id);
    if (!rec || rec.state !== SOFT_DELETED) throw new NotFound(`deleted group ${id} not found in tenant ${this.id}`);
    rec.state = ACTIVE;
    this.bin.delete(id);
    rec.g.deletedDateTime = null;
    rec.seq = rec.stateSeq = ++this.seq;
    const { members, parents } = rec.restore ?? { members: [], parents: [] };
    rec.restore = undefined;
    for (const mid of members) if (this.memberKind(mid) && !this.wouldCycle(id, mid)) this.addMember(id, mid);
    for (const pid of parents) if (this.groupRec(pid) && !this.wouldCycle(pid, id)) this.addMember(pid, id);
    return rec.g;
  }

  private wouldCycle(groupId: string, memberId: string): boolean {
    return this.groupsById.has(memberId) && (memberId === groupId || this.transitiveMembers(memberId).some((m) => m.id === groupId));
  }

  createDevice(input: Partial<GraphDevice> = {}): GraphDevice {
    const d = blankDevice(input);
    this.others.set(d.id, { kind: "device", obj: d as unknown as Record<string, unknown> });
    return d;
  }

  createContact(input: Partial<GraphContact> = {}): GraphContact {
    const c = blankContact(input);
    this.others.set(c.id, { kind: "orgContact", obj: c as unknown as Record<string, unknown> });
    return c;
  }

  /** A service principal's directory object (TenantEntry keeps it in step with the app's consent here). */
  putServicePrincipal(obj: Record<string, unknown> & { id: string }): void {
    this.others.set(obj.id, { kind: "servicePrincipal", obj });
  }

  /** Deleting a directory object takes it out of every group it was in. */
  deleteOther(id: string): void {
    for (const g of this.groups) if (g.members.has(id)) this.removeMember(g.g.id, id);
    this.others.delete(id);
  }

  /** The object a member is, as Graph shows it; undefined once gone. */
  memberObject(id: string, kind: MemberKind): Record<string, unknown> | undefined {
    return kind === "user" ? this.userRec(id)?.u : kind === "group" ? this.groupRec(id)?.g : this.others.get(id)?.obj;
  }

  // ---- memberships ----
  memberKind(id: string): MemberKind | undefined {
    if (this.userRec(id)) return "user";
    if (this.groupRec(id)) return "group";
    return this.others.get(id)?.kind;
  }

  addMember(groupId: string, memberId: string): void {
    const g = this.requireGroup(groupId);
    const user = this.userRec(memberId);
    const kind: MemberKind | undefined = user ? "user" : this.groupRec(memberId) ? "group" : this.others.get(memberId)?.kind;
    if (!kind) throw new NotFound(`member ${memberId} not found in tenant ${this.id}`);
    if (g.members.has(memberId)) return;
    if (kind === "group" && this.wouldCycle(groupId, memberId)) {
      throw new Error("adding this group would create a membership cycle");
    }
    g.members.set(memberId, kind);
    const seq = ++this.seq;
    g.log.push({ id: memberId, kind, add: true, seq });
    g.seq = seq;
    if (user) user.groups.add(groupId);
    else if (kind === "group") this.groupsById.get(memberId)?.parents.add(groupId);
    this.memberships++;
  }

  removeMember(groupId: string, memberId: string): void {
    const g = this.groupsById.get(groupId);
    if (!g) throw new NotFound(`group ${groupId} not found in tenant ${this.id}`);
    const kind = g.members.get(memberId);
    if (!kind) throw new NotFound(`${memberId} is not a member of group ${groupId}`);
    g.members.delete(memberId);
    const seq = ++this.seq;
    g.log.push({ id: memberId, kind, add: false, seq });
    g.seq = seq;
    if (kind === "user") this.usersById.get(memberId)?.groups.delete(groupId);
    else if (kind === "group") this.groupsById.get(memberId)?.parents.delete(groupId);
    this.memberships--;
  }

  directMembers(groupId: string): MemberRef[] {
    return [...this.requireGroup(groupId).members].map(([id, kind]) => ({ id, kind }));
  }

  transitiveMembers(groupId: string): MemberRef[] {
    return nestedMembers(this.groupsById, groupId);
  }

  memberOf(memberId: string, transitive: boolean): string[] {
    const direct = this.usersById.get(memberId)?.groups ?? this.groupsById.get(memberId)?.parents;
    if (!direct) throw new NotFound(`object ${memberId} not found in tenant ${this.id}`);
    return transitive ? enclosingGroups(this.groupsById, direct) : [...direct];
  }
}
