import { sql } from "kysely";
import type { Store } from "../storage/database.ts";
import { hashSecret } from "../security/hashing.ts";
import { effectiveMapping, entraConfigSchema, type EntraConfig } from "../sources/entra/config.ts";
import { mapUser, type DesiredUser, type PlannedFields } from "../sources/entra/mapping.ts";
import { seenMarks } from "./dirty.ts";
import { restorableOf } from "./merge.ts";
import { purgedOf, restoredOf } from "./soft-deleted.ts";
import { addCounts, addressKeys, emptyCounts, planUsers, type HeldUser, type Ownership, type UserChange } from "./plan.ts";
import type { UserCounts } from "../domain/run-counts.ts";
import { inScopeUsers } from "./scope.ts";
import { identifierList, storedFieldsOf, userColumnList, type StoredRow } from "../storage/user-row.ts";

/**
 * The planning phase around the pure planner: choose the users this run must look at, walk them in chunks
 * sorted by object id (so memory stays bounded whatever the tenant's size), plan each chunk, and COPY the
 * planned changes into sync_plan_users for the applier.
 * Full and delta runs alike look at the mirror's dirty rows plus users whose scope membership flipped
 * (removed, out of scope, newly in scope). A full listing marks dirty every mirror row whose data differs
 * from what Entra ID says now, so it needs nothing more; the other users are as the last run left them.
 * `dirtySeen`: the newest dirty mark when planning started, the ones the apply clears (dirty.ts).
 * `chunkSize`: users planned at once (tests make it small to cross chunk boundaries with few users).
 * `deletedItemsRefused`: a full run that Graph refused its deleted users (soft-deleted.ts).
 */
const defaultChunkSize = 2000;

export async function planRun(
  store: Store,
  input: { runId: string; source: { id: string; name: string; workspaceId: string }; config: EntraConfig; mode: "full" | "delta"; chunkSize?: number; deletedItemsRefused?: boolean },
  onProgress: (planned: number, total: number) => void,
): Promise<{ counts: UserCounts; rows: number; dirtySeen: number }> {
  const { db } = store;
  const s = input.source.id;
  const dirtySeen = await seenMarks(db, s);
  const ws = input.source.workspaceId;
  const scope = inScopeUsers(s, input.config);
  const heldIds = sql`select external_id as id from users where source_id = ${s} and external_id is not null`;
  // Chosen in SQL, so only the ids to look at reach JS. With every user in scope, a run looks at what the
  // listings changed (dirty, departed), at users changed or deleted in Rollcall (core/users.ts marks them
  // dirty) and at conflicts (kept dirty); scoped by groups, a membership change moves users in or out of
  // scope without a dirty row, so the mirror and the directory are compared. A user disabled when it left the
  // scope is still the source's: back in scope, only its being disabled here tells, so the source's disabled
  // users in scope are looked at too (those Entra ID has disabled as well plan as unchanged).
  const disabledIds = sql`select external_id as id from users where source_id = ${s} and external_id is not null and not enabled`;
  const chosen = input.config.users === "all"
    ? sql`select id from entra_dirty_users where source_id = ${s} union select id from entra_departed where source_id = ${s}`
    : sql`select x.id from (${scope}) x where x.id in (select id from entra_dirty_users where source_id = ${s}) or not exists (select 1 from (${heldIds}) h where h.id = x.id)
          or x.id in (${disabledIds})
        union select h.id from (${heldIds}) h where not exists (select 1 from (${scope}) x where x.id = h.id)`;
  const ids = (await sql<{ id: string }>`select id from (${chosen}) c order by id`.execute(db)).rows.map((r) => r.id);

  const owned = ownership(input.config);
  const chunkSize = input.chunkSize ?? defaultChunkSize;
  // What a chunk is planned from. Chunk n + 1's is read while chunk n is planned and its rows are COPY'd:
  // it is the directory as it was before the run either way (`claimed` carries what earlier chunks took).
  const inputsOf = async (chunk: string[]) => {
    const [mirror, held] = await Promise.all([
      sql<{ id: string; data: Record<string, unknown> }>`select id, data from (${scope}) x where id = any(${chunk}::text[])`.execute(db),
      heldUsers(store, sql`u.source_id = ${s} and u.external_id = any(${chunk}::text[])`),
    ]);
    const desired = mirror.rows.map((m) => mapUser(m.data, input.config));
    const keys = [...new Set(desired.flatMap((d) => [d.email, d.userPrincipalName]).filter((k): k is string => Boolean(k)).map((k) => k.toLowerCase()))];
    const own = new Set(held.map((h) => h.externalId));
    const holders = await holdersOf(store, ws, keys, held, desired.map((d) => d.externalId).filter((id) => !own.has(id)));
    const restorable = await restorableOf(db, s, [...held, ...holders].flatMap((h) => (h.sourceId === s && h.externalId ? [h.externalId] : [])));
    const { future: futureKeys, departed } = await keysAfterRun(store, { sourceId: s, config: input.config, desired, holders, restorable });
    const disabled = held.filter((h) => !h.enabled);
    const restored = await restoredOf(db, disabled);
    // A full run that Graph refused deleted users cannot tell a purge from a soft delete (soft-deleted.ts): it says none.
    const purged = input.deletedItemsRefused ? new Set<string>() : await purgedOf(db, s, disabled);
    return { desired, held, holders, futureKeys, departed, restorable, restored, purged };
  };

  // Holders that keep the addresses they were thought to give up (planUsers' `kept`): a later chunk learns of
  // them as it is planned, but if an earlier chunk already gave one of those addresses away, the run is planned
  // again knowing them. Only a holder new to `kept` starts another pass, so there are at most as many passes as
  // users; with none such (nearly always) the run is planned once.
  const kept = new Map<string, string[]>();
  const planPass = async () => {
    const counts = emptyCounts();
    const claimed = new Set<string>();
    const taken = new Set<string>();
    let rowCount = 0;
    let givenAway = false;
    const read = (at: number) => (at < ids.length ? handled(inputsOf(ids.slice(at, at + chunkSize))) : undefined);
    let next = read(0);
    let copying: Promise<unknown> = Promise.resolve();
    try {
      for (let at = 0; at < ids.length; at += chunkSize) {
        const { desired, held, holders, futureKeys: expected, departed, restorable, restored, purged } = await next!;
        next = read(at + chunkSize);
        const futureKeys = kept.size ? new Map([...expected, ...kept]) : expected;
        const plan = planUsers({ source: input.source, desired, held, holders, claimed, taken, futureKeys, departed, restorable, restored, purged, onRemove: input.config.onRemove, linkByEmail: input.config.linkByEmail, owned });
        for (const [id, keys] of plan.kept) {
          if (!kept.has(id) && keys.some((k) => claimed.has(k))) givenAway = true;
          kept.set(id, keys);
        }
        for (const k of plan.claims) claimed.add(k);
        for (const id of plan.taken) taken.add(id);
        addCounts(counts, plan.counts);
        const rows = await Promise.all(plan.changes.map((c) => planRow(input.runId, c)));
        for (const w of plan.warnings) rows.push([input.runId, "warning", null, w.externalId, JSON.stringify({ messages: w.messages }), null, w.subject]);
        await copying;
        rowCount += rows.length;
        if (rows.length) copying = handled(store.copyRows("sync_plan_users", ["run_id", "action", "user_id", "external_id", "fields", "before", "subject"], rows));
        onProgress(Math.min(ids.length, at + chunkSize), ids.length);
      }
      await copying;
    } finally {
      // A failed run clears its planned rows next: nothing of this phase may still be running then.
      await Promise.all([copying.catch(() => undefined), next?.catch(() => undefined)]);
    }
    return { counts, rows: rowCount, givenAway };
  };
  let pass = await planPass();
  while (pass.givenAway) {
    await sql`delete from sync_plan_users where run_id = ${input.runId}`.execute(db);
    pass = await planPass();
  }
  const { counts, rows: planned } = pass;
  // A full run reports the whole synced set: the in-scope users it did not need to look at are unchanged.
  if (input.mode === "full") {
    const { rows } = await sql<{ n: string }>`select count(*) as n from (${scope}) x join (${heldIds}) h on h.id = x.id
      where not exists (select 1 from (${chosen}) c where c.id = x.id)`.execute(db);
    counts.unchanged += Number(rows[0]!.n);
  }
  return { counts, rows: planned, dirtySeen };
}

/** The fields the source's mapping makes it own (planUsers' `owned`). */
export function ownership(config: EntraConfig): Ownership {
  const mapping = effectiveMapping(config);
  return { aliases: Boolean(mapping.aliases), cardNumbers: Boolean(mapping.cardNumbers), customKeys: Object.keys(mapping).filter((k) => k.startsWith("custom:")).map((k) => k.slice(7)) };
}

/** A created or updated user's fields as the applier writes and logs them: no warnings, the PIN only hashed. */
export async function plannedFields(after: DesiredUser): Promise<PlannedFields> {
  const { warnings: _w, pin, ...fields } = after;
  return pin ? { ...fields, pinHash: await hashSecret(pin) } : fields;
}

/** Users the source holds now (before the run applies anything): what the deletion threshold is measured against. */
export async function countHeldUsers(db: Store["db"], sourceId: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from users where source_id = ${sourceId} and external_id is not null`.execute(db);
  return Number(rows[0]!.n);
}

/**
 * Every user holding one of `keys` as email or UPN. The chunk's own users (`held`) are usually those holders
 * already, so only the keys they do not hold are looked up (an email is unique, an UPN too, but one user's
 * email can be another's UPN, hence the two lists). Also the users kept when their source was removed whose
 * Entra object ID is one of `ids` (the chunk's users the source does not hold).
 */
async function holdersOf(store: Store, workspaceId: string, keys: string[], held: HeldUser[], ids: string[]): Promise<HeldUser[]> {
  const lower = (k: string | null) => k?.toLowerCase() ?? "";
  const wanted = new Set(keys);
  const ownEmails = new Set(held.map((h) => lower(h.email)));
  const ownUpns = new Set(held.map((h) => lower(h.userPrincipalName)));
  const byEmail = keys.filter((k) => !ownEmails.has(k));
  const byUpn = keys.filter((k) => !ownUpns.has(k));
  const others = byEmail.length || byUpn.length || ids.length
    ? await heldUsers(store, sql`u.id in (
        select id from users where workspace_id = ${workspaceId} and lower(email) = any(${byEmail}::text[])
        union all select id from users where workspace_id = ${workspaceId} and lower(user_principal_name) = any(${byUpn}::text[])
        union all select id from users where source_id is null and external_id = any(${ids}::text[]) and workspace_id = ${workspaceId})`)
    : [];
  const own = held.filter((h) => wanted.has(lower(h.email)) || wanted.has(lower(h.userPrincipalName)));
  const ownIds = new Set(own.map((h) => h.id));
  return [...own, ...others.filter((o) => !ownIds.has(o.id))];
}

/**
 * The emails/UPNs this source's holders will have after the run (see UserPlanInput.futureKeys), and which of them
 * Entra ID no longer lists in the source's scope (UserPlanInput.departed).
 */
async function keysAfterRun(
  store: Store,
  input: { sourceId: string; config: EntraConfig; desired: DesiredUser[]; holders: HeldUser[]; restorable: ReadonlySet<string> },
): Promise<{ future: Map<string, string[]>; departed: Set<string> }> {
  const ours = input.holders.filter((h) => h.sourceId === input.sourceId && h.externalId);
  const desiredById = new Map(input.desired.map((d) => [d.externalId, d]));
  const future = new Map<string, string[]>();
  const departed = new Set<string>();
  const elsewhere: HeldUser[] = [];
  for (const h of ours) {
    const desired = desiredById.get(h.externalId!);
    if (desired) future.set(h.id, addressKeys(desired));
    else elsewhere.push(h);
  }
  if (elsewhere.length) {
    const { rows } = await sql<{ id: string; data: Record<string, unknown> }>`select id, data from (${inScopeUsers(input.sourceId, input.config)}) x
      where id = any(${elsewhere.map((h) => h.externalId!)}::text[])`.execute(store.db);
    const byExternal = new Map(rows.map((r) => [r.id, mapUser(r.data, input.config)]));
    for (const h of elsewhere) {
      const desired = byExternal.get(h.externalId!);
      // Out of scope: it keeps its values unless this run deletes it.
      if (desired) future.set(h.id, addressKeys(desired));
      else {
        departed.add(h.id);
        if (input.config.onRemove === "delete" && !input.restorable.has(h.externalId!)) future.set(h.id, []); // a soft-deleted one is only disabled
      }
    }
  }
  for (const id of await departedElsewhere(store, input.sourceId, input.holders)) departed.add(id);
  return { future, departed };
}

/**
 * Disabled holders of the workspace's other Entra sources that their source no longer lists in its scope (a
 * person who left the company's old tenant, the default on-remove keeping them disabled): their address is free
 * for this source to link, as for its own leavers. One still in its source's scope, disabled there, is not.
 */
async function departedElsewhere(store: Store, sourceId: string, holders: HeldUser[]): Promise<string[]> {
  const candidates = holders.filter((h) => h.sourceType === "entra" && h.sourceId !== null && h.sourceId !== sourceId && !h.enabled && h.externalId);
  const departed: string[] = [];
  for (const other of new Set(candidates.map((h) => h.sourceId!))) {
    const row = await store.db.selectFrom("sources").select("config").where("id", "=", other).executeTakeFirst();
    const parsed = row && entraConfigSchema.safeParse(row.config);
    if (!parsed?.success) continue;
    const theirs = candidates.filter((h) => h.sourceId === other);
    const { rows } = await sql<{ id: string }>`select id from (${inScopeUsers(other, parsed.data)}) x where id = any(${theirs.map((h) => h.externalId!)}::text[])`.execute(store.db);
    const listed = new Set(rows.map((r) => r.id));
    departed.push(...theirs.filter((h) => !listed.has(h.externalId!)).map((h) => h.id));
  }
  return departed;
}

/** A promise awaited later: until then, its failure must not count as unhandled (it is thrown where it is awaited). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function planRow(runId: string, c: UserChange): Promise<(string | null)[]> {
  switch (c.action) {
    case "create":
    case "update": {
      const fields = await plannedFields(c.after);
      if (c.action === "update") Object.assign(fields, { tags: c.tags, logAction: c.logAction, changed: c.changed, ...(c.reason && { reason: c.reason }) });
      return [runId, c.action, c.action === "update" ? c.userId : null, c.externalId, JSON.stringify(fields), c.action === "update" ? JSON.stringify(c.before) : null, c.subject];
    }
    case "disable":
      return [runId, c.action, c.userId, c.externalId, c.reason ? JSON.stringify({ reason: c.reason }) : null, JSON.stringify(c.before), c.subject];
    case "delete":
    case "release":
    case "purge":
      return [runId, c.action, c.userId, c.externalId, null, JSON.stringify(c.before), c.subject];
    case "conflict":
      return [runId, "conflict", c.holderId || null, c.externalId, JSON.stringify({ message: c.message }), null, c.subject];
  }
}

async function heldUsers(store: Store, where: ReturnType<typeof sql>): Promise<HeldUser[]> {
  const { rows } = await sql<StoredRow & { id: string; source_id: string | null; source_type: HeldUser["sourceType"]; source_name: string; external_id: string | null; tags: string[]; aliases: string[]; card_numbers: string[] }>`
    select u.id, u.source_id, u.source_type, u.source_name, u.external_id, u.tags, ${userColumnList("u")},
      ${identifierList("alias")} as aliases, ${identifierList("card")} as card_numbers
    from users u where ${where}`.execute(store.db);
  return rows.map((r) => ({
    id: r.id,
    sourceId: r.source_id,
    sourceType: r.source_type,
    sourceName: r.source_name,
    externalId: r.external_id,
    tags: r.tags,
    ...storedFieldsOf(r),
    aliases: r.aliases,
    cardNumbers: r.card_numbers,
  }));
}
