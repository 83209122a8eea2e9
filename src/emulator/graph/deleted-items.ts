// /directory/deletedItems: the users and groups deleted but still restorable (soft-deleted, for 30 days), which the
// listings and a delta query's first round leave out. Listed by type (an OData cast is required), or read one by id.
// https://learn.microsoft.com/graph/api/directory-deleteditems-list, https://learn.microsoft.com/graph/api/directory-deleteditems-get
import type { TenantEntry } from "../handle.ts";
import type { GraphUser } from "../directory-types.ts";
import { SOFT_DELETED, type GroupRec, type UserRec } from "../tenant-records.ts";
import { requirePermission, type Caller } from "./auth.ts";
import { ordered, pageOf } from "./directory.ts";
import { badRequest, groupNotFound } from "./errors.ts";
import { contextUrl, parseList, parseSelect, type GraphReq } from "./query.ts";
import { projector } from "./schema.ts";

type Body = Record<string, unknown>;

/**
 * A deleted user as Entra keeps it: its user name prefixed with its object ID without dashes
 * ("7e06b56615f340138bf879874d52e68ajohn@contoso.com"), which frees the name; a restore gives the name back.
 */
function asDeleted(u: GraphUser): GraphUser {
  return { ...u, userPrincipalName: `${u.id.replace(/-/g, "")}${u.userPrincipalName}` };
}

/** "Calling GET /directory/deleteditems without a type is not supported", answered as Graph does. */
export const untypedDeletedItems = () =>
  badRequest("Searches against this resource are not supported. Only specific instances can be queried.", "Request_UnsupportedQuery");

/** `GET /directory/deletedItems/{cast}`: the soft-deleted users or groups, paged like the listings ($select, $filter, $top, $orderby, $count). */
export function listDeletedItems(req: GraphReq, e: TenantEntry, c: Caller, cast: string): Body {
  const kind = cast.toLowerCase();
  const path = `/directory/deletedItems/${cast}`;
  const t = e.tenant;
  if (kind === "microsoft.graph.user") {
    requirePermission(c, "deletedUsers");
    const o = parseList(req, "user", t.userExtensions);
    const project = projector(o.select);
    const pred = o.filter?.pred;
    const deleted = (r: UserRec) => r.state === SOFT_DELETED && (!pred || pred(asDeleted(r.u)));
    return pageOf<UserRec>(req, ordered(req, o, "user", t.users, (r, p) => (p === "userPrincipalName" ? asDeleted(r.u) : r.u)[p]), o, deleted,
      (r) => project(asDeleted(r.u)), path, contextUrl(req, "users", o.explicitSelect ? o.select : null));
  }
  if (kind === "microsoft.graph.group") {
    requirePermission(c, "deletedGroups");
    const o = parseList(req, "group");
    const project = projector(o.select);
    const pred = o.filter?.pred;
    const deleted = (r: GroupRec) => r.state === SOFT_DELETED && (!pred || pred(r.g));
    return pageOf<GroupRec>(req, ordered(req, o, "group", t.groups, (r, p) => r.g[p]), o, deleted, (r) => project(r.g), path,
      contextUrl(req, "groups", o.explicitSelect ? o.select : null));
  }
  // Applications, service principals and administrative units are deleted for good here (not modelled).
  throw badRequest(`Resource not found for the segment '${cast}'.`, "BadRequest");
}

/** `GET /directory/deletedItems/{id}`: one soft-deleted user or group, with its @odata.type; anything else is not found. */
export function getDeletedItem(req: GraphReq, e: TenantEntry, c: Caller, id: string): Body {
  const t = e.tenant;
  const context = contextUrl(req, "directoryObjects", null, "/$entity");
  const user = t.usersById.get(id);
  if (user?.state === SOFT_DELETED) {
    requirePermission(c, "deletedUsers");
    const { select } = parseSelect(req.query, "user", "one", t.userExtensions);
    return { "@odata.context": context, "@odata.type": "#microsoft.graph.user", ...projector(select)(asDeleted(user.u)) };
  }
  const group = t.groupsById.get(id);
  if (group?.state === SOFT_DELETED) {
    requirePermission(c, "deletedGroups");
    const { select } = parseSelect(req.query, "group");
    return { "@odata.context": context, "@odata.type": "#microsoft.graph.group", ...projector(select)(group.g) };
  }
  // Found by object id only, as a group is: anything else is no id at all.
  throw groupNotFound(id);
}

/**
 * `POST /directory/deletedItems/{id}/restore`: 200 with the restored object as a directoryObject (its @odata.type and
 * default properties), keeping its object id; a user gets its name back, a group its memberships (handle.ts). Users need
 * User.DeleteRestore.All or User.ReadWrite.All, groups Group.ReadWrite.All (Directory.ReadWrite.All either).
 * https://learn.microsoft.com/graph/api/directory-deleteditems-restore
 */
export function restoreDeletedItem(req: GraphReq, e: TenantEntry, c: Caller, id: string): Body {
  const t = e.tenant;
  const context = contextUrl(req, "directoryObjects", null, "/$entity");
  if (t.usersById.get(id)?.state === SOFT_DELETED) {
    requirePermission(c, "restoreUsers");
    const upn = t.usersById.get(id)!.u.userPrincipalName.toLowerCase();
    if (t.usersByUpn.has(upn)) throw userNameTaken();
    const { select } = parseSelect(new URLSearchParams(), "user", "one");
    return { "@odata.context": context, "@odata.type": "#microsoft.graph.user", ...projector(select)(e.restoreUser(id)) };
  }
  if (t.groupsById.get(id)?.state === SOFT_DELETED) {
    requirePermission(c, "restoreGroups");
    const { select } = parseSelect(new URLSearchParams(), "group");
    return { "@odata.context": context, "@odata.type": "#microsoft.graph.group", ...projector(select)(e.restoreGroup(id)) };
  }
  throw groupNotFound(id);
}

/**
 * `DELETE /directory/deletedItems/{id}`: 204, deleted for good (a delta round reports it `@removed: deleted`). Users need
 * User.DeleteRestore.All; groups Group.ReadWrite.All, delegated only ("Application: Not supported").
 * https://learn.microsoft.com/graph/api/directory-deleteditems-delete
 */
export function purgeDeletedItem(e: TenantEntry, c: Caller, id: string): void {
  const t = e.tenant;
  if (t.usersById.get(id)?.state === SOFT_DELETED) {
    requirePermission(c, "purgeUsers");
    e.deleteUser(id, { permanent: true });
    return;
  }
  if (t.groupsById.get(id)?.state === SOFT_DELETED) {
    requirePermission(c, "purgeGroups");
    e.deleteGroup(id, { permanent: true });
    return;
  }
  throw groupNotFound(id);
}

/** A user whose name another user took meanwhile stays deleted until that one is renamed or deleted. */
const userNameTaken = () => badRequest("Another object with the same value for property userPrincipalName already exists.");
