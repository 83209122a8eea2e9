// A user's manager: GET /users/{id}/manager, `$expand=manager` on users, and `manager@delta` on users/delta.
// https://learn.microsoft.com/graph/api/user-list-manager
import type { TenantEntry } from "../handle.ts";
import type { Tenant } from "../tenant.ts";
import type { UserRec } from "../tenant-records.ts";
import { badRequest, notFound } from "./errors.ts";
import { contextUrl, parseSelect, type GraphReq } from "./query.ts";
import { projector, USER_PROPS } from "./schema.ts";

type Body = Record<string, unknown>;
const USER_TYPE = "#microsoft.graph.user";

/**
 * `$expand=manager` or `manager($select=…)`: the manager as a directoryObject with its @odata.type (the user's
 * default properties without a $select), or undefined when the query expands nothing. `$levels` (the management
 * chain) Graph serves on one user only; the emulator serves none of it.
 */
export function managerExpander(req: GraphReq, e: TenantEntry): ((r: UserRec) => Body | undefined) | undefined {
  const raw = req.query.get("$expand");
  if (!raw) return undefined;
  const m = /^manager(?:\(\$select=([A-Za-z0-9_,]+)\))?$/.exec(raw.trim());
  if (!m) throw badRequest(`Parsing OData Select and Expand failed: Could not find a property named '${raw.split("(")[0]}' on type 'microsoft.graph.user', or only 'manager' ($select only) can be expanded here.`, "BadRequest");
  const wanted = m[1]?.split(",");
  const project = projector(wanted ? ["id", ...wanted.filter((p) => USER_PROPS.has(p) && p !== "id" && p !== "manager")] : parseSelect(new URLSearchParams(), "user").select);
  return (r) => {
    const mgr = e.tenant.managerOf(r);
    return mgr ? { "@odata.type": USER_TYPE, ...project(mgr.u) } : undefined;
  };
}

/** An item with its expanded manager: a user without one has no `manager` property at all. */
export function withManager(item: Body, r: UserRec, expand: ((r: UserRec) => Body | undefined) | undefined): Body {
  if (!expand) return item;
  const mgr = expand(r);
  return mgr ? { ...item, manager: mgr } : item;
}

/**
 * GET /users/{id}/manager: the manager as a directoryObject; "If no manager was assigned to the user, this method
 * returns 404 Not Found" (user-list-manager), with the message Graph gives for a missing navigation target.
 */
export function getManager(req: GraphReq, e: TenantEntry, key: string): Body {
  const rec = e.tenant.userRec(decodeURIComponent(key));
  if (!rec) throw notFound(key);
  const mgr = e.tenant.managerOf(rec);
  if (!mgr) throw notFound("manager");
  const { select } = parseSelect(req.query, "user", "one", e.tenant.userExtensions);
  return { "@odata.context": contextUrl(req, "directoryObjects", null, "/$entity"), "@odata.type": USER_TYPE, ...projector(select.filter((p) => p !== "manager"))(mgr.u) };
}

/**
 * A delta round tracks the manager when the query selects `manager` or expands it ("$select also supports manager
 * … Selecting those properties allows tracking of changes to user's manager", delta-query-overview). It comes as
 * the `manager@delta` annotation, like a group's members@delta: the manager's id with its type, and a removed one
 * as the former manager's id with "@removed" (https://learn.microsoft.com/graph/delta-query-overview#resource-representation-in-the-delta-query-response).
 */
export function tracksManager(q: URLSearchParams, sel: string[] | null): boolean {
  return /^manager(\(|$)/.test((q.get("$expand") ?? "").trim()) || (sel?.includes("manager") ?? false);
}

/** `manager@delta` for a user in a round from s0: undefined when there is nothing to say. */
export function managerDelta(t: Tenant, r: UserRec, s0: number, changedOnly: boolean): Body[] | undefined {
  const changed = s0 === 0 || r.born > s0 || r.stateSeq > s0 || (r.propSeq?.manager ?? 0) > s0;
  if (changedOnly && !changed) return undefined;
  const mgr = t.managerOf(r);
  if (mgr) return [{ "@odata.type": USER_TYPE, id: mgr.u.id }];
  if (changed && s0 !== 0 && r.lastManager) return [{ "@odata.type": USER_TYPE, id: r.lastManager, "@removed": { reason: "deleted" } }];
  return undefined;
}
