import Fastify, { type FastifyBaseLogger, type FastifyContextConfig, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import fastifyCookie from "@fastify/cookie";
import fastifyMultipart from "@fastify/multipart";
import fastifyRateLimit, { type CreateRateLimitOptions } from "@fastify/rate-limit";
import { z } from "zod";
import { RollcallError, invalidInput, listenProblem } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { bodyProblems } from "../core/context.ts";
import { ensureFirstAdmin } from "../core/accounts.ts";
import { actorOf, authenticate, authorizeWorkspace, requireOwner, requirePrincipal } from "./auth.ts";
import { answerClientError, sendError, toApiError } from "./errors.ts";
import { registerConsole } from "./console.ts";
import { apiPrefix, openApiDocument } from "./openapi.ts";
import { routeModules } from "./routes/index.ts";
import { servedAt, takesIfMatch, type Route, type RouteModule } from "./route.ts";
import { settleInbox } from "./notification-inbox.ts";
import { databaseRateLimitStore } from "./rate-limit-store.ts";
import { registerScim, scimPrefix } from "./scim.ts";
import { scimMediaType } from "../sources/scim/protocol.ts";

/** JSON bodies are small; file uploads go through multipart, which has its own limit (ROLLCALL_UPLOAD_LIMIT_MB). */
const jsonBodyLimit = 1024 * 1024;

export interface AppOptions {
  /** Extra route modules (tests); production modules are listed in `routes/index.ts`. */
  modules?: RouteModule[];
  /** Serve the console from this folder instead of `src/console/dist`. */
  consoleDist?: string;
}

export async function buildApp(rt: Runtime, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: rt.logger.child({}, { serializers: { req: requestForLog } }) as FastifyBaseLogger,
    bodyLimit: jsonBodyLimit,
    // X-Forwarded-For/-Proto count only when they come from a trusted proxy (by default on this host or a private network).
    trustProxy: rt.config.trustProxy,
    clientErrorHandler: answerClientError,
  });
  await app.register(fastifyCookie);
  // Counters in the database: processes sharing it behind a load balancer share the limits too.
  await app.register(fastifyRateLimit, { global: false, store: databaseRateLimitStore(rt.store.db), errorResponseBuilder: (_request, context) => rateLimited(context.ttl) });
  await app.register(fastifyMultipart, { limits: { fileSize: rt.config.uploadLimitBytes, files: 1 } });
  const limits = { bodyLimit: jsonBodyLimit };
  // Only JSON is accepted as a plain body; anything else is a clear 415 rather than a string.
  app.removeContentTypeParser("text/plain");
  // …but for no body at all: Microsoft Graph's validation request (routes/graph-notifications.ts) says text/plain.
  app.addContentTypeParser("text/plain", { parseAs: "string" }, (_request, body, done) =>
    body === "" ? done(null, undefined) : done(toApiError({ code: "FST_ERR_CTP_INVALID_MEDIA_TYPE" }, limits), undefined));
  // Many HTTP clients send Content-Type: application/json on every request: an empty body is no body
  // (a route that needs one says so), rather than a refused POST …/disable or DELETE.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(["application/json", scimMediaType], { parseAs: "string" }, (request, body, done) => (body === "" ? done(null, undefined) : json(request, body as string, done)));

  app.addHook("onSend", async (request, reply) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "same-origin");
    reply.header("x-frame-options", "DENY");
    // API answers hold directory data: never let a shared cache keep them (a route may say private itself: a user's photo).
    if ((request.url.startsWith(apiPrefix) || request.url.startsWith(scimPrefix)) && !reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    // A request still going when the server began to stop: its keep-alive connection would hold the stop for
    // Fastify's 72 s keepAliveTimeout (only connections idle at that moment are closed), so it ends with this answer.
    if (!request.server.server.listening) reply.header("connection", "close");
  });

  const metrics = rt.metrics;
  if (metrics) {
    // By the route's pattern, never the URL: ids and names in a path would make a series per user.
    app.addHook("onResponse", async (request, reply) => {
      metrics.requestAnswered({ route: request.routeOptions.url ?? "unmatched", method: request.method, status: reply.statusCode, seconds: reply.elapsedTime / 1000 });
    });
  }

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, limits));
  // Once the last request is answered: what Graph's webhook accepted is recorded before the database closes.
  app.addHook("onClose", async () => settleInbox(rt.store));

  const modules: RouteModule[] = [...routeModules, ...(options.modules ?? []), documentationModule(() => modules, rt)];
  for (const module of modules) for (const r of module.routes) registerRoute(app, rt, r);
  await registerScim(app, rt);

  const consoleFallback = await registerConsole(app, options.consoleDist);
  const methodsOf = routeMethods(modules);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    if ((request.method === "GET" || request.method === "HEAD") && !path.startsWith("/api/")) return consoleFallback(request, reply);
    // A route that exists with other methods: say which (RFC 9110 15.5.6), and answer OPTIONS with them.
    const allowed = methodsOf(path);
    if (allowed.length) {
      const allow = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
      if (request.method === "OPTIONS") return void reply.header("allow", allow).code(204).send();
      void reply.header("allow", allow);
      return sendError(new RollcallError("method_not_allowed", `${request.method} is not a method of ${path}; it takes ${allowed.join(", ")}`, { method: request.method, path, allowed }), request, reply, limits);
    }
    return sendError(new RollcallError("not_found", `There is no API route ${request.method} ${path}; see ${apiPrefix}/openapi.json`, { method: request.method, path }), request, reply, limits);
  });
  return app;
}

/** The methods each API route answers, looked up by a request's path (its parameters matching any one segment). */
function routeMethods(modules: RouteModule[]): (path: string) => string[] {
  const routes = modules.flatMap((m) => m.routes).map((r) => ({ method: r.method, pattern: new RegExp(`^${servedAt(r, apiPrefix).replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z]+/g, "[^/]+")}/?$`) }));
  return (path) => [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
}

/** Query parameters that carry credentials (the authorization code and state Microsoft sends to the sign-in callback). */
const secretParams = new Set(["code", "state", "client_state", "code_verifier", "id_token", "access_token", "token"]);

/** Fastify's request log entry, with the values of credential-bearing query parameters replaced. */
function requestForLog(request: FastifyRequest) {
  return { method: request.method, url: urlForLog(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort };
}

function urlForLog(url: string): string {
  const at = url.indexOf("?");
  if (at < 0) return url;
  const query = new URLSearchParams(url.slice(at + 1));
  const secret = [...new Set(query.keys())].filter((key) => secretParams.has(key.toLowerCase()));
  for (const key of secret) query.set(key, "redacted");
  return secret.length ? `${url.slice(0, at)}?${query.toString()}` : url;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Counters checked after `rateLimit` (which is one per route), each refusing with the same 429 when exceeded. */
    moreRateLimits?: CreateRateLimitOptions[];
  }
}

function rateLimited(ttlMs: number): RollcallError {
  const seconds = Math.ceil(ttlMs / 1000);
  const [count, unit] = seconds < 60 ? [seconds, "second"] : [Math.round(seconds / 60), "minute"];
  const after = `${count} ${unit}${count === 1 ? "" : "s"}`;
  return new RollcallError("rate_limited", `Too many attempts; try again in ${after}`, { retryAfter: after });
}

type Limiter = ReturnType<FastifyInstance["createRateLimit"]>;

async function enforce(limiters: Limiter[], request: FastifyRequest, reply: FastifyReply): Promise<void> {
  for (const limiter of limiters) {
    const limit = await limiter(request);
    if (limit.isAllowed || !limit.isExceeded) continue;
    reply.header("retry-after", limit.ttlInSeconds);
    throw rateLimited(limit.ttl);
  }
}

/** The chain every route runs: authenticate → authorise → validate → handler → validated response. */
function registerRoute(app: FastifyInstance, rt: Runtime, r: Route): void {
  const config: FastifyContextConfig = { ...(typeof r.config === "function" ? r.config(rt) : r.config), browserPage: r.browserPage ?? false };
  const limiters = (config.moreRateLimits ?? []).map((options) => app.createRateLimit(options));
  app.route({
    method: r.method,
    url: servedAt(r, apiPrefix),
    config,
    ...(r.quiet && { logLevel: "warn" }),
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const principal = r.access === "public" ? undefined : requirePrincipal(await authenticate(rt.store.db, request));
      if (r.access === "owner") requireOwner(principal!);
      const params = parse(r.params, request.params, "path");
      const query = parse(r.query, request.query, "query");
      // A handler that checks its body itself answers every field's problem at once (the schema documents it).
      const body = r.bodyCheckedByHandler ? parse(z.record(z.string(), z.unknown()), request.body, "body") : parse(r.body, request.body, "body");
      // Only well-formed requests count against these: a malformed one cannot guess anything.
      await enforce(limiters, request, reply);
      let workspaceAccess: Partial<Parameters<Route["handler"]>[0]> = {};
      if (r.access === "workspace") {
        const key = (request.params as { workspace?: string }).workspace ?? "";
        const { workspace, role } = await authorizeWorkspace(rt.store.db, principal!, key, r.method !== "GET");
        workspaceAccess = { ctx: { db: rt.store.db, workspace, actor: actorOf(principal!) }, role };
      }
      const ifMatch = takesIfMatch(r) ? request.headers["if-match"] : undefined;
      const result = await r.handler({ params, query, body, ifMatch, rt, request, reply, principal, ...workspaceAccess });
      // Browser flows (sign in with Microsoft) answer themselves with a redirect or a page.
      if (reply.sent) return reply;
      if (r.etag) reply.header("etag", r.etag.version(result));
      reply.status(r.status ?? 200);
      if (!r.response) return reply.send();
      const checked = r.response.safeParse(result);
      if (!checked.success) {
        throw new RollcallError("internal", `Response of ${r.method} ${r.url} did not match its schema`, { issues: checked.error.issues });
      }
      return reply.type("application/json").send(checked.data);
    },
  });
}

function parse(schema: Route["params"], value: unknown, where: "path" | "query" | "body"): unknown {
  if (!schema) return undefined;
  // PostgreSQL text cannot hold U+0000: refused here at its field, rather than failing in the database.
  const nul = nulFields(value, "").map((field) => ({ field: field || `(${where})`, message: "must not contain the NUL character (U+0000)", ...(where !== "body" && { in: where }) }));
  if (nul.length) throw invalidInput(nul);
  const result = schema.safeParse(value ?? undefined);
  if (result.success) return result.data;
  if (where === "body" && value === undefined) throw invalidInput([{ field: "(body)", message: "is missing: send a JSON object with Content-Type: application/json" }]);
  const problems = bodyProblems(result.error).map((p) => (where === "body" ? p : { ...p, field: p.field === "(body)" ? `(${where})` : p.field, in: where }));
  throw invalidInput(problems);
}

/** No request of this API nests deeper; a body that does is refused before anything walks it. */
const maxDepth = 32;

/** Where a string (or a key) holds U+0000, named as zod names fields: `customAttributes.office`, `aliases[1]`. */
function nulFields(value: unknown, path: string, depth = 0): string[] {
  if (typeof value === "string") return value.includes("\u0000") ? [path] : [];
  if (depth > maxDepth) throw invalidInput([{ field: path || "(body)", message: `nests deeper than ${maxDepth} levels, which no request of this API does` }]);
  if (Array.isArray(value)) return value.flatMap((v, i) => nulFields(v, `${path}[${i}]`, depth + 1));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => {
      const at = path ? `${path}.${k}` : k;
      return k.includes("\u0000") ? [at] : nulFields(v, at, depth + 1);
    });
  }
  return [];
}

function documentationModule(all: () => RouteModule[], rt: Runtime): RouteModule {
  let cached: Record<string, unknown> | undefined;
  return {
    tag: "Service",
    routes: [
      {
        method: "GET",
        url: "/openapi.json",
        summary: "This OpenAPI 3.1 document",
        access: "public",
        withoutDatabase: true,
        async handler() {
          cached ??= openApiDocument(all(), { serverUrl: rt.config.publicUrl });
          return cached;
        },
        response: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }),
      },
    ],
  };
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Listens, creates the first admin on an empty database (printing its generated password once,
 * to standard error and never to the log), and writes the URL into the data folder's lock file.
 */
export async function startServer(
  rt: Runtime,
  /** `beforeListen`: frees the port (the stand-in that answered on it while the database was awaited). */
  options: { host?: string | undefined; port?: number | undefined; print?: (text: string) => void; beforeListen?: (() => Promise<void>) | undefined } = {},
): Promise<RunningServer> {
  const print = options.print ?? ((text: string) => void process.stderr.write(text));
  const first = await ensureFirstAdmin(rt.store.db, { email: rt.config.adminEmail, password: rt.config.adminPassword });
  const app = await buildApp(rt);
  const host = options.host ?? rt.config.host, port = options.port ?? rt.config.port;
  await options.beforeListen?.();
  const address = await app.listen({ host, port }).catch(async (error: unknown) => {
    await app.close();
    throw listenProblem(error, { host, port, setting: "ROLLCALL_PORT" });
  });
  const url = rt.config.publicUrl?.replace(/\/$/, "") ?? address.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:");
  rt.store.announce(url);
  if (first) {
    const banner = first.password
      ? `\nCreated the first admin account.\n  email:    ${first.account.email}\n  password: ${first.password}\nThis password is shown only once. Sign in at ${url} and keep it somewhere safe ` +
        "(reset it with `rollcall admins reset-password`).\n\n"
      : `\nCreated the first admin account ${first.account.email} with the password from ROLLCALL_ADMIN_PASSWORD.\n\n`;
    print(banner);
  }
  return {
    url,
    app,
    close: () => app.close(),
  };
}
