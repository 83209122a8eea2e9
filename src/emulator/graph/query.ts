// Query options: $select, $top, $count (+ ConsistencyLevel), $filter, opaque $skiptoken.
import { compileFilter, type CompiledFilter } from "./filter.ts";
import { badRequest, GraphHttpError } from "./errors.ts";
import { checkFilter } from "./filterable.ts";
import { COLLECTIONS, defaultsOf, propsOf, USER_NOT_IN_DELTA, USER_ONE_ONLY, type Entity } from "./schema.ts";

export interface GraphReq {
  method: string;
  /** Path below /v1.0, e.g. "/users/abc/memberOf". */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  origin: string;
  body?: unknown;
}

export interface ListOptions {
  select: string[];
  explicitSelect: boolean;
  top: number;
  count: boolean;
  advanced: boolean;
  filter?: CompiledFilter;
}

const NO_EXTENSIONS: ReadonlySet<string> = new Set();

/**
 * `target`: one object (GET /users/{id}), a listing, or a delta query; some user properties are served for one object only.
 * `extensions`: the tenant's registered directory extensions (users), selectable like properties.
 */
export function parseSelect(q: URLSearchParams, entity: Entity, target: "one" | "list" | "delta" = "list", extensions = NO_EXTENSIONS): { select: string[]; explicit: boolean } {
  const raw = q.get("$select");
  if (!raw) return { select: defaultsOf(entity), explicit: false };
  const known = propsOf(entity);
  const props = raw.split(",").map((s) => s.trim()).filter(Boolean);
  const oneOnly = entity === "user" ? props.filter((p) => USER_ONE_ONLY.has(p) || (target === "delta" && USER_NOT_IN_DELTA.has(p))) : [];
  // The OData layer in front of the directory refuses it, with its own code (BadRequest, not Request_BadRequest):
  // "BadRequest: Parsing OData Select and Expand failed: Could not find a property named 'isRead' on type
  // 'microsoft.graph.mailFolder'." (github.com/mguessan/davmail/issues/488; msgraph-sdk-powershell#2103 for directoryObject).
  for (const p of props) {
    if (!known.has(p) && !oneOnly.includes(p) && !(entity === "user" && extensions.has(p))) throw badRequest(`Parsing OData Select and Expand failed: Could not find a property named '${p}' on type 'microsoft.graph.${entity}'.`, "BadRequest");
  }
  // As Graph answers them (microsoft-graph-docs issues 5637 and 14141).
  if (oneOnly.length && target === "delta") throw badRequest(`Invalid request for delta query: for this entity set, $expand/$select is not supported for the following properties: ${oneOnly.join(", ")}`, "BadRequest");
  if (oneOnly.length && target === "list") throw new GraphHttpError(501, "NotImplemented", "This operation target is not yet supported.");
  return { select: props, explicit: true };
}

export function parseList(req: GraphReq, entity: Entity, extensions = NO_EXTENSIONS, maxTop = 999, defaultTop = 100): ListOptions {
  const q = req.query;
  const { select, explicit } = parseSelect(q, entity, "list", extensions);
  let top = defaultTop;
  const topRaw = q.get("$top");
  if (topRaw !== null) {
    const n = Number(topRaw);
    if (!Number.isInteger(n) || n < 1 || n > maxTop) {
      throw badRequest(`Invalid page size specified: '${topRaw}'. Must be between 1 and ${maxTop} inclusive.`, "Request_UnsupportedQuery");
    }
    top = n;
  }
  const advanced = (req.headers["consistencylevel"] ?? "").toLowerCase() === "eventual";
  // Without ConsistencyLevel: eventual, Graph "silently ignores the $count query parameter" (only the /$count
  // segment is an error). [aad-advanced-queries: Error handling for advanced queries on directory objects]
  const count = advanced && (q.get("$count") ?? "").toLowerCase() === "true";
  let filter: CompiledFilter | undefined;
  const f = q.get("$filter");
  if (f) {
    filter = compileFilter(f, propsOf(entity), entity, COLLECTIONS);
    checkFilter(entity, filter.uses, advanced && count);
  }
  if (q.has("$search") && !advanced) throw badRequest("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'", "Request_UnsupportedQuery");
  const search = q.get("$search");
  if (search) {
    const s = compileSearch(search, propsOf(entity), entity);
    const f = filter?.pred;
    filter = { pred: f ? (o) => f(o) && s(o) : s, uses: filter?.uses ?? [] };
  }
  if (q.has("$skip")) throw badRequest("'$skip' is not supported by the service.", "Request_UnsupportedQuery");
  return { select, explicitSelect: explicit, top, count, advanced, filter };
}

/**
 * $search="prop:value" clauses joined by AND/OR (AND binds tighter). Like Graph's tokenized search,
 * a clause matches when a word of the property starts with the value (case-insensitive).
 */
function compileSearch(src: string, known: Set<string>, entity: Entity): (o: Record<string, unknown>) => boolean {
  const clause = (c: string): ((o: Record<string, unknown>) => boolean) => {
    const m = /^"([A-Za-z]+):(.*)"$/.exec(c.trim());
    if (!m) throw badRequest(`Syntax error: invalid $search clause ${c}.`, "Request_UnsupportedQuery");
    const prop = m[1] as string;
    const value = (m[2] as string).toLowerCase();
    if (!known.has(prop)) throw badRequest(`Could not find a property named '${prop}' on type 'microsoft.graph.${entity}'.`);
    return (o) => {
      const v = o[prop];
      const text = Array.isArray(v) ? v.join(" ") : typeof v === "string" ? v : "";
      return text.toLowerCase().split(/[\s._@-]+/).some((w) => w.startsWith(value)) || text.toLowerCase().startsWith(value);
    };
  };
  const ors = src.split(/\s+OR\s+/).map((part) => part.split(/\s+AND\s+/).map(clause));
  return (o) => ors.some((ands) => ands.every((p) => p(o)));
}

/** Opaque tokens: base64url JSON behind a fixed prefix, so they look (and are) meaningless to clients. */
export function encodeToken(state: unknown): string {
  return `RFNwdAoA${Buffer.from(JSON.stringify(state)).toString("base64url")}`;
}
export function decodeToken<T>(token: string): T {
  try {
    if (!token.startsWith("RFNwdAoA")) throw new Error("prefix");
    return JSON.parse(Buffer.from(token.slice(8), "base64url").toString("utf8")) as T;
  } catch {
    throw badRequest("The provided skip or delta token is invalid.", "Request_BadRequest");
  }
}

/** Rebuild a link on our own host keeping the caller's query options, with a new token parameter. */
export function linkWith(req: GraphReq, path: string, param: string, token: string, drop: string[] = []): string {
  const params = new URLSearchParams();
  for (const [k, v] of req.query) if (k !== "$skiptoken" && k !== "$deltatoken" && !drop.includes(k)) params.append(k, v);
  params.set(param, token);
  const qs = params.toString().replace(/%24/g, "$").replace(/%2C/g, ",");
  return `${req.origin}/v1.0${path}?${qs}`;
}

export function contextUrl(req: GraphReq, set: string, select: string[] | null, suffix = ""): string {
  return `${req.origin}/v1.0/$metadata#${set}${select ? `(${select.join(",")})` : ""}${suffix}`;
}
