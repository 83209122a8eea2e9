import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { RollcallError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { toApiError } from "./errors.ts";
import { authenticateScimToken } from "../core/scim-sources.ts";
import { createScimUser, deleteScimUser, listScimUsers, patchScimUser, replaceScimUser, scimContext, sourceUser, userLocation, userResource, type ScimContext } from "../core/scim-users.ts";
import { createScimGroup, deleteScimGroup, groupLocation, groupResource, listScimGroups, patchScimGroup, replaceScimGroup, sourceGroup } from "../core/scim-groups.ts";
import { listResponse, pageOf, scimErrorBody, scimInvalid, scimMediaType } from "../sources/scim/protocol.ts";
import { maxResults, resourceTypes, schemaDefinitions, serviceProviderConfig } from "../sources/scim/discovery.ts";
import { scimOpenApiDocument } from "./scim-openapi.ts";

/**
 * SCIM 2.0 (RFC 7644) at /scim/v2, for Entra ID's provisioning service: the Tenant URL and Secret Token of a SCIM
 * source (core/scim-sources.ts). The token alone says which workspace and source a request acts for. Errors are
 * SCIM's Error messages; everything else is the core's (core/scim-users.ts, core/scim-groups.ts).
 */
export const scimPrefix = "/scim/v2";

type Query = { filter?: string; startIndex?: string; count?: string; excludedAttributes?: string; attributes?: string };

/** The server the provisioning service reaches: ROLLCALL_PUBLIC_URL, else the one this request came to. */
export function baseUrlOf(rt: Runtime, request: FastifyRequest): string {
  return (rt.config.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, "");
}

const bearerToken = (request: FastifyRequest) => /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];

type Limiter = ReturnType<FastifyInstance["createRateLimit"]>;

/** The request's source, once its token is a SCIM source's and within the token's requests a minute. */
async function caller(rt: Runtime, request: FastifyRequest, reply: FastifyReply, limiter: Limiter | undefined): Promise<ScimContext> {
  const token = bearerToken(request);
  if (!token) throw new RollcallError("unauthenticated", "Send the SCIM source's secret token as Authorization: Bearer <token> (the Secret Token of the enterprise application's provisioning settings)");
  const found = await authenticateScimToken(rt.store.db, token);
  if (!found) throw new RollcallError("unauthenticated", "The secret token is not a SCIM source's, or a newer one replaced it: paste the source's current token in the Azure portal (`rollcall sources update NAME --new-scim-token` issues one)");
  // Counted once the token is known to be a source's: guessed tokens make no counters.
  const limit = await limiter?.(request);
  if (limit && !limit.isAllowed && limit.isExceeded) {
    void reply.header("retry-after", limit.ttlInSeconds);
    throw new RollcallError("rate_limited", `Too many requests with SCIM source "${found.source.name}"'s token: ${rt.config.scimRequestsPerMinute} a minute at most (ROLLCALL_SCIM_REQUESTS_PER_MINUTE); try again in ${limit.ttlInSeconds} seconds`, { retryAfter: limit.ttlInSeconds });
  }
  return scimContext(rt.store.db, found, baseUrlOf(rt, request));
}

/** A body that is no JSON, or in another media type, refused in SCIM's terms (RFC 7644 3.12 invalidSyntax). */
function bodyRefusal(error: unknown): RollcallError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "FST_ERR_CTP_INVALID_JSON_BODY") return scimInvalid("invalidSyntax", "The request body is not valid JSON: send the SCIM resource or PatchOp as application/scim+json");
  if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new RollcallError("unsupported_media_type", "Send the request body as application/scim+json (or application/json)");
  return undefined;
}

/** A POST or PUT body: a SCIM resource, a JSON object. */
function resource(body: unknown, what: "User" | "Group"): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw scimInvalid("invalidSyntax", `The request body must be a SCIM ${what} resource, a JSON object (schemas ["urn:ietf:params:scim:schemas:core:2.0:${what}"])`);
  return body;
}

/** The discovery resource with this id (any case), or a SCIM 404 listing the ids there are. */
function discovered<T extends { id: string }>(resources: T[], id: string, what: string): T {
  const found = resources.find((r) => r.id.toLowerCase() === id.toLowerCase());
  if (!found) throw new RollcallError("not_found", `There is no ${what} "${id}": this server has ${resources.map((r) => r.id).join(", ")}`, { resource: what, key: id });
  return found;
}

const send = (reply: FastifyReply, status: number, body?: unknown) => (body === undefined ? reply.status(status).send() : reply.status(status).type(scimMediaType).send(body));

/** excludedAttributes=members (Entra ID's group look-ups), or attributes naming others: the members are left out. */
const withMembers = (query: Query) => {
  const excluded = (query.excludedAttributes ?? "").split(",").map((a) => a.trim().toLowerCase());
  const only = query.attributes?.split(",").map((a) => a.trim().toLowerCase());
  return !excluded.includes("members") && (!only || only.includes("members"));
};

export async function registerScim(app: FastifyInstance, rt: Runtime): Promise<void> {
  // Per token, a fixed minute counted in the database (every process sharing it shares the count): a leaked token or
  // a runaway client cannot take the server from everyone else.
  const perMinute = rt.config.scimRequestsPerMinute;
  const limiter = perMinute > 0 ? app.createRateLimit({ max: perMinute, timeWindow: 60_000, keyGenerator: (request) => `scim|${bearerToken(request) ?? ""}` }) : undefined;
  await app.register(
    async (scim) => {
      scim.setErrorHandler((error, request, reply) => {
        let refused = bodyRefusal(error) ?? toApiError(error, { bodyLimit: 1024 * 1024 });
        if (refused.code === "internal") {
          request.log.error({ err: error }, "SCIM request failed");
          refused = new RollcallError("internal", `Something went wrong on the server; it has been logged (request ${request.id})`);
        }
        if (refused.status === 401) void reply.header("www-authenticate", 'Bearer realm="scim"');
        return send(reply, refused.status, scimErrorBody(refused));
      });
      scim.setNotFoundHandler((request, reply) =>
        send(reply, 404, scimErrorBody(new RollcallError("not_found", `There is no SCIM endpoint ${request.method} ${request.url.split("?")[0]}: this server has /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas (described at ${scimPrefix}/openapi.json)`))),
      );
      const base = (request: FastifyRequest) => `${baseUrlOf(rt, request)}${scimPrefix}`;

      // The document describes no one's data, and a client is generated from it before it has a token: public, as /api/v1's is.
      let document: unknown;
      scim.get("/openapi.json", async () => (document ??= scimOpenApiDocument({ serverUrl: rt.config.publicUrl ? `${rt.config.publicUrl.replace(/\/+$/, "")}${scimPrefix}` : scimPrefix })));

      // Discovery takes the token and counts against it like the rest: Entra ID's provisioning service sends its token
      // with each request (https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups),
      // and RFC 7644 4 leaves the discovery endpoints' authentication to the service provider.
      scim.get("/ServiceProviderConfig", async (request, reply) => {
        await caller(rt, request, reply, limiter);
        return send(reply, 200, serviceProviderConfig(base(request)));
      });
      scim.get("/ResourceTypes", async (request, reply) => {
        await caller(rt, request, reply, limiter);
        const types = resourceTypes(base(request));
        return send(reply, 200, listResponse(types, { total: types.length, startIndex: 1 }));
      });
      scim.get("/Schemas", async (request, reply) => {
        await caller(rt, request, reply, limiter);
        const schemas = schemaDefinitions(base(request));
        return send(reply, 200, listResponse(schemas, { total: schemas.length, startIndex: 1 }));
      });
      // Each one at its meta.location too (RFC 7644 4).
      scim.get<{ Params: { id: string } }>("/ResourceTypes/:id", async (request, reply) => {
        await caller(rt, request, reply, limiter);
        return send(reply, 200, discovered(resourceTypes(base(request)), request.params.id, "resource type"));
      });
      scim.get<{ Params: { id: string } }>("/Schemas/:id", async (request, reply) => {
        await caller(rt, request, reply, limiter);
        return send(reply, 200, discovered(schemaDefinitions(base(request)), request.params.id, "schema"));
      });

      // Bulk is optional (RFC 7644 3.7) and /ServiceProviderConfig says it is unsupported: an operation a service
      // provider does not support is a 501 (RFC 7644 3.12), not a missing endpoint.
      scim.post("/Bulk", async (request, reply) => {
        await caller(rt, request, reply, limiter);
        throw new RollcallError("not_implemented", "This server does not support SCIM bulk operations (/ServiceProviderConfig says bulk.supported false): send each operation as its own request to /Users or /Groups");
      });

      scim.get<{ Querystring: Query }>("/Users", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        const page = pageOf(request.query, maxResults);
        const { users, total } = await listScimUsers(ctx, { filter: request.query.filter, ...page });
        return send(reply, 200, listResponse(users.map((u) => userResource(ctx, u)), { total, startIndex: page.startIndex }));
      });
      scim.post("/Users", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        const { user } = await createScimUser(ctx, resource(request.body, "User"));
        void reply.header("location", userLocation(ctx, user.id));
        return send(reply, 201, userResource(ctx, user));
      });
      scim.get<{ Params: { id: string } }>("/Users/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        return send(reply, 200, userResource(ctx, await sourceUser(ctx, request.params.id)));
      });
      scim.put<{ Params: { id: string } }>("/Users/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        return send(reply, 200, userResource(ctx, await replaceScimUser(ctx, request.params.id, resource(request.body, "User"))));
      });
      scim.patch<{ Params: { id: string } }>("/Users/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        return send(reply, 200, userResource(ctx, await patchScimUser(ctx, request.params.id, request.body)));
      });
      scim.delete<{ Params: { id: string } }>("/Users/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        await deleteScimUser(ctx, request.params.id);
        return send(reply, 204);
      });

      scim.get<{ Querystring: Query }>("/Groups", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        const page = pageOf(request.query, maxResults);
        const { groups, total } = await listScimGroups(ctx, { filter: request.query.filter, ...page });
        const members = withMembers(request.query);
        return send(reply, 200, listResponse(await Promise.all(groups.map((g) => groupResource(ctx, g, members))), { total, startIndex: page.startIndex }));
      });
      scim.post("/Groups", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        const group = await createScimGroup(ctx, resource(request.body, "Group"));
        void reply.header("location", groupLocation(ctx, group.id));
        return send(reply, 201, await groupResource(ctx, group, true));
      });
      scim.get<{ Params: { id: string }; Querystring: Query }>("/Groups/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        return send(reply, 200, await groupResource(ctx, await sourceGroup(ctx, request.params.id), withMembers(request.query)));
      });
      scim.put<{ Params: { id: string } }>("/Groups/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        return send(reply, 200, await groupResource(ctx, await replaceScimGroup(ctx, request.params.id, resource(request.body, "Group")), true));
      });
      scim.patch<{ Params: { id: string } }>("/Groups/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        // No body (RFC 7644 3.5.2 allows 204): a group of thousands is not listed back on every membership change.
        await patchScimGroup(ctx, request.params.id, request.body);
        return send(reply, 204);
      });
      scim.delete<{ Params: { id: string } }>("/Groups/:id", async (request, reply) => {
        const ctx = await caller(rt, request, reply, limiter);
        await deleteScimGroup(ctx, request.params.id);
        return send(reply, 204);
      });
    },
    { prefix: scimPrefix },
  );
}
