// Entra ID's provisioning service (an enterprise app in Provisioning Mode Automatic) as a SCIM 2.0 client over real
// HTTP: cycles push a tenant's users and groups to a Tenant URL with a Secret Token, with Microsoft's default attribute
// mappings, request sequence and wire quirks ("Replace", "False"), keeping what it sent per target (its escrow), so
// an incremental cycle sends only what changed since.
import type { TenantEntry } from "./handle.ts";
import type { GraphUser } from "./directory-types.ts";

const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/**
 * Membership changes per group PATCH. Microsoft documents only that several go in one PATCH ("Support updating
 * multiple group memberships with a single PATCH", the gallery checklist), not how many: this is the emulator's.
 */
export const membersPerPatch = 50;
const maxAttempts = 5;
const maxRetryAfterSeconds = 60;

export interface CycleOptions {
  tenantUrl: string;
  secretToken: string;
  /** "all" (Sync all users and groups) or the users and groups assigned to the application. */
  scope?: "all" | { users?: string[]; groups?: string[] };
  /** "Restart provisioning": forget what was sent, so this cycle is an initial one. */
  restart?: boolean;
  /** The aadOptscim062020 flag: lower-case ops and real booleans in PATCH. */
  scimCompliant?: boolean;
  /** The source of externalId in the user mapping: mailNickname (Microsoft's default) or objectId (an admin's edit). */
  externalId?: "mailNickname" | "objectId";
}

/** One line of the provisioning logs. */
export interface ProvisioningLogEntry {
  objectType: "User" | "Group";
  sourceId: string;
  displayName: string | null;
  action: "Create" | "Update" | "Disable" | "Delete";
  status: "success" | "failure";
  targetId?: string;
  statusCode?: number;
  /** Like the logs' SystemForCrossDomainIdentityManagement… codes, with the endpoint's SCIM `detail` as the reason. */
  errorCode?: string;
  reason?: string;
}

export interface CycleReport {
  cycle: "initial" | "incremental";
  requests: number;
  counts: Record<ProvisioningLogEntry["action"], number> & { failed: number; unchanged: number };
  entries: ProvisioningLogEntry[];
}

/** A user as the default mapping sends it (null: empty in Entra ID). */
export interface UserImage {
  userName: string; active: boolean; displayName: string | null; givenName: string | null; familyName: string | null;
  email: string | null; title: string | null; preferredLanguage: string | null; mobile: string | null; workPhone: string | null;
  department: string | null; employeeNumber: string | null; externalId: string | null;
}
interface GroupImage { displayName: string; externalId: string; members: Set<string> }
interface Escrow<T> { targetId: string; image: T }
interface Job { users: Map<string, Escrow<UserImage>>; groups: Map<string, Escrow<GroupImage>> }

/** The default user mapping: userPrincipalName→userName, Switch([IsSoftDeleted]…)→active (a disabled account counts), … */
export function userImage(u: GraphUser, inScope: boolean, externalId: CycleOptions["externalId"] = "mailNickname"): UserImage {
  return {
    userName: u.userPrincipalName, active: inScope && u.accountEnabled, displayName: u.displayName, givenName: u.givenName,
    familyName: u.surname, email: u.mail, title: u.jobTitle, preferredLanguage: u.preferredLanguage, mobile: u.mobilePhone,
    workPhone: u.businessPhones[0] ?? null, department: u.department, employeeNumber: u.employeeId, externalId: externalId === "objectId" ? u.id : u.mailNickname,
  };
}

const userPaths: Record<keyof UserImage, string> = {
  userName: "userName", active: "active", displayName: "displayName", givenName: "name.givenName", familyName: "name.familyName",
  email: 'emails[type eq "work"].value', title: "title", preferredLanguage: "preferredLanguage", mobile: 'phoneNumbers[type eq "mobile"].value',
  workPhone: 'phoneNumbers[type eq "work"].value', department: `${enterprise}:department`, employeeNumber: `${enterprise}:employeeNumber`, externalId: "externalId",
};

/** What a SCIM endpoint holds, read back into the mapping's terms (to match an existing user on an initial cycle). */
function imageOfResource(r: Record<string, any>): UserImage {
  const typed = (list: unknown, type: string): string | null => (Array.isArray(list) ? list.find((x) => x?.type === type)?.value ?? null : null);
  const ext = (r[enterprise] ?? {}) as Record<string, unknown>;
  return {
    userName: String(r.userName ?? ""), active: r.active === true || String(r.active).toLowerCase() === "true", displayName: r.displayName ?? null,
    givenName: r.name?.givenName ?? null, familyName: r.name?.familyName ?? null, email: typed(r.emails, "work"), title: r.title ?? null,
    preferredLanguage: r.preferredLanguage ?? null, mobile: typed(r.phoneNumbers, "mobile"), workPhone: typed(r.phoneNumbers, "work"),
    department: (ext.department as string | undefined) ?? null, employeeNumber: (ext.employeeNumber as string | undefined) ?? null, externalId: r.externalId ?? null,
  };
}

/**
 * PATCH operations from what the target has to what the mapping says, in Entra ID's wire form unless scimCompliant.
 * An attribute emptied in Entra ID is not sent: "If an attribute is null on the user object, it is skipped" (Known
 * issues for provisioning), and clearing values is not supported for outbound provisioning (Clear attribute values).
 */
export function userOperations(from: UserImage, to: UserImage, scimCompliant: boolean): PatchOperation[] {
  const op = (name: "Add" | "Replace") => (scimCompliant ? name.toLowerCase() : name);
  const ops: Array<PatchOperation & { path: string }> = [];
  for (const key of Object.keys(userPaths) as Array<keyof UserImage>) {
    const [before, after] = [from[key], to[key]];
    if (before === after) continue;
    const path = userPaths[key];
    if (key === "active") ops.push({ op: op("Replace"), path, value: scimCompliant ? after : after ? "True" : "False" });
    else if (after !== null) ops.push({ op: op(before === null ? "Add" : "Replace"), path, value: after });
  }
  if (!scimCompliant) return ops;
  // With the flag, replaces of several attributes go as one operation without a path whose value holds them, those
  // of a value-filtered path apart (the Known issues page's "Requests to replace multiple attributes"); one alone
  // keeps its path (its "Requests made to disable users").
  const merged = ops.filter((o) => o.op === "replace" && !o.path.includes("["));
  if (merged.length < 2) return ops;
  return [...ops.filter((o) => !merged.includes(o)), { op: "replace", value: Object.fromEntries(merged.map((o) => [o.path, o.value])) }];
}

type PatchOperation = { op: string; path?: string; value?: unknown };

function userBody(i: UserImage): Record<string, unknown> {
  const phones = [i.workPhone && { type: "work", value: i.workPhone }, i.mobile && { type: "mobile", value: i.mobile }].filter(Boolean);
  const ext = { ...(i.department !== null && { department: i.department }), ...(i.employeeNumber !== null && { employeeNumber: i.employeeNumber }) };
  return {
    schemas: [userSchema, enterprise], ...(i.externalId !== null && { externalId: i.externalId }), userName: i.userName, active: i.active,
    ...(i.displayName !== null && { displayName: i.displayName }), ...(i.title !== null && { title: i.title }),
    ...(i.preferredLanguage !== null && { preferredLanguage: i.preferredLanguage }),
    ...(i.email !== null && { emails: [{ primary: true, type: "work", value: i.email }] }),
    name: { ...(i.givenName !== null && { givenName: i.givenName }), ...(i.familyName !== null && { familyName: i.familyName }) },
    ...(phones.length > 0 && { phoneNumbers: phones }), ...(Object.keys(ext).length > 0 && { [enterprise]: ext }), meta: { resourceType: "User" },
  };
}

type Answer = { status: number; body: any; reason?: string };

/** One target's HTTP: bearer token, SCIM media type, 429 Retry-After honoured, network failures as status 0. */
class ScimClient {
  requests = 0;
  constructor(private readonly base: string, private readonly token: string) {}

  async send(method: string, path: string, body?: unknown): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      this.requests++;
      let response: Response;
      try {
        response = await fetch(`${this.base}${path}`, {
          method, signal: AbortSignal.timeout(30_000),
          headers: { authorization: `Bearer ${this.token}`, accept: "application/scim+json", ...(body !== undefined && { "content-type": "application/scim+json" }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
      } catch (e) {
        return { status: 0, body: undefined, reason: `the request failed: ${(e as Error).message}` };
      }
      const text = await response.text();
      if (response.status === 429 && attempt < maxAttempts) {
        await new Promise((r) => setTimeout(r, retryAfterMs(response.headers.get("retry-after"))));
        continue;
      }
      let parsed: any;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
      return { status: response.status, body: parsed, ...(response.status >= 400 && { reason: typeof parsed?.detail === "string" ? parsed.detail : text.slice(0, 500) }) };
    }
  }
}

function retryAfterMs(header: string | null): number {
  const seconds = header === null ? 1 : /^\d+(\.\d+)?$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Math.min(maxRetryAfterSeconds, Math.max(0, Number.isFinite(seconds) ? seconds : 1)) * 1000;
}

const statusCodes: Record<number, string> = { 0: "ServiceUnreachable", 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests" };
const errorCodeOf = (status: number) => `SystemForCrossDomainIdentityManagement${statusCodes[status] ?? (status >= 500 ? "ServiceFailure" : "ServiceIncompatible")}`;
const quoted = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** The provisioning jobs of all tenants: one per tenant and Tenant URL, each with its escrow of what it sent. */
export class Provisioning {
  private readonly jobs = new Map<string, Job>();

  async runCycle(tenant: TenantEntry, options: CycleOptions): Promise<CycleReport> {
    const base = options.tenantUrl.replace(/\/+$/, "");
    const key = `${tenant.id} ${base}`;
    if (options.restart) this.jobs.delete(key);
    const job = this.jobs.get(key) ?? { users: new Map(), groups: new Map() };
    this.jobs.set(key, job);
    const cycle = new Cycle(tenant, job, new ScimClient(base, options.secretToken), options.scimCompliant ?? false, job.users.size + job.groups.size === 0 ? "initial" : "incremental", options.externalId);
    return cycle.run(options.scope ?? "all");
  }
}

class Cycle {
  private readonly entries: ProvisioningLogEntry[] = [];
  private unchanged = 0;

  constructor(private readonly tenant: TenantEntry, private readonly job: Job, private readonly scim: ScimClient, private readonly compliant: boolean, private readonly kind: CycleReport["cycle"], private readonly externalId: CycleOptions["externalId"] = "mailNickname") {}

  async run(scope: NonNullable<CycleOptions["scope"]>): Promise<CycleReport> {
    const assignedGroups = scope === "all" ? this.tenant.listGroups().map((g) => g.id) : (scope.groups ?? []).filter((id) => this.tenant.getGroup(id));
    const inScope = new Set(scope === "all"
      ? this.tenant.listUsers().map((u) => u.id)
      : [...(scope.users ?? []), ...assignedGroups.flatMap((g) => this.tenant.listMembers(g).filter((m) => m.kind === "user").map((m) => m.id))]);
    // Users first (created, updated, disabled when out of scope or soft-deleted), then groups and their members, then
    // deletions. A user disabled in Entra ID is not provisioned until enabled ("Provisioning a user that is disabled in
    // Microsoft Entra ID isn't supported", How provisioning works); one provisioned before is disabled at the target.
    for (const user of this.tenant.listUsers({ includeDeleted: true })) {
      const active = this.tenant.getUser(user.id) !== undefined && inScope.has(user.id);
      if ((active && user.accountEnabled) || this.job.users.has(user.id)) await this.user(user, active);
    }
    for (const groupId of assignedGroups) await this.group(groupId, inScope);
    for (const [groupId, sent] of [...this.job.groups]) {
      if (!assignedGroups.includes(groupId)) await this.remove("Group", groupId, sent, () => this.job.groups.delete(groupId));
    }
    const existing = new Set(this.tenant.listUsers({ includeDeleted: true }).map((u) => u.id));
    for (const [userId, sent] of [...this.job.users]) {
      if (!existing.has(userId)) await this.remove("User", userId, sent, () => this.job.users.delete(userId)); // hard-deleted
    }
    const count = (action: ProvisioningLogEntry["action"]) => this.entries.filter((e) => e.action === action && e.status === "success").length;
    return {
      cycle: this.kind, requests: this.scim.requests, entries: this.entries,
      counts: { Create: count("Create"), Update: count("Update"), Disable: count("Disable"), Delete: count("Delete"), failed: this.entries.filter((e) => e.status === "failure").length, unchanged: this.unchanged },
    };
  }

  private async user(user: GraphUser, active: boolean): Promise<void> {
    const wanted = userImage(user, active, this.externalId);
    let sent = this.job.users.get(user.id);
    if (!sent) {
      const found = await this.scim.send("GET", `/Users?filter=${encodeURIComponent(`userName eq ${quoted(user.userPrincipalName)}`)}`);
      if (found.status !== 200) return this.log({ objectType: "User", sourceId: user.id, displayName: user.displayName, action: "Create" }, found);
      const match = found.body?.Resources?.[0];
      if (!match) {
        const created = await this.scim.send("POST", "/Users", userBody(wanted));
        if (created.status === 201) this.job.users.set(user.id, { targetId: created.body.id, image: wanted });
        return this.log({ objectType: "User", sourceId: user.id, displayName: user.displayName, action: "Create", targetId: created.body?.id }, created);
      }
      sent = { targetId: match.id, image: imageOfResource(match) };
    }
    const operations = userOperations(sent.image, wanted, this.compliant);
    if (operations.length === 0) {
      this.job.users.set(user.id, sent);
      return void this.unchanged++;
    }
    const action = operations.length === 1 && sent.image.active && !wanted.active ? "Disable" : "Update";
    const patched = await this.scim.send("PATCH", `/Users/${sent.targetId}`, { schemas: [patchOp], Operations: operations });
    if (patched.status < 300) this.job.users.set(user.id, { targetId: sent.targetId, image: wanted });
    else if (patched.status === 404) this.job.users.delete(user.id); // gone at the target: looked up (and created) again next cycle
    this.log({ objectType: "User", sourceId: user.id, displayName: user.displayName, action, targetId: sent.targetId }, patched);
  }

  private async group(groupId: string, inScope: Set<string>): Promise<void> {
    const g = this.tenant.getGroup(groupId)!;
    const entry = { objectType: "Group" as const, sourceId: g.id, displayName: g.displayName };
    let sent = this.job.groups.get(g.id);
    if (!sent) {
      const found = await this.scim.send("GET", `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq ${quoted(g.displayName)}`)}`);
      if (found.status !== 200) return this.log({ ...entry, action: "Create" }, found);
      const match = found.body?.Resources?.[0];
      if (match) sent = { targetId: match.id, image: { displayName: match.displayName, externalId: match.externalId ?? "", members: new Set() } };
      else {
        const created = await this.scim.send("POST", "/Groups", { schemas: [groupSchema], externalId: g.id, displayName: g.displayName, members: [], meta: { resourceType: "Group" } });
        this.log({ ...entry, action: "Create", targetId: created.body?.id }, created);
        if (created.status !== 201) return;
        sent = { targetId: created.body.id, image: { displayName: g.displayName, externalId: g.id, members: new Set() } };
      }
      this.job.groups.set(g.id, sent);
    }
    const image = sent.image;
    const op = (name: "Add" | "Replace" | "Remove") => (this.compliant ? name.toLowerCase() : name);
    const renames = [
      ...(image.displayName !== g.displayName ? [{ op: op("Replace"), path: "displayName", value: g.displayName }] : []),
      ...(image.externalId !== g.id ? [{ op: op("Replace"), path: "externalId", value: g.id }] : []),
    ];
    // Members: the group's direct users that are in scope and provisioned; Entra ID provisions no nested groups.
    const wanted = new Set(this.tenant.listMembers(g.id).filter((m) => m.kind === "user" && inScope.has(m.id) && this.job.users.has(m.id)).map((m) => m.id));
    const adds = [...wanted].filter((id) => !image.members.has(id));
    const removes = [...image.members].filter((id) => !wanted.has(id));
    if (renames.length + adds.length + removes.length === 0) return void this.unchanged++;
    const failures: Answer[] = [];
    if (renames.length > 0) {
      const renamed = await this.scim.send("PATCH", `/Groups/${sent.targetId}`, { schemas: [patchOp], Operations: renames });
      if (renamed.status < 300) Object.assign(image, { displayName: g.displayName, externalId: g.id });
      else failures.push(renamed);
    }
    for (const [ids, name] of [[adds, "Add"], [removes, "Remove"]] as const) {
      for (let at = 0; at < ids.length; at += membersPerPatch) {
        const batch = ids.slice(at, at + membersPerPatch);
        const value = batch.map((id) => ({ value: (this.job.users.get(id) ?? { targetId: id }).targetId }));
        // With the flag, a member goes as `remove` of `members[value eq "…"]` (the Known issues page's "Requests to remove a group member").
        const operations = this.compliant && name === "Remove" ? value.map((m) => ({ op: "remove", path: `members[value eq ${quoted(m.value)}]` })) : [{ op: op(name), path: "members", value }];
        const answer = await this.scim.send("PATCH", `/Groups/${sent.targetId}`, { schemas: [patchOp], Operations: operations });
        if (answer.status >= 300) failures.push(answer);
        else for (const id of batch) name === "Add" ? image.members.add(id) : image.members.delete(id);
      }
    }
    this.log({ ...entry, action: "Update", targetId: sent.targetId }, failures[0] ?? { status: 204, body: undefined });
  }

  private async remove(objectType: "User" | "Group", sourceId: string, sent: Escrow<UserImage | GroupImage>, forget: () => void): Promise<void> {
    const answer = await this.scim.send("DELETE", `/${objectType}s/${sent.targetId}`);
    if (answer.status < 300 || answer.status === 404) forget();
    this.log({ objectType, sourceId, displayName: sent.image.displayName, action: "Delete", targetId: sent.targetId }, answer.status === 404 ? { status: 204, body: undefined } : answer);
  }

  private log(entry: Omit<ProvisioningLogEntry, "status">, answer: Answer): void {
    const failed = answer.status === 0 || answer.status >= 300;
    this.entries.push({
      ...entry, status: failed ? "failure" : "success",
      ...(failed && { statusCode: answer.status, errorCode: errorCodeOf(answer.status), reason: answer.reason ?? `HTTP ${answer.status}` }),
    });
  }
}
