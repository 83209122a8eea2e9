// Users, groups, members, memberOf, /me: list and get, with $select/$filter/$top/$count and opaque
// absolute nextLinks.
import type { TenantEntry } from "../handle.ts";
import { ACTIVE, type GroupRec, type UserRec } from "../tenant-records.ts";
import type { MemberKind, MemberRef } from "../directory-types.ts";
import { badRequest, groupNotFound, notFound } from "./errors.ts";
import { contextUrl, decodeToken, encodeToken, linkWith, parseList, parseSelect, type GraphReq, type ListOptions } from "./query.ts";
import { GROUP_PROPS, otherProjectors, projector, USER_PROPS, type Entity } from "./schema.ts";
import { managerExpander, withManager } from "./manager.ts";

type Body = Record<string, unknown>;

export function pageOf<T>(req: GraphReq, items: readonly T[], opts: ListOptions, keep: (x: T) => boolean, out: (x: T) => Body,
  linkPath: string, context: string): Body {
  const tok = req.query.get("$skiptoken");
  const start = tok ? decodeToken<{ p: number }>(tok).p : 0;
  const value: Body[] = [];
  let next = -1;
  for (let i = start; i < items.length; i++) {
    const x = items[i] as T;
    if (!keep(x)) continue;
    if (value.length === opts.top) { next = i; break; }
    value.push(out(x));
  }
  const body: Body = { "@odata.context": context };
  if (opts.count && !tok) {
    let n = 0;
    for (const x of items) if (keep(x)) n++;
    body["@odata.count"] = n;
  }
  if (next >= 0) body["@odata.nextLink"] = linkWith(req, linkPath, "$skiptoken", encodeToken({ p: next }));
  body.value = value;
  return body;
}

function listOptions(req: GraphReq, entity: Entity, e: TenantEntry): ListOptions {
  return parseList(req, entity, e.tenant.userExtensions);
}

/** Sortable by default, and with an advanced query only. [aad-advanced-queries: Support for sorting by properties of directory objects] */
const SORT = {
  user: { default: ["displayName", "userPrincipalName"], advanced: ["createdDateTime", "deletedDateTime"] },
  group: { default: ["displayName"], advanced: ["deletedDateTime"] },
};

/**
 * `$orderby=property [asc|desc]` (one property): the items in that order, compared without case, unset values last.
 * Errors as Graph words them: "Unsupported sort property 'createdDateTime' for 'User'." (microsoft-graph-docs#20427),
 * "An unsupported property was specified." in an advanced query (#20541), and "Sorting not supported for current
 * query." for $orderby with $filter outside one (microsoft-graph-docs-contrib#3145).
 */
export function ordered<T>(req: GraphReq, o: ListOptions, entity: Entity, items: readonly T[], value: (x: T, prop: string) => unknown): readonly T[] {
  const raw = req.query.get("$orderby");
  if (!raw) return items;
  const m = /^\s*([A-Za-z]+)(?:\s+(asc|desc))?\s*$/i.exec(raw);
  const prop = m?.[1] ?? raw;
  const advanced = o.advanced && (o.count || req.query.has("$search"));
  if (!m || !(SORT[entity].default.includes(prop) || (advanced && SORT[entity].advanced.includes(prop)))) {
    throw badRequest(advanced ? "An unsupported property was specified." : `Unsupported sort property '${prop}' for '${entity === "user" ? "User" : "Group"}'.`, "Request_UnsupportedQuery");
  }
  if (req.query.has("$filter") && !advanced) throw badRequest("Sorting not supported for current query.", "Request_UnsupportedQuery");
  const sign = m[2]?.toLowerCase() === "desc" ? -1 : 1;
  const keyed = items.map((x) => { const v = value(x, prop); return { x, k: v === null || v === undefined ? null : String(v).toLowerCase() }; });
  keyed.sort((a, b) => (a.k === b.k ? 0 : a.k === null ? 1 : b.k === null ? -1 : a.k < b.k ? -sign : sign));
  return keyed.map((y) => y.x);
}

export function listUsers(req: GraphReq, e: TenantEntry): Body {
  const o = listOptions(req, "user", e);
  const pred = o.filter?.pred;
  const project = projector(o.select);
  const expand = managerExpander(req, e);
  return pageOf<UserRec>(req, ordered(req, o, "user", e.tenant.users, (r, p) => r.u[p]), o, pred ? (r) => r.state === ACTIVE && pred(r.u) : (r) => r.state === ACTIVE,
    (r) => withManager(project(r.u), r, expand), "/users", contextUrl(req, "users", o.explicitSelect ? o.select : null));
}

export function listGroups(req: GraphReq, e: TenantEntry): Body {
  const o = listOptions(req, "group", e);
  const pred = o.filter?.pred;
  const project = projector(o.select);
  const expand = membersExpander(req, e);
  return pageOf<GroupRec>(req, ordered(req, o, "group", e.tenant.groups, (r, p) => r.g[p]), o, pred ? (r) => r.state === ACTIVE && pred(r.g) : (r) => r.state === ACTIVE,
    expand ? (r) => ({ ...project(r.g), members: expand(r) }) : (r) => project(r.g), "/groups", contextUrl(req, "groups", o.explicitSelect ? o.select : null));
}

/** `$expand=members` or `members($select=…)`: like Graph, at most 20 members per group, each with its @odata.type. */
function membersExpander(req: GraphReq, e: TenantEntry): ((r: GroupRec) => Body[]) | undefined {
  const raw = req.query.get("$expand");
  if (!raw) return undefined;
  const m = /^members(?:\(\$select=([A-Za-z0-9,]+)\))?$/.exec(raw.trim());
  if (!m) throw badRequest(`Parsing OData Select and Expand failed: Could not find a property named '${raw.split("(")[0]}' on type 'microsoft.graph.group', or only 'members' can be expanded here.`, "BadRequest");
  const wanted = m[1]?.split(",");
  const pu = projector(wanted ? ["id", ...wanted.filter((p) => USER_PROPS.has(p) && p !== "id")] : parseSelect(new URLSearchParams(), "user").select);
  const pg = projector(wanted ? ["id", ...wanted.filter((p) => GROUP_PROPS.has(p) && p !== "id")] : parseSelect(new URLSearchParams(), "group").select);
  const po = otherProjectors(wanted);
  return (r) => {
    const out: Body[] = [];
    for (const [id, kind] of r.members) {
      if (out.length === 20) break;
      const obj = e.tenant.memberObject(id, kind);
      if (obj) out.push({ "@odata.type": `#microsoft.graph.${kind}`, ...(kind === "user" ? pu(obj) : kind === "group" ? pg(obj) : po[kind](obj)) });
    }
    return out;
  };
}

export function getUser(req: GraphReq, e: TenantEntry, key: string): Body {
  const rec = e.tenant.userRec(decodeURIComponent(key));
  if (!rec) throw notFound(key);
  const { select, explicit } = parseSelect(req.query, "user", "one", e.tenant.userExtensions);
  return withManager({ "@odata.context": contextUrl(req, "users", explicit ? select : null, "/$entity"), ...projector(select)(rec.u) }, rec, managerExpander(req, e));
}

export function getGroup(req: GraphReq, e: TenantEntry, id: string): Body {
  const rec = e.tenant.groupRec(id);
  if (!rec) throw groupNotFound(id);
  const { select, explicit } = parseSelect(req.query, "group");
  const expand = membersExpander(req, e);
  const body: Body = { "@odata.context": contextUrl(req, "groups", explicit ? select : null, "/$entity"), ...projector(select)(rec.g) };
  if (expand) body.members = expand(rec);
  return body;
}

/** Directory objects of mixed type: each item gets its @odata.type and its own type's selection. */
function directoryObjects(req: GraphReq, e: TenantEntry, refs: MemberRef[], cast: MemberKind | null, path: string, limitedGroups = false): Body {
  const entity: Entity = cast === "group" ? "group" : "user";
  const q2 = new URLSearchParams(req.query);
  q2.delete("$select");
  const o = parseList({ ...req, query: q2 }, entity);
  const rawSelect = req.query.get("$select");
  const extensions = e.tenant.userExtensions;
  const userSel = parseSelect(rawSelect ? filterSelect(req.query, (p) => USER_PROPS.has(p) || extensions.has(p)) : new URLSearchParams(), "user", "list", extensions).select;
  const groupSel = parseSelect(rawSelect ? filterSelect(req.query, (p) => GROUP_PROPS.has(p)) : new URLSearchParams(), "group").select;
  const pu = projector(userSel), pg = projector(groupSel), po = otherProjectors(rawSelect ? rawSelect.split(",").map((s) => s.trim()) : undefined);
  const pred = o.filter?.pred;
  const list = cast ? refs.filter((r) => r.kind === cast) : refs;
  const obj = (r: MemberRef): Body | undefined => e.tenant.memberObject(r.id, r.kind);
  return pageOf<MemberRef>(req, list, o, (r) => { const x = obj(r); return !!x && (!pred || pred(x)); },
    (r) => ({ "@odata.type": `#microsoft.graph.${r.kind}`, ...(r.kind === "user" ? pu(obj(r) as Body) : r.kind === "group" ? (limitedGroups ? limited(pg(obj(r) as Body)) : pg(obj(r) as Body)) : po[r.kind](obj(r) as Body)) }),
    path, contextUrl(req, cast ? castSets[cast] : "directoryObjects", null));
}

/** An object the app may not read, as Graph lists it among others: its id, every other property null. */
function limited(x: Body): Body {
  return Object.fromEntries(Object.keys(x).map((k) => [k, k === "id" ? x[k] : null]));
}

/** The entity set a cast's @odata.context names. */
const castSets: Record<MemberKind, string> = { user: "users", group: "groups", device: "devices", orgContact: "contacts", servicePrincipal: "servicePrincipals" };

/** $select across types: keep what the type knows, ignore the rest (like Graph does for directoryObjects). */
function filterSelect(q: URLSearchParams, known: (property: string) => boolean): URLSearchParams {
  const raw = q.get("$select") ?? "";
  const sel = ["id", ...raw.split(",")].map((s) => s.trim()).filter((s) => s && known(s));
  return new URLSearchParams({ $select: [...new Set(sel)].join(",") });
}

export function listMembers(req: GraphReq, e: TenantEntry, groupId: string, transitive: boolean, cast: string | undefined): Body {
  if (!e.tenant.groupRec(groupId)) throw groupNotFound(groupId);
  const c = castOf(cast);
  // v1.0 lists no service principal as a direct member, a known issue Microsoft documents (beta, $expand=members and
  // transitiveMembers do): https://learn.microsoft.com/graph/known-issues#get-groupsidmembers-doesnt-return-service-principals-in-v10
  const refs = transitive ? e.tenant.transitiveMembers(groupId) : e.tenant.directMembers(groupId).filter((r) => r.kind !== "servicePrincipal");
  return directoryObjects(req, e, refs, c, `/groups/${groupId}/${transitive ? "transitiveMembers" : "members"}${cast ? `/${cast}` : ""}`);
}

export function listMemberOf(req: GraphReq, e: TenantEntry, userKey: string, transitive: boolean, cast: string | undefined, pathBase: string, limitedGroups = false): Body {
  const rec = e.tenant.userRec(decodeURIComponent(userKey));
  if (!rec) throw notFound(userKey);
  const c = castOf(cast);
  const refs: MemberRef[] = e.tenant.memberOf(rec.u.id, transitive).map((id) => ({ id, kind: "group" }));
  return directoryObjects(req, e, refs, c, `${pathBase}/${transitive ? "transitiveMemberOf" : "memberOf"}${cast ? `/${cast}` : ""}`, limitedGroups);
}

/** An OData cast segment on a member list: the directory object types a group can hold. */
function castOf(cast: string | undefined): MemberKind | null {
  if (!cast) return null;
  const kind = cast.replace(/^microsoft\.graph\./, "");
  if (cast.startsWith("microsoft.graph.") && kind in castSets) return kind as MemberKind;
  throw badRequest(`Resource not found for the segment '${cast}'.`, "BadRequest");
}

export function organization(req: GraphReq, e: TenantEntry): Body {
  return {
    "@odata.context": contextUrl(req, "organization", null),
    value: [{
      id: e.id, displayName: e.displayName, tenantType: "AAD", countryLetterCode: "US",
      verifiedDomains: [{ capabilities: "Email, OfficeCommunicationsOnline", isDefault: true, isInitial: true, name: e.domain, type: "Managed" }],
    }],
  };
}
