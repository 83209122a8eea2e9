// /users/delta and /groups/delta. A round covers the change window (s0, s1] of the tenant's change
// sequence; tokens carry the window, the position reached and the $select, so links stay opaque and
// replaying a deltaLink gives the same changes again. Groups carry members@delta from the per-group
// membership log; large member lists continue on the next page (the same group appears again).
import type { TenantEntry } from "../handle.ts";
import { changedSince } from "../delta-tracking.ts";
import { ACTIVE, SOFT_DELETED, type GroupRec, type MemberEvent } from "../tenant-records.ts";
import { badRequest, GraphHttpError } from "./errors.ts";
import { contextUrl, decodeToken, encodeToken, parseSelect, type GraphReq } from "./query.ts";
import { projector } from "./schema.ts";
import { managerDelta, tracksManager } from "./manager.ts";
import type { DeltaLinkError } from "../types.ts";

type Body = Record<string, unknown>;
const TOKEN_LIFETIME_MS = 7 * 86400_000;

interface DeltaState {
  k: "users" | "groups"; t: string; i: string; e: number; s0: number; s1: number; p: number; m: number;
  sel: string[] | null; ts: number; mem: boolean;
  /** Users: the round tracks the manager (manager.ts). */
  mgr?: 1;
  /** The empty page before this position was sent (knob deltaEmptyPages). */
  z?: 1;
  /** Ids from `$filter=id eq '…' or …` (the only filter delta supports). */
  ids?: string[];
}

/** Delta accepts `$filter` on id only: `id eq 'a' or id eq 'b'` (Microsoft: up to 50 ids). */
function idFilter(f: string | null): string[] | undefined {
  if (!f) return undefined;
  const parts = f.split(/\s+or\s+/i).map((p) => /^\s*id\s+eq\s+'([^']+)'\s*$/i.exec(p)?.[1]);
  if (parts.some((p) => p === undefined) || parts.length > 50) {
    throw badRequest("Unsupported query: delta supports $filter only on id, as id eq '…' joined with or (at most 50).", "Request_UnsupportedQuery");
  }
  return parts as string[];
}

export interface DeltaSettings { pageSize: number; membersPerPage: number; emptyPages?: boolean; linkError?: DeltaLinkError | null }

/**
 * Microsoft documents two answers: a synchronization reset (maintenance, migration) is 410 Gone with a
 * Location holding the initial query with an empty $deltatoken; an expired token (directory objects:
 * 7 days) is "a 40X-series error with error codes such as syncStateNotFound". We answer reset with
 * 410 + Location + code resyncRequired, and expiry with 400 + code syncStateNotFound.
 */
function stale(req: GraphReq, kind: string, reason: string, sel: string[] | null): GraphHttpError {
  if (reason === "resyncRequired") {
    const restart = `${req.origin}/v1.0/${kind}/delta?${sel ? `$select=${sel.join(",")}&` : ""}$deltatoken=`;
    return new GraphHttpError(410, "resyncRequired", "Resync required. Replace any local cached state with the full result of a new delta query without a token.", { location: restart });
  }
  // Message as Microsoft gave it when directory delta links went to 7 days (devblogs.microsoft.com/microsoft365dev,
  // "Duration of change tracking tokens for identity and education resources").
  return new GraphHttpError(400, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.");
}

function pageSizeOf(req: GraphReq, dflt: number): { size: number; applied?: string } {
  const prefer = req.headers["prefer"] ?? "";
  const m = /odata\.maxpagesize=(\d+)/i.exec(prefer);
  if (!m) return { size: dflt };
  const n = Math.min(999, Math.max(1, Number(m[1])));
  return { size: n, applied: `odata.maxpagesize=${n}` };
}

export function delta(req: GraphReq, e: TenantEntry, kind: "users" | "groups", settings: DeltaSettings): { body: Body; headers: Record<string, string> } {
  const t = e.tenant;
  const q = req.query;
  if (q.has("$top") || q.has("$orderby")) throw badRequest(`The query option '${q.has("$top") ? "$top" : "$orderby"}' is not supported by delta.`, "Request_UnsupportedQuery");
  let st: DeltaState;
  const skip = q.get("$skiptoken");
  const dtok = q.get("$deltatoken");
  const entity = kind === "users" ? "user" : "group";
  if (skip || (dtok && dtok !== "latest")) {
    st = decodeToken<DeltaState>((skip ?? dtok) as string);
    if (st.k !== kind || st.t !== t.id) throw badRequest("The provided skip or delta token is invalid.", "Request_BadRequest");
    if (st.i !== t.delta.instance) throw stale(req, kind, "resyncRequired", st.sel);
    if (st.e !== t.delta.epoch) throw stale(req, kind, t.delta.endReasons.get(st.e) ?? "syncStateNotFound", st.sel);
    if (Date.now() - st.ts > TOKEN_LIFETIME_MS) throw stale(req, kind, "syncStateNotFound", st.sel);
    const forced = settings.linkError;
    if (forced && (forced.kind ?? kind) === kind && ((forced.on ?? "deltaLink") === "deltaLink") === !skip) {
      throw new GraphHttpError(forced.status, forced.code, forced.message ?? `The ${skip ? "page" : "delta"} token is no longer valid.`);
    }
    if (!skip) st = { ...st, s1: t.seq, p: 0, m: 0, ts: Date.now() }; // a deltaLink opens a new round from its s0
  } else {
    const { select, explicit } = parseSelect(q, entity, "delta", t.userExtensions);
    const sel = explicit ? (select.includes("id") ? select : [...select, "id"]) : null;
    const mem = kind === "groups" && (!sel || sel.includes("members"));
    const mgr = kind === "users" && tracksManager(q, sel) ? 1 as const : undefined;
    st = { k: kind, t: t.id, i: t.delta.instance, e: t.delta.epoch, s0: 0, s1: t.seq, p: 0, m: 0, sel, ts: Date.now(), mem, ids: idFilter(q.get("$filter")), ...(mgr && { mgr }) };
    if (dtok === "latest") {
      return { body: { "@odata.context": ctx(req, kind, sel), "@odata.deltaLink": link(req, kind, "$deltatoken", { ...st, s0: t.seq }), value: [] }, headers: {} };
    }
  }
  const ps = pageSizeOf(req, kind === "users" ? 200 : 100);
  // A round without a token (s0 = 0) lists what exists now: "Resources that have been created and deleted prior to the
  // initial delta query won't be returned" (https://learn.microsoft.com/graph/delta-query-overview), soft-deleted ones
  // included (they are in /directory/deletedItems, deleted-items.ts). A later round reports a deletion as @removed.
  // "If an @odata.nextLink URL is returned, there are additional pages of data to be retrieved in the session. This is
  // true even if the current response may contain an empty result." [delta-query-overview]
  if (settings.emptyPages && !st.z) {
    return { body: { "@odata.context": ctx(req, kind, st.sel), "@odata.nextLink": link(req, kind, "$skiptoken", { ...st, z: 1 }), value: [] }, headers: ps.applied ? { "preference-applied": ps.applied } : {} };
  }
  const sel = st.sel ?? (kind === "users" ? parseSelect(new URLSearchParams(), "user").select : parseSelect(new URLSearchParams(), "group").select);
  const project = projector(sel, "null");
  const value: Body[] = [];
  let pos = st.p;
  let memberOffset = st.m;
  let more = false;
  const only = st.ids ? new Set(st.ids) : undefined;
  // Only selected properties are tracked; with Prefer: return=minimal an updated object carries only them.
  const minimal = /return=minimal/i.test(req.headers["prefer"] ?? "");
  const tracked = sel.filter((p) => p !== "id" && p !== "members");
  if (st.mgr && !tracked.includes("manager")) tracked.push("manager");
  // "If the property has never been set before it will not be included in the response at all"; one set and
  // later cleared comes as null (https://learn.microsoft.com/graph/api/user-delta). The plain listings send null for both.
  const full = (rec: Parameters<typeof changedSince>[0], obj: Record<string, unknown>): Body => {
    const out = project(obj);
    for (const k of Object.keys(out)) if (out[k] === null && rec.propSeq?.[k] === undefined) delete out[k];
    return out;
  };
  const shape = (rec: Parameters<typeof changedSince>[0], obj: Record<string, unknown>): Body | null => {
    if (st.s0 === 0) return full(rec, obj);
    const ch = changedSince(rec, st.s0, tracked);
    if (ch === "all") return full(rec, obj);
    if (ch.length === 0) return null;
    if (!minimal) return full(rec, obj);
    const out: Body = { id: obj.id };
    for (const k of ch) out[k] = obj[k] ?? null;
    return out;
  };
  if (kind === "users") {
    const arr = t.users;
    for (; pos < arr.length; pos++) {
      const r = arr[pos]!;
      if (r.seq <= st.s0 || r.seq > st.s1 || (st.s0 === 0 && r.state !== ACTIVE)) continue;
      if (only && !only.has(r.u.id)) continue;
      const item = r.state === ACTIVE ? shape(r, r.u) : { id: r.u.id, "@removed": { reason: r.state === SOFT_DELETED ? "changed" : "deleted" } };
      if (!item) continue;
      if (st.mgr && r.state === ACTIVE) {
        delete item.manager;
        const md = managerDelta(t, r, st.s0, minimal);
        if (md) item["manager@delta"] = md;
      }
      const occurrences = splitUp(item, t.delta.splits.get(r.u.id));
      if (value.length > 0 && value.length + occurrences.length > ps.size) { more = true; break; }
      value.push(...occurrences);
    }
  } else {
    let memberBudget = settings.membersPerPage;
    const arr = t.groups;
    for (; pos < arr.length; pos++) {
      const g = arr[pos]!;
      if (only && !only.has(g.g.id)) continue;
      const members = st.mem && g.state === ACTIVE ? membersInWindow(g, st.s0, st.s1) : EMPTY;
      const shaped = g.state === ACTIVE && g.seq > st.s0 && g.seq <= st.s1 ? shape(g, g.g) : null;
      const propChanged = g.state === ACTIVE ? shaped !== null : g.seq > st.s0 && g.seq <= st.s1;
      if (!propChanged && members.length === 0) continue;
      if (st.s0 === 0 && g.state !== ACTIVE) continue;
      const parts = g.state === ACTIVE ? t.delta.splits.get(g.g.id)?.length ?? 1 : 1;
      if ((value.length > 0 && value.length + parts > ps.size) || (memberBudget <= 0 && members.length > 0)) { more = true; break; }
      if (g.state !== ACTIVE) {
        value.push({ id: g.g.id, "@removed": { reason: g.state === SOFT_DELETED ? "changed" : "deleted" } });
        memberOffset = 0;
        continue;
      }
      const item = shaped ?? (minimal && st.s0 > 0 ? { id: g.g.id } : full(g, g.g));
      if (st.mem && members.length) {
        const chunk = members.slice(memberOffset, memberOffset + memberBudget);
        item["members@delta"] = chunk;
        memberBudget -= chunk.length;
        value.push(...splitUp(item, t.delta.splits.get(g.g.id)));
        if (memberOffset + chunk.length < members.length) {
          memberOffset += chunk.length;
          more = true;
          break; // the same group continues on the next page
        }
      } else {
        value.push(...splitUp(item, t.delta.splits.get(g.g.id)));
      }
      memberOffset = 0;
    }
  }
  const headers: Record<string, string> = ps.applied ? { "preference-applied": ps.applied } : {};
  const body: Body = { "@odata.context": ctx(req, kind, st.sel) };
  if (more) body["@odata.nextLink"] = link(req, kind, "$skiptoken", { ...st, p: pos, m: memberOffset, z: undefined });
  else body["@odata.deltaLink"] = link(req, kind, "$deltatoken", { ...st, s0: st.s1, p: 0, m: 0, z: undefined });
  body.value = value;
  return { body, headers };
}

/**
 * An object as the occurrences TenantHandle.splitInDelta asks for, one after another: each its id and its part's
 * properties (those in no part go with the last), a group's members@delta shared out in order. A removal stays one.
 */
function splitUp(item: Body, parts: string[][] | undefined): Body[] {
  if (!parts || item["@removed"]) return [item];
  const members = (item["members@delta"] as Body[] | undefined) ?? [];
  const placed = new Set(parts.flat());
  return parts.map((keys, i) => {
    const out: Body = { id: item.id };
    for (const [k, v] of Object.entries(item)) {
      if (k !== "id" && k !== "members@delta" && (keys.includes(k) || (i === parts.length - 1 && !placed.has(k)))) out[k] = v;
    }
    const share = members.slice(Math.floor((i * members.length) / parts.length), Math.floor(((i + 1) * members.length) / parts.length));
    if (share.length) out["members@delta"] = share;
    return out;
  });
}

function ctx(req: GraphReq, kind: string, sel: string[] | null): string {
  return contextUrl(req, kind, sel);
}

function link(req: GraphReq, kind: string, param: string, st: DeltaState): string {
  return `${req.origin}/v1.0/${kind}/delta?${param}=${encodeToken(st)}`;
}

const EMPTY: Body[] = [];
/** Last window computed per group: a round asks for the same window on every page it touches. */
const cache = new WeakMap<GroupRec, { key: string; out: Body[] }>();

/** Net membership changes of a group in (s0, s1]: adds (all current members when s0 = 0) and removals. */
function membersInWindow(g: GroupRec, s0: number, s1: number): Body[] {
  const log = g.log;
  if (!log.length) return EMPTY;
  let lo = 0, hi = log.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if ((log[mid] as MemberEvent).seq <= s0) lo = mid + 1; else hi = mid; }
  if (lo >= log.length || (log[lo] as MemberEvent).seq > s1) return EMPTY;
  const key = `${s0}:${s1}:${log.length}`;
  const hit = cache.get(g);
  if (hit && hit.key === key) return hit.out;
  const net = new Map<string, MemberEvent>();
  for (let i = s0 === 0 ? 0 : lo; i < log.length; i++) {
    const ev = log[i] as MemberEvent;
    if (ev.seq > s1) break;
    net.set(ev.id, ev);
  }
  const out: Body[] = [];
  for (const ev of net.values()) {
    const type = `#microsoft.graph.${ev.kind}`;
    if (ev.add) out.push({ "@odata.type": type, id: ev.id });
    else if (s0 !== 0) out.push({ "@odata.type": type, id: ev.id, "@removed": { reason: "deleted" } });
  }
  cache.set(g, { key, out });
  return out;
}
