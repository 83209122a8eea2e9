// TenantHandle implementation: the directory (Tenant), plus this tenant's service principals
// (consented apps with their grants) on top of the cloud-wide app directory.
import { AppDirectory, DEFAULT_APP_PERMISSIONS, DEFAULT_DELEGATED_SCOPES, ServicePrincipal, type AppRegistration } from "./apps.ts";
import { NotFound, restorableWhenDeleted, type Tenant } from "./tenant.ts";
import { ACTIVE, HARD_DELETED, SOFT_DELETED } from "./tenant-records.ts";
import { backdateDeletedItems, expiredDeletedItems } from "./recycle-bin.ts";
import type { AppCertificate, AppRegistrationInfo, AppRegistrationInput, AppSecret, GrantOptions, ServicePrincipalInfo } from "./app-types.ts";
import type { GraphContact, GraphDevice, GraphGroup, GraphUser, GroupInput, MemberRef, UserInput } from "./directory-types.ts";
import type { TenantHandle, TenantState } from "./types.ts";
import { makePhoto, type PhotoInput, type UserPhoto } from "./photos.ts";

export interface PhotoInfo { size: number; color: string; mediaEtag: string }
function photoInfo(p: UserPhoto): PhotoInfo {
  return { size: p.px, color: `#${p.rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`, mediaEtag: p.etag };
}

/** A user or group changed through the handle (the control API and tests): its subscriptions are told (graph/subscriptions.ts). */
export type ChangeListener = (resource: "users" | "groups", id: string, change: "created" | "updated" | "deleted") => void;

export class TenantEntry implements TenantHandle {
  readonly sps = new Map<string, ServicePrincipal>();
  onChange: ChangeListener = () => undefined;
  defaultApp: { clientId: string; clientSecret: string; secretId: string } = { clientId: "", clientSecret: "", secretId: "" };

  constructor(readonly tenant: Tenant, readonly apps: AppDirectory) {}

  get id(): string { return this.tenant.id; }
  get domain(): string { return this.tenant.domain; }
  get displayName(): string { return this.tenant.displayName; }

  // ---- users ----
  listUsers(options: { includeDeleted?: boolean } = {}): GraphUser[] {
    return this.tenant.users.filter((r) => r.state === ACTIVE || (options.includeDeleted && r.state === SOFT_DELETED)).map((r) => r.u);
  }
  getUser(idOrUpn: string): GraphUser | undefined { return this.tenant.userRec(idOrUpn)?.u; }
  createUser(input?: UserInput): GraphUser { return this.told("users", this.tenant.createUser(input), "created"); }
  updateUser(idOrUpn: string, patch: UserInput): GraphUser { return this.told("users", this.tenant.updateUser(idOrUpn, patch), "updated"); }
  deleteUser(idOrUpn: string, options: { permanent?: boolean } = {}): void {
    const id = this.tenant.userRec(idOrUpn, true)?.u.id;
    this.tenant.deleteUser(idOrUpn, options.permanent ?? false);
    // A soft delete is an update to a subscription ("updated": the user moved to deleted items); only a hard one is "deleted".
    if (id) this.onChange("users", id, options.permanent ? "deleted" : "updated");
  }
  restoreUser(id: string): GraphUser { return this.told("users", this.tenant.restoreUser(id), "updated"); }
  /** Sets (or replaces: a new media ETag) a user's profile photo; nothing delta or change notifications report. */
  setUserPhoto(idOrUpn: string, input: PhotoInput = {}): PhotoInfo {
    const id = this.tenant.requireUser(idOrUpn).u.id;
    const photo = makePhoto(id, input);
    this.tenant.photos.set(id, photo);
    return photoInfo(photo);
  }
  removeUserPhoto(idOrUpn: string): void {
    this.tenant.photos.delete(this.tenant.requireUser(idOrUpn).u.id);
  }
  getUserPhoto(idOrUpn: string): PhotoInfo | undefined {
    const photo = this.tenant.photos.get(this.tenant.requireUser(idOrUpn).u.id);
    return photo && photoInfo(photo);
  }
  setSignInEnabled(idOrUpn: string, enabled: boolean): GraphUser { return this.updateUser(idOrUpn, { accountEnabled: enabled }); }
  setManager(idOrUpn: string, managerIdOrUpn: string | null): void { this.told("users", this.tenant.setManager(idOrUpn, managerIdOrUpn).u, "updated"); }
  getManager(idOrUpn: string): GraphUser | undefined { return this.tenant.managerOf(this.tenant.requireUser(idOrUpn))?.u; }
  listDirectReports(idOrUpn: string): GraphUser[] { return this.tenant.directReports(this.tenant.requireUser(idOrUpn).u.id).map((r) => r.u); }
  private told<T extends { id: string }>(resource: "users" | "groups", object: T, change: "created" | "updated"): T {
    this.onChange(resource, object.id, change);
    return object;
  }
  defineUserExtension(name: string, options: { appId?: string } = {}): string {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`directory extension name ${JSON.stringify(name)}: letters, digits and _ only`);
    const full = `extension_${(options.appId ?? this.defaultApp.clientId).replace(/-/g, "").toLowerCase()}_${name}`;
    this.tenant.userExtensions.add(full);
    return full;
  }

  // ---- groups ----
  listGroups(): GraphGroup[] { return this.tenant.groups.filter((r) => r.state === ACTIVE).map((r) => r.g); }
  getGroup(id: string): GraphGroup | undefined { return this.tenant.groupRec(id)?.g; }
  createGroup(input?: GroupInput): GraphGroup { return this.told("groups", this.tenant.createGroup(input), "created"); }
  updateGroup(id: string, patch: GroupInput): GraphGroup { return this.told("groups", this.tenant.updateGroup(id, patch), "updated"); }
  deleteGroup(id: string, options: { permanent?: boolean } = {}): void {
    const soft = !options.permanent && this.tenant.groupRec(id) !== undefined && restorableWhenDeleted(this.tenant.groupRec(id)!.g);
    this.tenant.deleteGroup(id, options.permanent ?? false);
    this.onChange("groups", id, soft ? "updated" : "deleted");
  }
  restoreGroup(id: string): GraphGroup { return this.told("groups", this.tenant.restoreGroup(id), "updated"); }

  // ---- deleted items (recycle-bin.ts) ----
  /** Deletes for good the users and groups deleted 30 days ago or more; Graph does this before it answers anything. */
  purgeDeletedItems(now = Date.now()): { users: string[]; groups: string[] } {
    const expired = expiredDeletedItems(this.tenant, now);
    for (const id of expired.users) this.deleteUser(id, { permanent: true });
    for (const id of expired.groups) this.deleteGroup(id, { permanent: true });
    return expired;
  }
  /** As if `days` had passed for the deleted items: those now 30 days old or more are purged (returned). */
  ageDeletedItems(days: number): { users: string[]; groups: string[] } {
    backdateDeletedItems(this.tenant, days);
    return this.purgeDeletedItems();
  }
  createDevice(input?: Partial<GraphDevice>): GraphDevice { return this.tenant.createDevice(input); }
  createContact(input?: Partial<GraphContact>): GraphContact { return this.tenant.createContact(input); }
  addMember(groupId: string, memberId: string): void {
    this.tenant.addMember(groupId, memberId);
    this.onChange("groups", groupId, "updated");
  }
  removeMember(groupId: string, memberId: string): void {
    this.tenant.removeMember(groupId, memberId);
    this.onChange("groups", groupId, "updated");
  }
  listMembers(groupId: string, options: { transitive?: boolean } = {}): MemberRef[] {
    return options.transitive ? this.tenant.transitiveMembers(groupId) : this.tenant.directMembers(groupId);
  }
  listMemberOf(memberId: string, options: { transitive?: boolean } = {}): string[] {
    return this.tenant.memberOf(memberId, options.transitive ?? false);
  }

  // ---- apps ----
  private app(clientId: string): AppRegistration {
    const app = this.apps.get(clientId);
    if (!app) throw new NotFound(`app ${clientId} not found`);
    return app;
  }
  private sp(clientId: string): ServicePrincipal {
    const sp = this.sps.get(clientId);
    if (!sp) throw new NotFound(`app ${clientId} has no service principal (no consent) in tenant ${this.id}`);
    return sp;
  }
  registerApp(input: AppRegistrationInput = {}): AppRegistrationInfo {
    const app = this.apps.register(this.id, input);
    const sp = new ServicePrincipal(app.clientId, this.id);
    for (const p of input.appPermissions ?? DEFAULT_APP_PERMISSIONS) sp.grantRole(p);
    for (const s of input.delegatedScopes ?? DEFAULT_DELEGATED_SCOPES) sp.grantScope(s);
    this.addSp(sp);
    return app.info();
  }
  getApp(clientId: string): AppRegistrationInfo | undefined { return this.apps.get(clientId)?.info(); }
  updateApp(clientId: string, patch: Partial<Pick<AppRegistrationInfo, "displayName" | "multiTenant" | "enabled" | "redirectUris" | "tokenLifetimeSeconds" | "optionalClaims" | "logoutUrl">>): AppRegistrationInfo {
    const app = this.app(clientId);
    if (patch.displayName !== undefined) app.displayName = patch.displayName;
    if (patch.multiTenant !== undefined) app.multiTenant = patch.multiTenant;
    if (patch.enabled !== undefined) app.enabled = patch.enabled;
    if (patch.redirectUris !== undefined) app.redirectUris = [...patch.redirectUris];
    if (patch.tokenLifetimeSeconds !== undefined) app.tokenLifetimeSeconds = patch.tokenLifetimeSeconds;
    if (patch.optionalClaims !== undefined) app.optionalClaims = { idToken: (patch.optionalClaims.idToken ?? []).map((c) => ({ name: c.name })) };
    if (patch.logoutUrl !== undefined) app.logoutUrl = patch.logoutUrl;
    return app.info();
  }
  addSecret(clientId: string, options?: { displayName?: string; expiresAt?: Date | string; expiresInDays?: number; secretText?: string }): AppSecret {
    return { ...this.app(clientId).addSecret(options) };
  }
  addCertificate(clientId: string, options: { certificatePem: string; displayName?: string }): AppCertificate {
    return { ...this.app(clientId).addCertificate(options) };
  }
  removeSecret(clientId: string, keyId: string): void {
    const app = this.app(clientId);
    const before = app.secrets.length;
    app.secrets = app.secrets.filter((s) => s.keyId !== keyId);
    if (app.secrets.length === before) throw new NotFound(`secret ${keyId} not found on app ${clientId}`);
  }
  expireSecret(clientId: string, keyId?: string): void {
    const past = new Date(Date.now() - 1000).toISOString();
    let hit = false;
    for (const s of this.app(clientId).secrets) if (!keyId || s.keyId === keyId) { s.endDateTime = past; hit = true; }
    if (!hit) throw new NotFound(`secret ${keyId} not found on app ${clientId}`);
  }
  consentApp(clientId: string, options: { appPermissions?: string[]; delegatedScopes?: string[] } & GrantOptions = {}): ServicePrincipalInfo {
    this.app(clientId);
    const sp = this.sps.get(clientId) ?? new ServicePrincipal(clientId, this.id);
    for (const p of options.appPermissions ?? DEFAULT_APP_PERMISSIONS) if (!sp.appRoles.has(p)) sp.grantRole(p, options);
    for (const s of options.delegatedScopes ?? DEFAULT_DELEGATED_SCOPES) if (!sp.scopes.has(s)) sp.grantScope(s, options);
    if (!this.sps.has(clientId)) this.addSp(sp);
    return sp.info();
  }
  removeApp(clientId: string): void {
    const sp = this.sps.get(clientId);
    if (!sp) throw new NotFound(`app ${clientId} has no service principal in tenant ${this.id}`);
    this.sps.delete(clientId);
    this.tenant.deleteOther(sp.objectId);
  }
  /** A new service principal, also a directory object of the tenant (groups can hold it). */
  private addSp(sp: ServicePrincipal): void {
    const app = this.app(sp.clientId);
    this.sps.set(sp.clientId, sp);
    this.tenant.putServicePrincipal({
      id: sp.objectId, accountEnabled: true, appDisplayName: app.displayName, appId: app.clientId, appOwnerOrganizationId: app.homeTenantId,
      displayName: app.displayName, servicePrincipalNames: [app.clientId], servicePrincipalType: "Application",
      signInAudience: app.multiTenant ? "AzureADMultipleOrgs" : "AzureADMyOrg", tags: [],
    });
  }
  grantPermission(clientId: string, permission: string, options?: GrantOptions): void { this.sp(clientId).grantRole(permission, options); }
  revokePermission(clientId: string, permission: string): void { this.sp(clientId).appRoles.delete(permission); }
  grantScope(clientId: string, scope: string, options?: GrantOptions): void { this.sp(clientId).grantScope(scope, options); }
  revokeScope(clientId: string, scope: string): void { this.sp(clientId).scopes.delete(scope); }
  servicePrincipal(clientId: string): ServicePrincipalInfo | undefined { return this.sps.get(clientId)?.info(); }

  // ---- delta ----
  expireDeltaTokens(): void { this.tenant.delta.invalidate("syncStateNotFound"); }
  resetDeltaTokens(): void { this.tenant.delta.invalidate("resyncRequired"); }
  splitInDelta(id: string, parts: string[][] | null): void {
    if (parts && parts.length > 1) this.tenant.delta.splits.set(id, parts.map((p) => [...p]));
    else this.tenant.delta.splits.delete(id);
  }

  // ---- state ----
  state(): TenantState {
    const t = this.tenant;
    const memberships: TenantState["memberships"] = [];
    for (const g of t.groups) if (g.state === ACTIVE) for (const [memberId, kind] of g.members) memberships.push({ groupId: g.g.id, memberId, kind });
    return {
      id: t.id, domain: t.domain, displayName: t.displayName,
      users: this.listUsers(),
      deletedUsers: t.users.filter((r) => r.state === SOFT_DELETED).map((r) => r.u),
      groups: this.listGroups(),
      memberships,
      apps: [...this.sps.values()].map((sp) => sp.info()),
    };
  }
  counts(): { users: number; deletedUsers: number; groups: number; memberships: number } {
    let users = 0, deletedUsers = 0, groups = 0;
    for (const r of this.tenant.users) if (r.state === ACTIVE) users++; else if (r.state !== HARD_DELETED) deletedUsers++;
    for (const r of this.tenant.groups) if (r.state === ACTIVE) groups++;
    return { users, deletedUsers, groups, memberships: this.tenant.memberships };
  }
}
