// Graph v1.0 dispatcher: authentication, the per-(app, tenant) resource-unit budget, routing to the
// handlers, and $batch (which runs its items through the same path, each with its own status).
import type { Knobs, KnobDecision } from "../knobs.ts";
import { requestCost } from "../knobs.ts";
import type { Res } from "../http.ts";
import type { TenantRegistry } from "../registry.ts";
import type { Stats } from "../stats.ts";
import { endpointKey } from "../stats.ts";
import { NotFound } from "../tenant.ts";
import { GraphAuth, readsGroups, requirePermission, requireSelectedProperties, type Caller } from "./auth.ts";
import { delta } from "./delta.ts";
import { getDeletedItem, listDeletedItems, purgeDeletedItem, restoreDeletedItem, untypedDeletedItems } from "./deleted-items.ts";
import { getGroup, getUser, listGroups, listMemberOf, listMembers, listUsers, organization } from "./directory.ts";
import { getManager } from "./manager.ts";
import { badRequest, graphError, graphHeaders, GraphHttpError, newIds, notFound, type GraphCtxIds } from "./errors.ts";
import type { GraphReq } from "./query.ts";
import type { SigningKeys } from "../identity/keys.ts";
import { Subscriptions } from "./subscriptions.ts";
import { photoRoute, type PhotoAnswer } from "./photos.ts";

type Body = Record<string, unknown>;

export function throttleResponse(d: KnobDecision, ids: GraphCtxIds): Res {
  if (d.kind === "throttle") {
    return graphError(429, "TooManyRequests", "Too many requests. Please retry after the time given in the Retry-After header.", ids, { "retry-after": d.retryAfter });
  }
  if (d.kind === "fault" && d.status === 503) {
    return graphError(503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.", ids, d.retryAfter ? { "retry-after": d.retryAfter } : {});
  }
  return graphError(504, "gatewayTimeout", "The request timed out before the backend answered.", ids);
}

/**
 * `…/$count`: the number of objects the listing would give (its $filter/$search applied), as `text/plain`. Without
 * `ConsistencyLevel: eventual` the segment is an error: 400 Request_BadRequest "$count is not currently supported."
 * (the ?$count=true parameter is only ignored). [user-list "Get only a count of users"; aad-advanced-queries]
 */
function countOf(req: GraphReq, list: (r: GraphReq) => Body): { body: Body; text: string } {
  if ((req.headers["consistencylevel"] ?? "").toLowerCase() !== "eventual") throw badRequest("$count is not currently supported.", "Request_BadRequest");
  const query = new URLSearchParams(req.query);
  query.set("$count", "true");
  query.set("$top", "1");
  query.delete("$skiptoken");
  const body = list({ ...req, query });
  return { body, text: String(body["@odata.count"]) };
}

export class GraphService {
  readonly auth: GraphAuth;
  readonly subscriptions = new Subscriptions();
  get membersPerPage(): number { return this.knobs.deltaMembersPerPage; }
  set membersPerPage(n: number) { this.knobs.deltaMembersPerPage = n; }

  constructor(private registry: TenantRegistry, keys: SigningKeys, private knobs: Knobs, private stats: Stats) {
    this.auth = new GraphAuth(registry, keys);
  }

  /** One Graph request (top level or a $batch item). Never throws. */
  async handle(req: GraphReq, ids: GraphCtxIds, meta: { caller?: Caller } = {}): Promise<Res & { caller?: Caller }> {
    try {
      const caller = meta.caller ?? (await this.auth.authenticate(req.headers["authorization"], req.origin));
      if (req.method === "POST" && req.path === "/$batch") return { ...(await this.batch(req, ids, caller)), caller };
      const units = requestCost(req.method, req.path, req.query);
      const spent = this.knobs.spend(`${caller.clientId}|${caller.entry.id}`, units);
      const unitHeaders: Record<string, string> = { "x-ms-resource-unit": String(units) };
      if (spent.used !== undefined && spent.used > 0.8) unitHeaders["x-ms-throttle-limit-percentage"] = Math.min(1.8, spent.used).toFixed(1);
      if (spent.throttle) {
        const res = throttleResponse(spent.throttle, ids);
        Object.assign(res.headers, unitHeaders, {
          "x-ms-throttle-scope": `Tenant_Application/Read/${caller.clientId}/${caller.entry.id}`,
          "x-ms-throttle-information": "ResourceUnitLimitExceeded",
        });
        return { ...res, caller };
      }
      if (/^\/subscriptions(\/|$)/.test(req.path)) {
        const answer = await this.subscriptions.handle(req, caller);
        return { status: answer.status, headers: graphHeaders(ids, unitHeaders), body: answer.body === undefined ? "" : JSON.stringify(answer.body), caller };
      }
      // Deleted items 30 days old are gone before Graph answers anything (recycle-bin.ts).
      caller.entry.purgeDeletedItems();
      const r = this.route(req, caller);
      if ("binary" in r) return { status: 200, headers: graphHeaders(ids, { ...unitHeaders, ...r.headers }), body: r.binary, caller };
      if (r.noContent) return { status: 204, headers: graphHeaders(ids, unitHeaders), body: "", caller };
      if (r.text !== undefined) return { status: 200, headers: graphHeaders(ids, { ...unitHeaders, "content-type": "text/plain" }), body: r.text, caller };
      return { status: 200, headers: graphHeaders(ids, { ...unitHeaders, ...r.headers }), body: JSON.stringify(r.body), caller };
    } catch (e) {
      if (e instanceof GraphHttpError) return graphError(e.status, e.code, e.message, ids, e.headers);
      if (e instanceof NotFound) return graphError(404, "Request_ResourceNotFound", e.message, ids);
      return graphError(500, "generalException", `An unexpected error occurred: ${(e as Error).message}`, ids);
    }
  }

  private route(req: GraphReq, c: Caller): { body: Body; headers?: Record<string, string>; text?: string; noContent?: true } | Extract<PhotoAnswer, { binary: Buffer }> {
    const [first, second] = req.path.split("/").filter(Boolean);
    if (first === "users" && second && decodeURIComponent(second).startsWith("$") && second !== "$count") {
      throw new GraphHttpError(400, "BadRequest", `Resource not found for the segment '${decodeURIComponent(second)}'.`);
    }
    const all = keyInParentheses(req.path).split("/").filter(Boolean);
    // A trailing /$count segment: the same listing, answered as its count.
    const counting = all.length > 1 && all[all.length - 1] === "$count";
    const seg = counting ? all.slice(0, -1) : all;
    const list = (body: (r: GraphReq) => Body) => (counting ? countOf(req, body) : { body: body(req) });
    const e = c.entry;
    const [a0, b0, id0, d0] = seg;
    if (a0 === "directory" && b0?.toLowerCase() === "deleteditems" && id0 && !counting && !id0.toLowerCase().startsWith("microsoft.graph.")) {
      if (req.method === "POST" && d0 === "restore" && seg.length === 4) return { body: restoreDeletedItem(req, e, c, id0) };
      if (req.method === "DELETE" && seg.length === 3) { purgeDeletedItem(e, c, id0); return { body: {}, noContent: true }; }
    }
    if (req.method !== "GET") throw new GraphHttpError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    const [a, b, cc, d] = seg;
    if (a === "users") {
      if (b === undefined) { requirePermission(c, "users"); requireSelectedProperties(c, req.query.get("$select")); return list((r) => listUsers(r, e)); }
      if ((b === "delta" || b === "microsoft.graph.delta" || b === "microsoft.graph.delta()") && cc === undefined && !counting) {
        requirePermission(c, "users");
        return delta(req, e, "users", { pageSize: 200, membersPerPage: this.membersPerPage, emptyPages: this.knobs.deltaEmptyPages, linkError: this.knobs.deltaLinkError });
      }
      if (cc === undefined && !counting) { requirePermission(c, "users"); requireSelectedProperties(c, req.query.get("$select")); return { body: getUser(req, e, b) }; }
      if ((cc === "photo" || cc === "photos") && !counting) return photoRoute(req, e, c, b, seg.slice(2), false);
      if (cc === "manager" && seg.length === 3 && !counting) { requirePermission(c, "users"); return { body: getManager(req, e, b) }; }
      if ((cc === "memberOf" || cc === "transitiveMemberOf") && seg.length <= 4) {
        requirePermission(c, "memberOf");
        return list((r) => listMemberOf(r, e, b, cc === "transitiveMemberOf", d, `/users/${b}`, !readsGroups(c)));
      }
    }
    if (a === "groups") {
      if (b === undefined) { requirePermission(c, "groups"); return list((r) => listGroups(r, e)); }
      if ((b === "delta" || b === "microsoft.graph.delta" || b === "microsoft.graph.delta()") && cc === undefined && !counting) {
        requirePermission(c, "groups");
        return delta(req, e, "groups", { pageSize: 100, membersPerPage: this.membersPerPage, emptyPages: this.knobs.deltaEmptyPages, linkError: this.knobs.deltaLinkError });
      }
      if (cc === undefined && !counting) { requirePermission(c, "groups"); return { body: getGroup(req, e, b) }; }
      if ((cc === "members" || cc === "transitiveMembers") && seg.length <= 4) {
        requirePermission(c, "members");
        return list((r) => listMembers(r, e, b, cc === "transitiveMembers", d));
      }
    }
    if (a === "me") {
      if (c.kind !== "user") throw badRequest("/me request is only valid with delegated authentication flow.", "BadRequest");
      requirePermission(c, "me");
      if (b === undefined && !counting) return { body: getUser(req, e, c.userId as string) };
      if ((b === "photo" || b === "photos") && !counting) return photoRoute(req, e, c, c.userId as string, seg.slice(1), true);
      if (b === "manager" && cc === undefined && !counting) return { body: getManager(req, e, c.userId as string) };
      if (b === "memberOf" || b === "transitiveMemberOf") return list((r) => listMemberOf(r, e, c.userId as string, b === "transitiveMemberOf", cc, "/me", !readsGroups(c)));
    }
    if (a === "directory" && b?.toLowerCase() === "deleteditems" && d === undefined) {
      if (cc === undefined) throw untypedDeletedItems();
      if (cc.toLowerCase().startsWith("microsoft.graph.")) return list((r) => listDeletedItems(r, e, c, cc));
      if (!counting) return { body: getDeletedItem(req, e, c, cc) };
    }
    if (a === "organization" && b === undefined && !counting) return { body: organization(req, e) };
    if (a === "users" || a === "groups") throw notFound(seg.slice(1).join("/"));
    throw badRequest(`Resource not found for the segment '${a ?? ""}'.`, "BadRequest");
  }

  private async batch(req: GraphReq, ids: GraphCtxIds, caller: Caller): Promise<Res> {
    const body = req.body as { requests?: unknown } | undefined;
    const items = body && Array.isArray(body.requests) ? (body.requests as Array<Record<string, unknown>>) : null;
    if (!items) throw badRequest("Invalid batch payload format.", "BadRequest");
    if (items.length > 20) throw badRequest("The number of batch requests exceeds the limit of 20.", "BadRequest");
    const seen = new Set<string>();
    for (const it of items) {
      const id = String(it.id ?? "");
      if (!id || seen.has(id)) throw badRequest("Batch request ids must be present and unique.", "BadRequest");
      // id, method and url are required of every item (https://learn.microsoft.com/graph/json-batching).
      if (typeof it.method !== "string" || typeof it.url !== "string") throw badRequest("Invalid batch payload format.", "BadRequest");
      seen.add(id);
    }
    const results = new Map<string, { status: number }>();
    const responses: Body[] = [];
    for (const it of items) {
      const id = String(it.id);
      const method = String(it.method).toUpperCase();
      const rawUrl = String(it.url ?? "");
      const itemIds = newIds(ids.clientRequestId);
      const deps = Array.isArray(it.dependsOn) ? (it.dependsOn as string[]) : [];
      let res: Res;
      const failedDep = deps.find((d) => (results.get(d)?.status ?? 424) >= 400);
      if (/^https?:/i.test(rawUrl)) {
        res = graphError(400, "BadRequest", "Invalid request URL: batch items take relative URLs.", itemIds);
      } else if (failedDep !== undefined) {
        res = graphError(424, "FailedDependency", `Request ${id} depends on request ${failedDep}, which failed.`, itemIds);
      } else {
        const u = new URL(rawUrl.replace(/^\/?(v1\.0\/)?/, "/"), "https://batch.invalid");
        const headers: Record<string, string | undefined> = { ...req.headers };
        for (const [k, v] of Object.entries((it.headers as Record<string, string>) ?? {})) headers[k.toLowerCase()] = String(v);
        const sub: GraphReq = { method, path: decodeURIComponent(u.pathname), query: u.searchParams, headers, origin: req.origin, body: it.body };
        const started = Date.now();
        const random = this.knobs.random();
        if (random && random.kind !== "drop" && random.kind !== "cut") res = throttleResponse(random, itemIds);
        else if (sub.path === "/$batch") res = graphError(400, "BadRequest", "Nested batch requests are not supported.", itemIds);
        else res = await this.handle(sub, itemIds, { caller });
        this.stats.record({
          at: started, method, endpoint: endpointKey(method, `/v1.0${sub.path}`), url: rawUrl, status: res.status,
          outcome: res.status === 429 ? "throttled" : res.status >= 500 ? "fault" : res.status >= 400 ? "error" : "ok",
          tenantId: caller.entry.id, clientId: caller.clientId, durationMs: Date.now() - started, batchItem: true,
          retryAfter: res.headers["retry-after"],
        });
      }
      results.set(id, { status: res.status });
      // A body that is not JSON (a photo's bytes) is a base64 string, its Content-Type said in the item's headers.
      const binary = Buffer.isBuffer(res.body);
      const h: Record<string, string> = { "Content-Type": binary ? (res.headers["content-type"] ?? "application/octet-stream") : "application/json" };
      if (res.headers["retry-after"]) h["Retry-After"] = res.headers["retry-after"];
      if (res.headers["location"]) h["Location"] = res.headers["location"];
      const itemBody = binary ? (res.body as Buffer).toString("base64") : res.body ? JSON.parse(String(res.body)) : {};
      responses.push({ id, status: res.status, headers: h, body: itemBody });
    }
    return { status: 200, headers: graphHeaders(ids), body: JSON.stringify({ responses: outOfOrder(responses) }) };
  }
}

/**
 * "Responses to the batched requests might appear in a different order. The id property can be used to correlate
 * individual requests and responses." (https://learn.microsoft.com/graph/json-batching): never in the order asked, so
 * a client that pairs them by position fails here, not in production.
 */
function outOfOrder<T>(responses: T[]): T[] {
  const out = [...responses];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out.length > 1 && out.every((r, i) => r === responses[i]) ? [...out.slice(1), out[0] as T] : out;
}

/**
 * /users('$x@y.com')/… as /users/%24x%40y.com/…: the key-in-parentheses form Graph takes for a UPN that begins
 * with `$` (after a slash, OData reads `$` as a system segment). https://learn.microsoft.com/graph/api/user-get
 */
function keyInParentheses(path: string): string {
  return path.replace(/\/users\('((?:[^']|'')*)'\)/, (_, key: string) => `/users/${encodeURIComponent(decodeURIComponent(key).replace(/''/g, "'"))}`);
}
