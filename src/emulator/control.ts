// Control API under /_emulator (loopback callers only, and only when enabled): change tenants
// between syncs, manage apps/permissions/secrets, set knobs, read state and stats.
import { json, type Req, type Res } from "./http.ts";
import type { Knobs } from "./knobs.ts";
import type { TenantRegistry } from "./registry.ts";
import type { Stats } from "./stats.ts";
import { NotFound } from "./tenant.ts";
import type { KnobSettings } from "./types.ts";
import type { LifecycleEvent, Subscriptions } from "./graph/subscriptions.ts";
import type { CycleOptions, Provisioning } from "./provisioning.ts";

const lifecycleEvents = new Set(["reauthorizationRequired", "subscriptionRemoved", "missed"]);

type Json = Record<string, unknown>;

export interface ControlDeps {
  registry: TenantRegistry;
  knobs: Knobs;
  stats: Stats;
  setKnobs: (k: KnobSettings) => void;
  subscriptions: Subscriptions;
  provisioning: Provisioning;
}

function body(req: Req): Json {
  if (!req.body.length) return {};
  try {
    const v = JSON.parse(req.body.toString("utf8")) as unknown;
    return v && typeof v === "object" ? (v as Json) : {};
  } catch {
    throw new BadInput("request body is not JSON");
  }
}
class BadInput extends Error {}

export async function control(deps: ControlDeps, req: Req): Promise<Res> {
  try {
    return await route(deps, req);
  } catch (e) {
    if (e instanceof NotFound) return json(404, { error: e.message });
    return json(400, { error: (e as Error).message });
  }
}

function route(deps: ControlDeps, req: Req): Res | Promise<Res> {
  const seg = req.path.split("/").filter(Boolean).slice(1).map(decodeURIComponent); // drop "_emulator"
  const m = req.method;
  const [a, tid, kind, id, sub, subId] = seg;
  if (a === "health" && m === "GET") return json(200, { ok: true });
  if (a === "knobs") {
    if (m === "GET") return json(200, deps.knobs.settings());
    if (m === "PUT" || m === "PATCH" || m === "POST") { deps.setKnobs(body(req) as KnobSettings); return json(200, deps.knobs.settings()); }
  }
  if (a === "stats") {
    if (m === "GET") return json(200, deps.stats.snapshot());
    if (m === "DELETE") { deps.stats.reset(); return { status: 204, headers: {} }; }
  }
  if (a !== "tenants") return json(404, { error: `no control route ${m} ${req.path}` });
  const reg = deps.registry;
  if (tid === undefined) {
    if (m === "GET") return json(200, reg.list().map((t) => ({ id: t.id, domain: t.domain, displayName: t.displayName, counts: t.counts(), defaultApp: t.defaultApp })));
    if (m === "POST") { const t = reg.add(body(req)); return json(201, { id: t.id, domain: t.domain, displayName: t.displayName, counts: t.counts(), defaultApp: t.defaultApp }); }
  }
  const t = reg.find(tid ?? "");
  if (!t) throw new NotFound(`tenant ${tid} not found`);
  const b = (): Json => body(req);
  if (kind === undefined && m === "GET") return json(200, t.state());
  if (kind === "counts" && m === "GET") return json(200, t.counts());
  if (kind === "users") {
    if (id === undefined && m === "GET") return json(200, t.listUsers({ includeDeleted: req.query.get("includeDeleted") === "true" }));
    if (id === undefined && m === "POST") return json(201, t.createUser(b()));
    if (id !== undefined && sub === undefined) {
      if (m === "GET") { const u = t.getUser(id); return u ? json(200, u) : json(404, { error: `user ${id} not found` }); }
      if (m === "PATCH") return json(200, t.updateUser(id, b()));
      if (m === "DELETE") { t.deleteUser(id, { permanent: req.query.get("permanent") === "true" }); return { status: 204, headers: {} }; }
    }
    if (id !== undefined && sub === "restore" && m === "POST") return json(200, t.restoreUser(id));
    if (id !== undefined && sub === "photo") {
      if (m === "GET") { const p = t.getUserPhoto(id); return p ? json(200, p) : json(404, { error: `user ${id} has no photo` }); }
      if (m === "PUT") return json(200, t.setUserPhoto(id, b() as { size?: number; color?: string }));
      if (m === "DELETE") { t.removeUserPhoto(id); return { status: 204, headers: {} }; }
    }
    if (id !== undefined && sub === "manager") {
      if (m === "GET") { const mgr = t.getManager(id); return mgr ? json(200, mgr) : json(404, { error: `user ${id} has no manager` }); }
      if (m === "PUT") {
        const x = b().id;
        if (typeof x !== "string" || !x) throw new BadInput('body must be {"id": "<the manager\'s user id or userPrincipalName>"}');
        t.setManager(id, x);
        return { status: 204, headers: {} };
      }
      if (m === "DELETE") { t.setManager(id, null); return { status: 204, headers: {} }; }
    }
    if (id !== undefined && sub === "directReports" && m === "GET") return json(200, t.listDirectReports(id));
    if (id !== undefined && sub === "memberOf" && m === "GET") return json(200, t.listMemberOf(id, { transitive: req.query.get("transitive") === "true" }));
  }
  if (kind === "groups") {
    if (id === undefined && m === "GET") return json(200, t.listGroups());
    if (id === undefined && m === "POST") return json(201, t.createGroup(b()));
    if (id !== undefined && sub === undefined) {
      if (m === "GET") { const g = t.getGroup(id); return g ? json(200, g) : json(404, { error: `group ${id} not found` }); }
      if (m === "PATCH") return json(200, t.updateGroup(id, b()));
      if (m === "DELETE") { t.deleteGroup(id, { permanent: req.query.get("permanent") === "true" }); return { status: 204, headers: {} }; }
    }
    if (id !== undefined && sub === "restore" && m === "POST") return json(200, t.restoreGroup(id));
    if (id !== undefined && sub === "members") {
      if (m === "GET" && subId === undefined) return json(200, t.listMembers(id, { transitive: req.query.get("transitive") === "true" }));
      if (m === "POST" && subId === undefined) { t.addMember(id, String(b().id ?? "")); return { status: 204, headers: {} }; }
      if (m === "DELETE" && subId !== undefined) { t.removeMember(id, subId); return { status: 204, headers: {} }; }
    }
  }
  if (kind === "devices" && id === undefined && m === "POST") return json(201, t.createDevice(b()));
  if (kind === "contacts" && id === undefined && m === "POST") return json(201, t.createContact(b()));
  if (kind === "apps") {
    if (id === undefined && m === "POST") return json(201, t.registerApp(b()));
    if (id !== undefined) {
      if (sub === undefined && m === "GET") {
        const app = t.getApp(id);
        return app ? json(200, { ...app, servicePrincipal: t.servicePrincipal(id) ?? null }) : json(404, { error: `app ${id} not found` });
      }
      if (sub === undefined && m === "PATCH") return json(200, t.updateApp(id, b()));
      if (sub === "secrets" && subId === undefined && m === "POST") return json(201, t.addSecret(id, b()));
      if (sub === "certificates" && subId === undefined && m === "POST") { const x = b(); return json(201, t.addCertificate(id, { certificatePem: String(x.certificatePem ?? ""), ...(typeof x.displayName === "string" && { displayName: x.displayName }) })); }
      if (sub === "secrets" && subId === "expire" && m === "POST") { t.expireSecret(id, b().keyId as string | undefined); return { status: 204, headers: {} }; }
      if (sub === "secrets" && subId !== undefined && m === "DELETE") { t.removeSecret(id, subId); return { status: 204, headers: {} }; }
      if (sub === "consent" && m === "POST") return json(200, t.consentApp(id, b()));
      if (sub === "consent" && m === "DELETE") { t.removeApp(id); return { status: 204, headers: {} }; }
      if (sub === "permissions" && m === "POST") { const x = b(); t.grantPermission(id, String(x.permission), { delayMs: Number(x.delayMs ?? 0) }); return json(200, t.servicePrincipal(id)); }
      if (sub === "permissions" && subId !== undefined && m === "DELETE") { t.revokePermission(id, subId); return json(200, t.servicePrincipal(id)); }
      if (sub === "scopes" && m === "POST") { const x = b(); t.grantScope(id, String(x.scope), { delayMs: Number(x.delayMs ?? 0) }); return json(200, t.servicePrincipal(id)); }
      if (sub === "scopes" && subId !== undefined && m === "DELETE") { t.revokeScope(id, subId); return json(200, t.servicePrincipal(id)); }
    }
  }
  if (kind === "subscriptions") {
    if (id === undefined && m === "GET") return json(200, deps.subscriptions.list(t.id));
    if (id !== undefined && sub === "lifecycle" && m === "POST") {
      const event = String(b().event ?? "");
      if (!lifecycleEvents.has(event)) throw new BadInput(`event must be reauthorizationRequired, subscriptionRemoved or missed, not ${JSON.stringify(event)}`);
      deps.subscriptions.lifecycle(t.id, id, event as LifecycleEvent);
      return { status: 202, headers: {} };
    }
    if (id !== undefined && sub === "refusals" && m === "POST") {
      const x = b();
      if (x.operation !== "reauthorize" && x.operation !== "renew") throw new BadInput(`operation must be reauthorize or renew, not ${JSON.stringify(x.operation)}`);
      const status = Number(x.status ?? 400);
      if (!Number.isInteger(status) || status < 400 || status > 599) throw new BadInput(`status must be an HTTP error status (400 to 599), not ${JSON.stringify(x.status)}`);
      deps.subscriptions.refuseNext(t.id, id, x.operation, { status, code: String(x.code ?? "BadRequest"), message: String(x.message ?? "Refused by the emulator.") });
      return { status: 204, headers: {} };
    }
  }
  if (kind === "deletedItems" && id === "age" && m === "POST") {
    const days = b().days;
    if (typeof days !== "number" || !Number.isFinite(days) || days < 0) throw new BadInput(`days must be a number of days, 0 or more, not ${JSON.stringify(days)}`);
    return json(200, t.ageDeletedItems(days));
  }
  if (kind === "provisioning" && id === "cycles" && m === "POST") return provisioningCycle(deps, t.id, b());
  if (kind === "delta" && m === "POST") {
    if (id === "expire") { t.expireDeltaTokens(); return { status: 204, headers: {} }; }
    if (id === "reset") { t.resetDeltaTokens(); return { status: 204, headers: {} }; }
  }
  return json(404, { error: `no control route ${m} ${req.path}` });
}

/** Runs one cycle of the provisioning service to a SCIM endpoint; answers with what its provisioning logs would say. */
async function provisioningCycle(deps: ControlDeps, tenantId: string, x: Json): Promise<Res> {
  if (typeof x.tenantUrl !== "string" || !/^https?:\/\//.test(x.tenantUrl)) throw new BadInput("tenantUrl must be the SCIM endpoint's http(s) URL (the application's Tenant URL)");
  if (typeof x.secretToken !== "string" || x.secretToken === "") throw new BadInput("secretToken must be the SCIM endpoint's bearer token (the application's Secret Token)");
  const scope = x.scope ?? "all";
  const isIds = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((s) => typeof s === "string"));
  if (scope !== "all" && !(scope && typeof scope === "object" && isIds((scope as Json).users) && isIds((scope as Json).groups))) {
    throw new BadInput('scope must be "all" or {"users": [ids], "groups": [ids]} (the users and groups assigned to the application)');
  }
  if (x.externalId !== undefined && x.externalId !== "mailNickname" && x.externalId !== "objectId") throw new BadInput('externalId must be "mailNickname" (the default mapping) or "objectId" (the source attribute mapped to externalId)');
  const options: CycleOptions = { tenantUrl: x.tenantUrl, secretToken: x.secretToken, scope: scope as CycleOptions["scope"], restart: x.restart === true, scimCompliant: x.scimCompliant === true, externalId: x.externalId ?? "mailNickname" };
  return json(200, await deps.provisioning.runCycle(deps.registry.get(tenantId), options));
}
