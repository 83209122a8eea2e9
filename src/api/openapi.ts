import { z } from "zod";
import { servedAt, takesIfMatch, type Answers, type Route, type RouteModule, type Upload } from "./route.ts";
import { errorSchema } from "./schemas.ts";

/**
 * The OpenAPI 3.1 document, generated from the same route objects and zod schemas the server
 * validates with. Schemas carrying `.meta({ id })` become shared components.
 */
type Json = Record<string, unknown>;

export const apiPrefix = "/api/v1";

export function openApiDocument(modules: RouteModule[], options: { serverUrl?: string | undefined } = {}): Json {
  const components: Record<string, Json> = {};
  const convert = (schema: z.ZodType, io: "input" | "output"): Json => {
    const json = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as Json;
    const defs = (json.$defs ?? {}) as Record<string, Json>;
    delete json.$defs;
    delete json.$schema;
    for (const [id, def] of Object.entries(defs)) components[id] ??= relink(def);
    return relink(json);
  };
  const errorRef = { $ref: "#/components/schemas/Error" };
  convert(errorSchema, "output"); // hoists the shared Error component
  const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: errorRef } } });
  const pageResponse = (description: string) => ({ description: `${description} (a page saying so)`, content: { "text/html": { schema: { type: "string" } } } });

  const paths: Record<string, Record<string, Json>> = {};
  for (const module of modules) {
    for (const r of module.routes) {
      const path = servedAt(r, apiPrefix).replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      const operation: Json = {
        operationId: operationId(r),
        summary: r.summary,
        ...(r.description && { description: r.description }),
        tags: [module.tag],
        parameters: [...pathParameters(r, convert), ...parameters(r.query, "query", convert), ...(takesIfMatch(r) ? [ifMatchParameter] : [])],
        ...(r.body && { requestBody: { required: !r.body.safeParse(undefined).success, content: { "application/json": { schema: convert(r.body, "input") } } } }),
        ...(r.upload && { requestBody: { required: true, content: { "multipart/form-data": { schema: uploadSchema(r.upload, convert) } } } }),
        responses: {
          ...(r.answers
            ? Object.fromEntries(Object.entries(r.answers).map(([status, a]) => [status, answer(a, status)]))
            : {
                [String(r.status ?? 200)]: r.response
                  ? { description: "Success", ...(r.etag && { headers: etagHeader }), content: { "application/json": { schema: convert(r.response, "output") } } }
                  : { description: "Success, no content" },
              }),
          ...errorResponses(r, r.browserPage ? pageResponse : errorResponse, errorResponse),
        },
        security: r.ownSecurity ? [{ [r.ownSecurity]: [] }] : r.access === "public" ? [] : [{ cookieSession: [] }, { bearerToken: [] }],
      };
      (paths[path] ??= {})[r.method.toLowerCase()] = operation;
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Rollcall API",
      version: "1.0.0",
      description:
        "Keep an application's user directory in step with Microsoft Entra ID, spreadsheets and manual entry. " +
        "Every error answers { error: { code, message, details } } (the sign-in redirects a browser opens answer a page instead, but for 431). " +
        "A method a path does not take answers 405 method_not_allowed with an Allow header, details.allowed listing the methods it does take (a path answers OPTIONS with them). " +
        "Changes made with the session cookie need the X-CSRF-Token header.",
    },
    ...(options.serverUrl && { servers: [{ url: options.serverUrl }] }),
    tags: modules.map((m) => ({ name: m.tag, ...(m.description && { description: m.description }) })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        cookieSession: { type: "apiKey", in: "cookie", name: "rollcall_session", description: "Set by POST /api/v1/auth/login" },
        bearerToken: { type: "http", scheme: "bearer", description: "An API token (rc_…) from `rollcall tokens create` or POST …/tokens" },
        metricsToken: { type: "http", scheme: "bearer", description: "ROLLCALL_METRICS_TOKEN, what Prometheus sends to scrape /metrics (not an API token)" },
      },
    },
  };
}

const retryAfterHeader = { "Retry-After": { description: "Seconds until an attempt is taken again", schema: { type: "string" } } };
const etagHeader = { ETag: { description: "The record's version: send it back as If-Match with a change", schema: { type: "string" } } };
const ifMatchParameter = {
  name: "If-Match", in: "header", required: false, schema: { type: "string" },
  description: "The ETag the change was made on: applied only if the record is still that version, otherwise 412 precondition_failed and nothing changes",
};

function answer(a: Answers[string], status: string): Json {
  const named = Object.entries(a.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: "string" } }]);
  // A redirect names where in Location; 304 Not Modified is no redirect.
  if (!a.content && (!status.startsWith("3") || status === "304")) return { description: a.description, ...(named.length && { headers: Object.fromEntries(named) }) };
  if (!a.content) return { description: a.description, headers: { Location: { schema: { type: "string" } }, ...Object.fromEntries(named) } };
  return {
    description: a.description,
    ...(named.length && { headers: Object.fromEntries(named) }),
    content: Object.fromEntries(a.content.map((type) => [type, { schema: { type: "string", ...(!type.startsWith("text/") && { contentMediaType: type }) } }])),
  };
}

function uploadSchema(upload: Upload, convert: (s: z.ZodType, io: "input") => Json): Json {
  const fields = upload.fields ? ((convert(upload.fields, "input").properties ?? {}) as Record<string, Json>) : {};
  const asText = Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, { type: "string", ...(field.description !== undefined && { description: field.description }) }]));
  return {
    type: "object",
    properties: { [upload.field]: { type: "string", contentMediaType: "application/octet-stream", ...(upload.description && { description: upload.description }) }, ...asText },
    required: [upload.field],
  };
}

function relink<T>(json: T): T {
  return JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/')) as T;
}

/** Every `:name` in the URL, described by the params schema where it names it. */
function pathParameters(r: Route, convert: (s: z.ZodType, io: "input") => Json): Json[] {
  const described = new Map(parameters(r.params, "path", convert).map((p) => [p.name as string, p]));
  return [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map(([, name]) => described.get(name!) ?? { name, in: "path", required: true, schema: { type: "string" } });
}

function parameters(schema: z.ZodType | undefined, where: "path" | "query", convert: (s: z.ZodType, io: "input") => Json): Json[] {
  if (!schema) return [];
  const json = convert(schema, "input");
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    // An object given in a query parameter is sent as JSON text (generators would explode it into key=value pairs).
    const object = (rest.anyOf as Json[] | undefined)?.find((s) => s.type === "object");
    const shape = object ? { content: { "application/json": { schema: object } } } : { schema: rest };
    return { name, in: where, required: where === "path" || required.has(name), ...(description !== undefined && { description }), ...shape };
  });
}

/** `make` answers the route's own errors (a page for a browser flow); `json` those answered before any route is chosen. */
function errorResponses(r: Route, make: (description: string) => Json, json: (description: string) => Json): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (r.params || r.query || r.body || r.upload) out["400"] = make("invalid_input: details.fields lists each problem as { field, message }");
  if (r.access !== "public") {
    out["401"] = make("unauthenticated: no, expired or revoked credentials");
    out["403"] = make("forbidden (viewer role, not an owner) or csrf_failed (missing X-CSRF-Token with a session cookie)");
  }
  if (r.access === "workspace") out["404"] = make("not_found: the workspace (or the record) does not exist or is not visible to you");
  else if (r.access !== "public" && (r.params || r.body)) out["404"] = make("not_found: a record the path or the body names does not exist");
  if (r.method !== "GET" && r.access !== "public") out["409"] = make("conflict: e.g. an email already used by another user");
  if (r.body || r.upload) {
    out["413"] = make("payload_too_large");
    out["415"] = make(r.upload ? "unsupported_file or unsupported_media_type: send multipart/form-data with a supported file" : "unsupported_media_type: send application/json");
  }
  if (typeof r.config === "function" || r.config?.rateLimit) out["429"] = { ...make("rate_limited: too many attempts; see Retry-After"), headers: retryAfterHeader };
  if (takesIfMatch(r)) out["412"] = make("precondition_failed: If-Match names a version the record no longer is (changed meanwhile); read it again");
  out["431"] = json("headers_too_large: the request's URL and headers (cookies, a token) are larger than the server takes; answered by its HTTP parser before any route, so as JSON on a browser flow too");
  out["500"] = make("internal: logged on the server, never detailed here");
  const unreachable = "database_unreachable: the database cannot be reached (restarting, failing over, cut off); try again once it is back";
  if (!r.withoutDatabase) out["503"] = make(unreachable);
  for (const [status, description] of Object.entries(r.errors ?? {})) if (description) out[status] = make(status === "503" && !r.withoutDatabase ? `${description}; or ${unreachable}` : description);
  return out;
}

function operationId(r: Route): string {
  const words = r.url
    .split("/")
    .filter(Boolean)
    .map((part) => (part.startsWith(":") ? `by-${part.slice(1)}` : part));
  return [r.method.toLowerCase(), ...words]
    .join("-")
    .replace(/[^A-Za-z0-9]+([A-Za-z0-9])/g, (_, c: string) => c.toUpperCase());
}
