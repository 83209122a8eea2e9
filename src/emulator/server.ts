// Wiring: one HTTPS port serving the identity platform (/{tenant}/…), Graph (/v1.0/…) and the
// control API (/_emulator/…), with knobs applied to Graph and every request recorded.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { control } from "./control.ts";
import { Provisioning } from "./provisioning.ts";
import { escapeHtml, html, isLoopback, json, type Req, type Res } from "./http.ts";
import { IdentityContext } from "./identity/context.ts";
import { adminConsentGet, adminConsentPost, authorizeGet, authorizePost, logout } from "./identity/authorize.ts";
import { SigningKeys } from "./identity/keys.ts";
import { instanceDiscovery, jwks, openIdConfiguration } from "./identity/metadata.ts";
import { tokenEndpoint } from "./identity/token.ts";
import { pairwiseSub } from "./identity/jwt.ts";
import { aadError } from "./identity/errors.ts";
import { GraphService, throttleResponse } from "./graph/service.ts";
import { graphError, newIds } from "./graph/errors.ts";
import { Knobs } from "./knobs.ts";
import { TenantRegistry } from "./registry.ts";
import { endpointKey, Stats } from "./stats.ts";
import { loadTls } from "./tls.ts";
import type { EmulatorOptions, KnobSettings, RunningEmulator } from "./types.ts";

const MAX_BODY = 4 * 1024 * 1024;
const sliceBytes = 64 * 1024;

export async function startServer(options: EmulatorOptions & { dataDir: string; demo?: boolean }): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  const seed = options.seed ?? 42;
  // Keys made on a first start are generated on the thread pool while the directory is generated on this thread.
  const pending = Promise.all([loadTls(options.dataDir, [host]), SigningKeys.load(options.dataDir)]);
  pending.catch(() => undefined);
  const registry = new TenantRegistry(seed);
  const first = registry.add({ users: options.users ?? 200, groups: options.groups ?? 20, demo: options.demo });
  const [tls, keys] = await pending;
  const knobs = new Knobs(seed);
  knobs.set({ latencyMs: options.latencyMs, throttleRate: options.throttleRate, faultRate: options.faultRate });
  const stats = new Stats();
  const identity = new IdentityContext(registry, keys);
  const graph = new GraphService(registry, keys, knobs, stats);
  registry.onChange = (tenantId, resource, id, change) => graph.subscriptions.changed(tenantId, resource, id, change);
  const provisioning = new Provisioning();
  const controlEnabled = options.controlApi ?? true;
  const setKnobs = (k: KnobSettings): void => {
    knobs.set(k);
    if (k.latencyMs !== undefined || k.batchLatencyMs !== undefined) rearmDelays();
    if (typeof k.deltaMembersPerPage === "number" && k.deltaMembersPerPage > 0) graph.membersPerPage = k.deltaMembersPerPage;
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      void serve(req, res, Buffer.concat(chunks)).catch((e: unknown) => {
        if (!res.headersSent) void send(res, json(500, { error: String((e as Error)?.message ?? e) }));
      });
    });
  };

  // The latency comes after the response is built: a real service answers each request on its own, while
  // this one's single thread would otherwise hold every answer due at the same time behind the biggest.
  // A latency changed while answers wait applies to them too (counted from when each began to wait): a test holds a
  // step with a long latency and lowers it to release what already waits, rather than racing to set it in time.
  type Waiting = { started: number; batch: boolean; timer?: NodeJS.Timeout; done: () => void };
  const waiting = new Set<Waiting>();
  const latencyOf = (batch: boolean) => knobs.latencyMs + (batch ? knobs.batchLatencyMs : 0);
  const arm = (w: Waiting) => {
    clearTimeout(w.timer);
    w.timer = setTimeout(w.done, Math.max(0, w.started + latencyOf(w.batch) - Date.now()));
  };
  const delay = (batch = false) => {
    if (latencyOf(batch) <= 0) return undefined;
    return new Promise<void>((resolve) => {
      const w: Waiting = { started: Date.now(), batch, done: () => { waiting.delete(w); resolve(); } };
      waiting.add(w);
      arm(w);
    });
  };
  function rearmDelays(): void {
    for (const w of waiting) arm(w);
  }

  async function serve(raw: IncomingMessage, res: ServerResponse, bodyBuf: Buffer): Promise<void> {
    const started = Date.now();
    const hostHeader = raw.headers.host ?? `localhost:${port}`;
    const origin = `https://${hostHeader}`;
    const rawUrl = raw.url ?? "/";
    const qi = rawUrl.indexOf("?");
    const path = qi >= 0 ? rawUrl.slice(0, qi) : rawUrl;
    const search = qi >= 0 ? rawUrl.slice(qi + 1) : "";
    const req: Req = {
      method: raw.method ?? "GET", path, query: new URLSearchParams(search), search, headers: raw.headers, body: bodyBuf,
      remoteAddress: raw.socket.remoteAddress ?? "", origin,
    };
    const isGraph = path.startsWith("/v1.0/") || path === "/v1.0" || path.startsWith("/beta/");
    const retryAttemptRaw = raw.headers["retry-attempt"];
    const retryAttempt = retryAttemptRaw !== undefined ? Number(retryAttemptRaw) : undefined;
    const clientRequestId = typeof raw.headers["client-request-id"] === "string" ? raw.headers["client-request-id"] : undefined;
    let out: Res;
    let outcome: "ok" | "error" | "throttled" | "fault" | "dropped" = "ok";
    let tenantId: string | undefined, clientId: string | undefined;
    if (path.startsWith("/_emulator")) {
      if (!controlEnabled || !isLoopback(req.remoteAddress)) out = json(404, { error: "not found" });
      else out = await control({ registry, knobs, stats, setKnobs, subscriptions: graph.subscriptions, provisioning }, req);
    } else if (isGraph) {
      const ids = newIds(clientRequestId);
      const decision = knobs.random();
      if (decision?.kind === "drop") {
        await delay();
        stats.record({ at: started, method: req.method, endpoint: endpointKey(req.method, path), url: rawUrl, status: 0, outcome: "dropped", retryAttempt, clientRequestId, durationMs: Date.now() - started });
        raw.socket.destroy();
        return;
      }
      if (decision && decision.kind !== "cut") {
        out = throttleResponse(decision, ids);
      } else if (path.startsWith("/beta/")) {
        out = graphError(400, "BadRequest", "The emulator serves Microsoft Graph v1.0 only.", ids);
      } else {
        let parsed: unknown;
        if (bodyBuf.length) {
          try { parsed = JSON.parse(bodyBuf.toString("utf8")); } catch { parsed = undefined; }
        }
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(raw.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
        const r = await graph.handle({ method: req.method, path: path.slice(5) || "/", query: req.query, headers, origin, body: parsed }, ids);
        out = decision?.kind === "cut" ? { ...r, cut: true } : r;
        tenantId = r.caller?.entry.id;
        clientId = r.caller?.clientId;
      }
    } else {
      out = await identityRoute(req);
    }
    if (!path.startsWith("/_emulator")) await delay(isGraph && req.method === "POST" && path === "/v1.0/$batch");
    if (out.cut) outcome = "dropped";
    else if (out.status === 429) outcome = "throttled";
    else if (out.status === 503 || out.status === 504) outcome = isGraph ? "fault" : "error";
    else if (out.status >= 400) outcome = "error";
    if (!path.startsWith("/_emulator")) {
      stats.record({
        at: started, method: req.method, endpoint: endpointKey(req.method, path), url: rawUrl, status: out.status, outcome,
        tenantId, clientId, retryAttempt: Number.isFinite(retryAttempt) ? retryAttempt : undefined, clientRequestId,
        retryAfter: out.headers["retry-after"], durationMs: Date.now() - started,
      });
    }
    await send(res, out);
  }

  async function identityRoute(req: Req): Promise<Res> {
    const seg = req.path.split("/").filter(Boolean).map((s) => decodeURIComponent(s));
    const m = req.method;
    const [t, a, b, c] = seg;
    if (m === "GET" && a === "discovery" && b === "instance") return instanceDiscovery(req);
    if (m === "GET" && a === "v2.0" && b === ".well-known" && c === "openid-configuration") return openIdConfiguration(identity, req, t as string);
    if (m === "GET" && a === "discovery" && (b === "v2.0" ? c === "keys" : b === "keys")) return jwks(identity, req, t as string);
    if (a === "oauth2" && b === "v2.0" && c === "token") {
      if (m !== "POST") return json(405, { error: "invalid_request", error_description: "The token endpoint only accepts POST." });
      if (knobs.tokenFault()) {
        const res = aadError(503, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.", req.origin);
        res.headers["retry-after"] = String(Math.max(1, Math.round(knobs.retryAfterSeconds)));
        return res;
      }
      return tokenEndpoint(identity, req, t as string);
    }
    if (a === "oauth2" && b === "v2.0" && c === "authorize") return m === "POST" ? authorizePost(identity, req) : authorizeGet(identity, req, t as string);
    if (a === "v2.0" && b === "adminconsent") return m === "POST" ? adminConsentPost(identity, req) : adminConsentGet(identity, req, t as string);
    if (a === "oauth2" && b === "v2.0" && c === "logout") return logout(identity, req, t as string);
    if (t === "oidc" && a === "userinfo" && seg.length === 2) return userinfo(req);
    if (t === "error" && seg.length === 1) return html(200, `<h1>Error ${escapeHtml(req.query.get("code") ?? "")}</h1><p>See Microsoft's AADSTS error code reference.</p>`);
    if (seg.length === 0) return json(200, { service: "Rollcall Entra ID emulator", graph: `${req.origin}/v1.0`, tenants: registry.list().map((x) => x.id) });
    return html(404, "<h1>404 - Not found</h1>");
  }

  /** OIDC UserInfo (Microsoft serves it on Graph): needs a delegated token with openid. */
  async function userinfo(req: Req): Promise<Res> {
    const ids = newIds(typeof req.headers["client-request-id"] === "string" ? req.headers["client-request-id"] : undefined);
    try {
      const auth = req.headers.authorization;
      const caller = await graph.auth.authenticate(Array.isArray(auth) ? auth[0] : auth, req.origin);
      const user = caller.userId ? caller.entry.tenant.userRec(caller.userId)?.u : undefined;
      if (!user || !caller.permissions.has("openid")) return graphError(401, "InvalidAuthenticationToken", "Access token validation failure: a delegated token with the openid scope is required.", ids);
      const body: Record<string, unknown> = { sub: pairwiseSub(caller.clientId, user.id), name: user.displayName, family_name: user.surname, given_name: user.givenName, picture: `${req.origin}/v1.0/me/photo/$value` };
      if (caller.permissions.has("email") && user.mail) body.email = user.mail;
      return json(200, body);
    } catch (e) {
      const err = e as { status?: number; code?: string; message: string; headers?: Record<string, string> };
      return graphError(err.status ?? 401, err.code ?? "InvalidAuthenticationToken", err.message, ids, err.headers ?? {});
    }
  }

  const servers: Server[] = [];
  const main = createServer({ key: tls.keyPem, cert: tls.certPem, keepAliveTimeout: 65_000 }, handler);
  servers.push(main);
  await new Promise<void>((resolve, reject) => {
    main.once("error", reject);
    main.listen(options.port ?? 0, host, () => { main.off("error", reject); resolve(); });
  });
  const port = (main.address() as { port: number }).port;
  if (host === "127.0.0.1") {
    // "localhost" may resolve to ::1 first: answer there too, on the same port, when IPv6 is available.
    const v6 = createServer({ key: tls.keyPem, cert: tls.certPem, keepAliveTimeout: 65_000 }, handler);
    await new Promise<void>((resolve) => {
      v6.once("error", () => resolve());
      v6.listen(port, "::1", () => { servers.push(v6); resolve(); });
    });
  }
  const urlHost = host === "127.0.0.1" || host === "0.0.0.0" || host === "::" || host === "::1" ? "localhost" : host;
  const base = `https://${urlHost}:${port}`;

  return {
    loginUrl: base,
    graphUrl: base,
    tenantId: first.id,
    clientId: first.defaultApp.clientId,
    clientSecret: first.defaultApp.clientSecret,
    caFile: tls.caFile,
    caPem: tls.caPem,
    tenants: registry,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    rotateSigningKeys: (options) => keys.rotate(options),
    subscriptions: {
      list: (tenantId) => graph.subscriptions.list(tenantId),
      lifecycle: (tenantId, id, event) => graph.subscriptions.lifecycle(tenantId, id, event),
      refuseNext: (tenantId, id, operation, error) => graph.subscriptions.refuseNext(tenantId, id, operation, error),
    },
    provisioning: { runCycle: (tenantId, options) => provisioning.runCycle(registry.get(tenantId), options) },
    setKnobs: (k) => setKnobs(k as KnobSettings),
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections?.();
      })));
    },
  };
}

/**
 * Big bodies go out in slices, the event loop turning between them: encrypting a page of 999 users in one
 * go would hold up every other answer due at the same time, which a real service sends independently.
 */
async function send(res: ServerResponse, out: Res): Promise<void> {
  if (out.drop) { res.socket?.destroy(); return; }
  const body = Buffer.from(out.body ?? "");
  const headers: Record<string, string | number> = { ...out.headers };
  headers["content-length"] = body.length;
  res.writeHead(out.status, headers);
  if (out.cut) {
    res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
    return;
  }
  let at = 0;
  for (; body.length - at > sliceBytes; at += sliceBytes) {
    res.write(body.subarray(at, at + sliceBytes));
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (res.destroyed) return;
  }
  res.end(body.subarray(at));
}
