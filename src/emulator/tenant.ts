// The in-memory directory of one tenant: users and groups in creation-ordered arrays (stable paging
// positions, tombstones kept for delta), id/UPN maps, memberships with a per-group change log, and a
// monotonically increasing change sequence that delta tokens are cut from.
import { randomUUID } from "node:crypto";
import type { GraphContact, GraphDevice, GraphGroup, GraphUser, GroupInput, MemberKind, MemberRef, OtherMemberKind, UserInput } from "./types.ts";

export const ACTIVE = 0;
export const SOFT_DELETED = 1;
export const HARD_DELETED = 2;

/**
 * Change tracking per object: `seq` = last change of any kind, `born` = creation, `stateSeq` = last
 * delete/restore, `propSeq` = last change per property (delta tracks only the selected properties).
 */
interface Tracked { seq: number; born: number; stateSeq: number; propSeq?: Record<string, number> }
export interface UserRec extends Tracked { u: GraphUser; pos: number; state: number; groups: Set<string>; restoreGroups?: string[] }
export interface MemberEvent { id: string; kind: MemberKind; add: boolean; seq: number }
export interface GroupRec extends Tracked {
  g: GraphGroup; pos: number; state: number;
  members: Map<string, MemberKind>; log: MemberEvent[]; parents: Set<string>;
  /** While soft-deleted: its members and the groups it was in, which come back with it. */
  restore?: { members: string[]; parents: string[] };
}

export function emptyExtensionAttributes(): GraphUser["onPremisesExtensionAttributes"] {
  // A literal (not a loop) so every instance shares one hidden class: cheap to build and to serialise.
  return {
    extensionAttribute1: null, extensionAttribute2: null, extensionAttribute3: null, extensionAttribute4: null,
    extensionAttribute5: null, extensionAttribute6: null, extensionAttribute7: null, extensionAttribute8: null,
    extensionAttribute9: null, extensionAttribute10: null, extensionAttribute11: null, extensionAttribute12: null,
    extensionAttribute13: null, extensionAttribute14: null, extensionAttribute15: null,
  };
}

export function blankUser(id: string, upn: string, createdDateTime = new Date().toISOString().replace(/\.\d+Z$/, "Z")): GraphUser {
  return {
    id, userPrincipalName: upn, displayName: null, givenName: null, surname: null, mail: null, mailNickname: null,
    otherMails: [], proxyAddresses: [], mobilePhone: null, businessPhones: [], jobTitle: null, officeLocation: null,
    preferredLanguage: null, accountEnabled: true, department: null, companyName: null, employeeId: null,
    employeeType: null, userType: "Member", externalUserState: null, creationType: null, usageLocation: null,
    city: null, country: null, streetAddress: null, postalCode: null, state: null,
    createdDateTime, onPremisesSamAccountName: null,
    onPremisesImmutableId: null, onPremisesSyncEnabled: null, onPremisesExtensionAttributes: emptyExtensionAttributes(),
  };
}

export function blankGroup(id: string, name: string): GraphGroup {
  return {
    id, displayName: name, description: null, mail: null, mailEnabled: false,
    mailNickname: name.replace(/[^A-Za-z0-9]/g, "").slice(0, 60) || "group", securityEnabled: true, groupTypes: [],
    membershipRule: null, membershipRuleProcessingState: null, visibility: null,
    createdDateTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"), onPremisesSamAccountName: null, onPremisesSyncEnabled: null,
  };
}

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

function touch(rec: Tracked, keys: string[], seq: number): void {
  const p = (rec.propSeq ??= {});
  for (const k of keys) if (k !== "id") p[k] = seq;
}

/** Properties of `sel` changed after s0, or "all" when the object is new or came back since. */
export function changedSince(rec: Tracked, s0: number, sel: readonly string[]): string[] | "all" {
  if (rec.born > s0 || rec.stateSeq > s0) return "all";
  const p = rec.propSeq;
  if (!p) return [];
  return sel.filter((k) => (p[k] ?? 0) > s0);
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
  deltaEpoch = 1;
  /** Why each past epoch ended (used to answer stale tokens). */
  epochEndReasons = new Map<number, "syncStateNotFound" | "resyncRequired">();
  /** Objects delta sends as several occurrences in a round, by id: the properties of each (TenantHandle.splitInDelta). */
  deltaSplits = new Map<string, string[][]>();
  /**
   * Directory extensions registered for users, by full name (`extension_{app ID without dashes}_{name}`): a user
   * carries a value as a property of that name, served only when `$select` names it, and only when set.
   * https://learn.microsoft.com/graph/extensibility-overview#directory-microsoft-entra-id-extensions
   */
  readonly userExtensions = new Set<string>();

  /** Differs per process: tokens minted by an earlier emulator process answer like a tenant migration. */
  readonly instance = randomUUID().slice(0, 8);

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
    }
    rec.state = permanent ? HARD_DELETED : SOFT_DELETED;
    if (permanent) this.usersByUpn.delete(rec.u.userPrincipalName.toLowerCase());
    rec.seq = rec.stateSeq = ++this.seq;
  }

  restoreUser(id: string): GraphUser {
    const rec = this.usersById.get(id);
    if (!rec || rec.state !== SOFT_DELETED) throw new NotFound(`deleted user ${id} not found in tenant ${this.id}`);
    rec.state = ACTIVE;
    rec.seq = rec.stateSeq = ++this.seq;
    for (const gid of rec.restoreGroups ?? []) if (this.groupsById.get(gid)?.state === ACTIVE) this.addMember(gid, id);
    rec.restoreGroups = undefined;
    return rec.u;
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
    rec.seq = rec.stateSeq = ++this.seq;
  }

  /** Like a restore from deleted items: memberships come back, except with objects gone meanwhile (or that now would make a cycle). */
  restoreGroup(id: string): GraphGroup {
    const rec = this.groupsById.get(id);
    if (!rec || rec.state !== SOFT_DELETED) throw new NotFound(`deleted group ${id} not found in tenant ${this.id}`);
    rec.state = ACTIVE;
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
    const id = input.id ?? randomUUID();
    const d: GraphDevice = { accountEnabled: true, deviceId: randomUUID(), displayName: `DESKTOP-${id.slice(0, 7).toUpperCase()}`, operatingSystem: "Windows", operatingSystemVersion: "10.0.22631.4037", ...input, id };
    this.others.set(id, { kind: "device", obj: d as unknown as Record<string, unknown> });
    return d;
  }

  createContact(input: Partial<GraphContact> = {}): GraphContact {
    const id = input.id ?? randomUUID();
    const displayName = input.displayName ?? `Contact ${id.slice(0, 8)}`;
    const mail = input.mail === undefined ? `${displayName.replace(/[^A-Za-z0-9]/g, "").toLowerCase() || "contact"}@example.com` : input.mail;
    const c: GraphContact = {
      displayName, givenName: null, surname: null, mail, mailNickname: mail?.split("@")[0] ?? null, companyName: null, department: null,
      jobTitle: null, proxyAddresses: mail ? [`SMTP:${mail}`] : [], imAddresses: [],
      addresses: [{ city: null, countryOrRegion: null, officeLocation: null, postalCode: null, state: null, street: null }],
      phones: [{ number: null, type: "businessFax" }, { number: null, type: "mobile" }, { number: null, type: "business" }],
      onPremisesSyncEnabled: null, onPremisesLastSyncDateTime: null, onPremisesProvisioningErrors: [], deletedDateTime: null,
      ...input, id,
    };
    this.others.set(id, { kind: "orgContact", obj: c as unknown as Record<string, unknown> });
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
    if (kind === "group" && (memberId === groupId || this.transitiveMembers(memberId).some((m) => m.id === groupId))) {
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
    const seen = new Map<string, MemberKind>();
    const stack = [groupId];
    while (stack.length) {
      const g = this.groupsById.get(stack.pop() as string);
      if (!g) continue;
      for (const [id, kind] of g.members) {
        if (seen.has(id)) continue;
        seen.set(id, kind);
        if (kind === "group") stack.push(id);
      }
    }
    return [...seen].map(([id, kind]) => ({ id, kind }));
  }

  memberOf(memberId: string, transitive: boolean): string[] {
    const direct = this.usersById.get(memberId)?.groups ?? this.groupsById.get(memberId)?.parents;
    if (!direct) throw new NotFound(`object ${memberId} not found in tenant ${this.id}`);
    if (!transitive) return [...direct];
    const seen = new Set<string>();
    const stack = [...direct];
    while (stack.length) {
      const id = stack.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const p of this.groupsById.get(id)?.parents ?? []) stack.push(p);
    }
    return [...seen];
  }

  // ---- delta token lifecycle ----
  invalidateDelta(reason: "syncStateNotFound" | "resyncRequired"): void {
    this.epochEndReasons.set(this.deltaEpoch, reason);
    this.deltaEpoch++;
  }
}
