// Public types of the Entra ID emulator: its options, the handles that change its tenants, its statistics and knobs.
// The directory objects are in ./directory-types.ts, app registrations in ./app-types.ts. Other packages import these through ./index.ts.
import type { AppCertificate, AppRegistrationInfo, AppRegistrationInput, AppSecret, GrantOptions, ServicePrincipalInfo } from "./app-types.ts";
import type { Delivery, LifecycleEvent, RefusableOperation, Subscription } from "./graph/subscriptions.ts";
import type { CycleOptions, CycleReport } from "./provisioning.ts";
import type { GraphContact, GraphDevice, GraphGroup, GraphUser, GroupInput, MemberKind, MemberRef, UserInput } from "./directory-types.ts";

export interface EmulatorOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  seed?: number;
  users?: number;
  groups?: number;
  latencyMs?: number;
  throttleRate?: number;
  faultRate?: number;
  controlApi?: boolean;
  quiet?: boolean;
}

export interface TenantState {
  id: string;
  domain: string;
  displayName: string;
  users: GraphUser[];
  deletedUsers: GraphUser[];
  groups: GraphGroup[];
  memberships: Array<{ groupId: string; memberId: string; kind: MemberKind }>;
  apps: ServicePrincipalInfo[];
}

/** Handle on one emulated tenant: what tests (and the control API) use to change it. */
export interface TenantHandle {
  readonly id: string;
  readonly domain: string;
  readonly displayName: string;
  /** The app registered in this tenant when it was created (all permissions, admin-consented). */
  readonly defaultApp: { clientId: string; clientSecret: string; secretId: string };

  listUsers(options?: { includeDeleted?: boolean }): GraphUser[];
  getUser(idOrUpn: string): GraphUser | undefined;
  createUser(input?: UserInput): GraphUser;
  updateUser(idOrUpn: string, patch: UserInput): GraphUser;
  /** Soft delete (restorable; delta says `@removed: changed`) or, with permanent, hard delete (`deleted`). */
  deleteUser(idOrUpn: string, options?: { permanent?: boolean }): void;
  /** A profile photo (`size` px square, default 240; `color` #rrggbb): served at /users/{id}/photo, a new media ETag each time. */
  setUserPhoto(idOrUpn: string, input?: { size?: number; color?: string }): { size: number; color: string; mediaEtag: string };
  removeUserPhoto(idOrUpn: string): void;
  getUserPhoto(idOrUpn: string): { size: number; color: string; mediaEtag: string } | undefined;
  restoreUser(id: string): GraphUser;
  setSignInEnabled(idOrUpn: string, enabled: boolean): GraphUser;
  /** Assigns the user's manager (another active user), or with null removes it; delta reports it as `manager@delta`. */
  setManager(idOrUpn: string, managerIdOrUpn: string | null): void;
  /** The user's manager, if it has one. */
  getManager(idOrUpn: string): GraphUser | undefined;
  /** The users whose manager this user is. */
  listDirectReports(idOrUpn: string): GraphUser[];
  /**
   * Registers a directory extension for users on an app (the tenant's default app unless `appId` is given) and returns
   * its full name, `extension_{appId without dashes}_{name}`: set values with `updateUser(id, { [fullName]: value })`.
   */
  defineUserExtension(name: string, options?: { appId?: string }): string;

  listGroups(): GraphGroup[];
  getGroup(id: string): GraphGroup | undefined;
  createGroup(input?: GroupInput): GraphGroup;
  updateGroup(id: string, patch: GroupInput): GraphGroup;
  /** Soft (`changed`) for Microsoft 365 and cloud-only security groups, else, or with permanent, hard (`deleted`). */
  deleteGroup(id: string, options?: { permanent?: boolean }): void;
  /** A soft-deleted group back, with the memberships (both ways) whose other end still exists. */
  restoreGroup(id: string): GraphGroup;
  /** Deleted items 30 days old or more are deleted for good (delta `@removed: deleted`); Graph requests do this first. */
  purgeDeletedItems(now?: number): { users: string[]; groups: string[] };
  /** The emulator's clock for deleted items: every deletion `days` earlier, then purges (returns) those 30 days old. */
  ageDeletedItems(days: number): { users: string[]; groups: string[] };
  /** A device, which can then be made a member of groups (`addMember`). */
  createDevice(input?: Partial<GraphDevice>): GraphDevice;
  /** An organizational contact, which can then be made a member of groups (`addMember`). */
  createContact(input?: Partial<GraphContact>): GraphContact;
  /** `memberId`: a user, group, device or contact id, or a service principal's object id (`servicePrincipal(clientId).id`). */
  addMember(groupId: string, memberId: string): void;
  removeMember(groupId: string, memberId: string): void;
  listMembers(groupId: string, options?: { transitive?: boolean }): MemberRef[];
  listMemberOf(memberId: string, options?: { transitive?: boolean }): string[];

  registerApp(input?: AppRegistrationInput): AppRegistrationInfo;
  getApp(clientId: string): AppRegistrationInfo | undefined;
  updateApp(clientId: string, patch: Partial<Pick<AppRegistrationInfo, "displayName" | "multiTenant" | "enabled" | "redirectUris" | "tokenLifetimeSeconds" | "optionalClaims" | "logoutUrl">>): AppRegistrationInfo;
  /** A new secret (value generated unless `secretText` is given). */
  addSecret(clientId: string, options?: { displayName?: string; expiresAt?: Date | string; expiresInDays?: number; secretText?: string }): AppSecret;
  removeSecret(clientId: string, keyId: string): void;
  /** Upload a certificate (PEM, public part): client assertions signed with its private key are accepted. */
  addCertificate(clientId: string, options: { certificatePem: string; displayName?: string }): AppCertificate;
  /** Make one secret (or all of the app's secrets) expired as of now. */
  expireSecret(clientId: string, keyId?: string): void;
  /** Admin consent of `clientId` in this tenant (creates its service principal; multi-tenant apps need it). */
  consentApp(clientId: string, options?: { appPermissions?: string[]; delegatedScopes?: string[] } & GrantOptions): ServicePrincipalInfo;
  /** Deletes the app's service principal in this tenant, and with it its group memberships. */
  removeApp(clientId: string): void;
  grantPermission(clientId: string, permission: string, options?: GrantOptions): void;
  revokePermission(clientId: string, permission: string): void;
  grantScope(clientId: string, scope: string, options?: GrantOptions): void;
  revokeScope(clientId: string, scope: string): void;
  servicePrincipal(clientId: string): ServicePrincipalInfo | undefined;

  /** Expire every delta/skip token issued so far: next use answers 400 `syncStateNotFound`. */
  expireDeltaTokens(): void;
  /** Like a tenant migration: outstanding tokens answer 410 Gone `resyncRequired` with a Location to restart. */
  resetDeltaTokens(): void;
  /**
   * Delta rounds send this user or group as several occurrences in a row, as Graph may ("a single entity will be
   * contained multiple times in the response"): each with its id and the properties of its part (those in no part go
   * with the last); a group's members@delta are shared out among them in order. null: one occurrence again.
   */
  splitInDelta(id: string, parts: string[][] | null): void;

  state(): TenantState;
  counts(): { users: number; deletedUsers: number; groups: number; memberships: number };
}

export interface AddTenantOptions {
  id?: string;
  domain?: string;
  displayName?: string;
  users?: number;
  groups?: number;
  seed?: number;
  /** Realistic-looking demo names (default false). */
  demo?: boolean;
}

export interface EmulatorTenants {
  get(idOrDomain: string): TenantHandle;
  find(idOrDomain: string): TenantHandle | undefined;
  list(): TenantHandle[];
  add(options?: AddTenantOptions): TenantHandle;
}

export interface RequestRecord {
  seq: number;
  at: number;
  method: string;
  endpoint: string;
  url: string;
  status: number;
  outcome: "ok" | "error" | "throttled" | "fault" | "dropped";
  tenantId?: string;
  clientId?: string;
  retryAttempt?: number;
  clientRequestId?: string;
  retryAfter?: string;
  durationMs: number;
  batchItem?: boolean;
}

export interface EmulatorStats {
  total: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  throttled: number;
  faulted: number;
  dropped: number;
  /** Most recent requests (bounded ring, newest last). */
  requests: RequestRecord[];
}

export interface KnobSettings {
  latencyMs?: number;
  throttleRate?: number;
  faultRate?: number;
  throttleBudget?: { unitsPer10s: number } | null;
  /** How Retry-After is written: integer seconds, fractional seconds, an HTTP date, or rotating. */
  retryAfterForm?: "seconds" | "fractional" | "http-date" | "mixed";
  /** Base Retry-After for random throttles and token-endpoint faults (seconds, default 1). */
  retryAfterSeconds?: number;
  /** Fraction of token-endpoint requests answered 503 temporarily_unavailable (AADSTS90033) with Retry-After. */
  tokenFaultRate?: number;
  /** members@delta entries per groups/delta page before a group continues on the next page (default 1000). */
  deltaMembersPerPage?: number;
  /** Delta sends an empty page (value [], a nextLink) before each page, as Graph may within a round (default false). */
  deltaEmptyPages?: boolean;
  /**
   * Answers every delta link (`on: "deltaLink"`, the default: a request with a `$deltatoken`) or every delta page
   * link (`"nextLink"`: a `$skiptoken`) of `kind` (default both) with this error, as Graph answers a token it no
   * longer honours with codes beyond the documented ones (400 `Directory_ExpiredPageToken`, say); null stops it.
   */
  deltaLinkError?: DeltaLinkError | null;
  /** Extra latency of each POST /$batch answer (ms, default 0), on top of `latencyMs`: holds a sync in its photo step. */
  batchLatencyMs?: number;
}

export interface DeltaLinkError { status: number; code: string; message?: string; on?: "deltaLink" | "nextLink"; kind?: "users" | "groups" }

export interface RunningEmulator {
  loginUrl: string;
  graphUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caFile: string;
  caPem: string;
  tenants: EmulatorTenants;
  stats(): EmulatorStats;
  resetStats(): void;
  /** Signing-key rollover: the published key signs from now on; `emergency`, a key not published before signs at once. */
  rotateSigningKeys(options?: { emergency?: boolean }): Promise<void>;
  /**
   * Change-notification subscriptions (/v1.0/subscriptions) of a tenant, each with the deliveries made to it and whether it
   * awaits reauthorization; a lifecycle event sent to one; Graph refusing the next reauthorization or renewal of one.
   */
  subscriptions: {
    list(tenantId: string): Array<Subscription & { reauthorizationRequired: boolean; deliveries: Delivery[] }>;
    lifecycle(tenantId: string, subscriptionId: string, event: LifecycleEvent): void;
    refuseNext(tenantId: string, subscriptionId: string, operation: RefusableOperation, error: { status: number; code: string; message: string }): void;
  };
  /** Entra ID's provisioning service: one cycle of a tenant to a SCIM endpoint (provisioning.ts). */
  provisioning: { runCycle(tenantId: string, options: CycleOptions): Promise<CycleReport> };
  setKnobs(k: Partial<Pick<EmulatorOptions, "latencyMs" | "throttleRate" | "faultRate">> & { throttleBudget?: { unitsPer10s: number } } & Omit<KnobSettings, "throttleBudget">): void;
  close(): Promise<void>;
}
