import { sql, type RawBuilder } from "kysely";
import type { Db } from "../storage/database.ts";

/**
 * Folds a complete listing (staging) into the source's mirror, one chain at a time: the users, then the
 * groups with their members. Each chain is merged in one transaction with the delta link it ended on, so a
 * cursor moves exactly with the data it produced. A full listing replaces the mirror; a delta round upserts
 * and removes. Only rows whose data changed are written, and they become dirty (a group also when its
 * members changed), staying dirty until a run brings the directory in step with them (so a dry run, a
 * stopped run or a run whose groups chain failed after its users were merged loses nothing).
 * Replayed changes are idempotent: an object's occurrences in the round fold in listing order (staging `seq`).
 */
interface MergeInput {
  sourceId: string;
  runId: string;
  mode: "full" | "delta";
  deltaLink: string;
  /**
   * A dry run keeps the source's delta links (and markListed its last full run): the next real run lists from
   * where the last real one ended. What the dry run merged stays dirty, so that run still plans all of it.
   */
  dryRun: boolean;
}

/**
 * Each object of the round once, as its staged occurrences add up. Graph may send an object more than once in a
 * round ("a single entity will be contained multiple times in the response", delta-query-overview), each time
 * with only some of its properties: they fold in listing order as rounds fold into the mirror (an absent property
 * keeps the earlier occurrence's value, an explicit null clears it). The last occurrence decides a removal, and
 * one after a removal starts afresh. Most objects come once: only repeated ones pay for the fold.
 */
function roundObjects(stage: string, runId: string): RawBuilder<unknown> {
  const t = sql.table(stage);
  const folded = sql`(select jsonb_object_agg(key, value) from (select distinct on (p.key) p.key, p.value
      from ${t} c cross join lateral jsonb_each(c.data) p
      where c.run_id = ${runId} and c.id = s.id and c.seq <= s.seq
        and c.seq > coalesce((select max(d.seq) from ${t} d where d.run_id = ${runId} and d.id = s.id and d.removed is not null), 0)
      order by p.key, c.seq desc) k)`;
  return sql`select distinct on (id) id, case when copies = 1 or removed is not null then data else ${folded} end as data, removed
    from (select id, seq, data, removed, count(*) over (partition by id order by seq desc rows between unbounded preceding and unbounded following) as copies
      from ${t} where run_id = ${runId}) s
    order by id, seq desc`;
}

/** A temp table of each object of the round, its occurrences folded (roundObjects). */
async function latestCopies(trx: Db, table: string, stage: string, runId: string): Promise<void> {
  await sql`create temp table ${sql.table(table)} on commit drop as ${roundObjects(stage, runId)}`.execute(trx);
  await sql`analyze ${sql.table(table)} (id, removed)`.execute(trx);
}

/** The users chain. */
export async function mergeUsers(db: Db, input: MergeInput): Promise<void> {
  const { sourceId: s, runId: r } = input;
  const changed = await db.transaction().execute(async (trx) => {
    const fill = input.mode === "full" && (await sql`select 1 from entra_users where source_id = ${s} limit 1`.execute(trx)).rows.length === 0;
    if (!fill) await dirtyUnconfirmedMirror(trx, s);
    const written = fill ? await fillMirror(trx, input) : await mergeIntoMirror(trx, input);
    if (!input.dryRun) await sql`update source_state set users_delta_link = ${input.deltaLink} where source_id = ${s}`.execute(trx);
    return written;
  });
  await sql`delete from sync_stage_users where run_id = ${r}`.execute(db);
  // The mirror can change by the whole tenant in one go: fresh statistics keep the planning joins hashed
  // (on the joined columns only: sampling the JSON ones costs about a second a table).
  if (changed >= manyRows) await sql`analyze entra_users (source_id, id), entra_dirty_users, users (id, workspace_id, source_id, external_id)`.execute(db);
}

/**
 * A mirror no users delta link vouches for may be ahead of the directory: a streamed first sync commits its mirror
 * apart from the directory (first-sync.ts), and when the directory's transaction then fails or is killed, only
 * the link (written with the directory) is missing. Such a mirror's rows all become dirty, so the run plans every
 * user, as after a change of the source's scope (core/sources.ts), whichever path it takes.
 */
async function dirtyUnconfirmedMirror(trx: Db, s: string): Promise<void> {
  await sql`insert into entra_dirty_users (source_id, id) select source_id, id from entra_users where source_id = ${s}
    and not exists (select 1 from source_state where source_id = ${s} and users_delta_link is not null)
    on conflict do nothing`.execute(trx);
}

/** Each listed user, folded, replaces the mirror's (full) or is upserted into it (delta); returns the rows changed. */
async function mergeIntoMirror(trx: Db, input: MergeInput): Promise<number> {
  const { sourceId: s, runId: r } = input;
  await latestCopies(trx, "latest_users", "sync_stage_users", r);
  const departed = input.mode === "full"
    ? sql`delete from entra_users e where e.source_id = ${s} and not exists (select 1 from latest_users l where l.id = e.id and l.removed is null) returning e.id`
    : sql`delete from entra_users e using latest_users l where e.source_id = ${s} and e.id = l.id and l.removed is not null returning e.id`;
  const gone = await sql`with departed as (${departed}) insert into entra_departed (source_id, id) select ${s}, id from departed on conflict do nothing`.execute(trx);
  await trackRestorable(trx, input);
  return rowsOf(gone) + await dirtied(trx, s, sql`insert into entra_users (source_id, id, data)
    select ${s}, l.id, ${merged(input.mode)} from latest_users l left join entra_users e on e.source_id = ${s} and e.id = l.id
    where l.removed is null and (e.id is null or e.data <> ${merged(input.mode)})
    on conflict (source_id, id) do update set data = excluded.data returning id`);
}

/**
 * Which users Entra ID holds soft-deleted (entra_restorable): `@removed` reason "changed" means "deleted and can be
 * restored", "deleted" means "deleted and cannot be restored" (https://learn.microsoft.com/graph/delta-query-overview,
 * resource representation in the delta query response). A user stops being restorable when a listing lists it again
 * (restored), when a delta round reports it deleted for good, and when a full run does not find it soft-deleted (it is
 * gone, whatever happened meanwhile). A full listing names no soft-deleted user: the run stages as such those of its
 * held users that deletedItems lists (soft-deleted.ts). One that stops being restorable without being listed is departed again,
 * so that the run plans its removal under the source's on-remove rule (plan.ts).
 */
async function trackRestorable(trx: Db, input: MergeInput): Promise<void> {
  const s = input.sourceId;
  const ends = input.mode === "full"
    ? sql`not exists (select 1 from latest_users l where l.id = r.id and l.removed = 'changed')`
    : sql`exists (select 1 from latest_users l where l.id = r.id and l.removed is distinct from 'changed')`;
  await sql`with ended as (delete from entra_restorable r where r.source_id = ${s} and ${ends} returning r.id)
    insert into entra_departed (source_id, id) select ${s}, e.id from ended e
    where not exists (select 1 from latest_users l where l.id = e.id and l.removed is null) on conflict do nothing`.execute(trx);
  await sql`insert into entra_restorable (source_id, id) select ${s}, id from latest_users where removed = 'changed' on conflict do nothing`.execute(trx);
}

/** Of `ids` (Entra object ids), those Entra ID holds soft-deleted for the source: restorable (trackRestorable). */
export async function restorableOf(db: Db, sourceId: string, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const { rows } = await sql<{ id: string }>`select id from entra_restorable where source_id = ${sourceId} and id = any(${ids}::text[])`.execute(db);
  return new Set(rows.map((r) => r.id));
}

/**
 * What a listed object `l` makes of its mirrored copy `e`. A full listing replaces it (an absent property was
 * never set). A delta round sends "at least the properties that have been updated": an absent property keeps its
 * mirrored value, an explicit null clears it; with `Prefer: return=minimal` only changed ones come at all.
 * https://learn.microsoft.com/graph/delta-query-overview, https://learn.microsoft.com/graph/api/user-delta
 */
const merged = (mode: MergeInput["mode"]) => (mode === "full" ? sql`l.data` : sql`coalesce(e.data || l.data, l.data)`);

/**
 * A full listing into an empty mirror (a source's first run): nothing to compare or remove, so each user of the
 * round goes straight in, in key order, without a temp table (about 1 s at 100k users).
 */
async function fillMirror(trx: Db, input: MergeInput): Promise<number> {
  return dirtied(trx, input.sourceId, sql`insert into entra_users (source_id, id, data)
    select ${input.sourceId}, l.id, l.data from (${roundObjects("sync_stage_users", input.runId)}) l
    where l.removed is null returning id`);
}

/** Runs an insert into the mirror's users `returning id`: the rows it wrote become dirty. Returns how many. */
async function dirtied(trx: Db, sourceId: string, insert: RawBuilder<unknown>): Promise<number> {
  const { rows } = await sql<{ n: number }>`with written as (${insert}),
    marked as (insert into entra_dirty_users (source_id, id) select ${sourceId}, id from written on conflict do nothing)
    select count(*)::int as n from written`.execute(trx);
  return rows[0]!.n;
}

/** Runs a delete or insert of mirror members `returning group_id`: their groups become dirty. Returns the rows it changed. */
async function movedMembers(trx: Db, change: RawBuilder<unknown>): Promise<number> {
  const { rows } = await sql<{ n: number }>`with changed as (${change}), moved as (insert into moved_groups select distinct group_id from changed)
    select count(*)::int as n from changed`.execute(trx);
  return rows[0]!.n;
}

/** Rows changed before fresh statistics are worth their cost (0.1-0.4 s a table at 100k rows). */
export const manyRows = 5000;
const rowsOf = (result: { numAffectedRows?: bigint }) => Number(result.numAffectedRows ?? 0);

/** The groups chain with the members. `removesMembers`: the round removed a membership somewhere. */
export async function mergeGroups(db: Db, input: MergeInput & { removesMembers: boolean }): Promise<void> {
  const { sourceId: s, runId: r } = input;
  const changed = await db.transaction().execute(async (trx) => {
    await latestCopies(trx, "latest_groups", "sync_stage_groups", r);
    // Groups whose members this listing changes, marked dirty once their rows are in place (below).
    await sql`create temp table moved_groups (id text) on commit drop`.execute(trx);
    let written = input.mode === "full" ? await replaceMembers(trx, input) : await applyMemberDelta(trx, input);
    written += rowsOf(await sql`insert into entra_groups (source_id, id, data, dirty)
      select ${s}, l.id, ${merged(input.mode)}, true from latest_groups l left join entra_groups e on e.source_id = ${s} and e.id = l.id
      where l.removed is null and (e.id is null or e.data <> ${merged(input.mode)})
      on conflict (source_id, id) do update set data = excluded.data, dirty = true`.execute(trx));
    await sql`update entra_groups e set dirty = true from (select distinct id from moved_groups) m
      where e.source_id = ${s} and e.id = m.id and not e.dirty`.execute(trx);
    if (!input.dryRun) await sql`update source_state set groups_delta_link = ${input.deltaLink} where source_id = ${s}`.execute(trx);
    return written;
  });
  if (changed >= manyRows) await sql`analyze entra_groups (source_id, id, dirty), entra_members, groups (id, workspace_id, source_id, external_id), group_members`.execute(db);
}

/**
 * Memberships of groups the round removes are left out with NOT IN, which hashes those groups once. As NOT
 * EXISTS it was planned on the staging table's statistics, which only autovacuum refreshes: once they showed
 * another run's rows, the round's 290,000 members were estimated at one, and a nested loop scanned the 5,000
 * listed groups for each of them (85 s instead of 0.5 s, EXPLAIN ANALYZE in BENCHMARKS.md, session 13).
 */
const inRemovedGroup = (groupId: RawBuilder<unknown>) => sql`${groupId} in (select id from latest_groups where removed is not null)`;

/** The round's memberships, one row each, in the order they were listed (`seq`, then `n` within a group object). */
function stagedMembers(runId: string): RawBuilder<unknown> {
  return sql`select s.group_id, m.member_id, m.kind, m.removed, s.seq, m.n
    from sync_stage_members s cross join lateral unnest(s.member_ids, s.kinds, s.removed) with ordinality m(member_id, kind, removed, n)
    where s.run_id = ${runId}`;
}

/** The latest staged copy of each membership of the round (a round can add and remove the same one). */
async function latestMembers(trx: Db, runId: string): Promise<void> {
  await sql`create temp table latest_members on commit drop as
    select distinct on (group_id, member_id) group_id, member_id, kind, removed from (${stagedMembers(runId)}) x order by group_id, member_id, seq desc, n desc`.execute(trx);
  await sql`analyze latest_members`.execute(trx);
}

/**
 * A full round replaces the groups and members. A round that removes no membership needs no latest copy
 * of each (a temp table of 290,000 rows at 100k users): one listed twice only matches twice, and is inserted once.
 * Against members already held, one hash full join finds both what to add and what to remove. Inserts
 * go in key order: into an empty mirror that is 2.5 times as fast as in listing order.
 */
async function replaceMembers(trx: Db, input: MergeInput & { removesMembers: boolean }): Promise<number> {
  const { sourceId: s, runId: r } = input;
  await sql`delete from entra_groups e where e.source_id = ${s} and not exists (select 1 from latest_groups l where l.id = e.id and l.removed is null)`.execute(trx);
  if (input.removesMembers) await latestMembers(trx, r);
  const round = input.removesMembers ? sql`select * from latest_members where not removed` : stagedMembers(r);
  const listed = sql`select group_id, member_id, kind from (${round}) x
    where not ${inRemovedGroup(sql`x.group_id`)}`;
  const insert = (from: RawBuilder<unknown>) => movedMembers(trx, sql`insert into entra_members (source_id, group_id, member_id, kind)
    select distinct on (group_id, member_id) ${s}, group_id, member_id, kind from (${from}) f order by group_id, member_id returning group_id`);
  const held = await sql`select 1 from entra_members where source_id = ${s} limit 1`.execute(trx);
  if (held.rows.length === 0) return insert(listed);
  await sql`create temp table member_changes on commit drop as
    select coalesce(l.group_id, m.group_id) as group_id, coalesce(l.member_id, m.member_id) as member_id, l.kind, m.member_id is null as added
    from (${listed}) l full join (select group_id, member_id from entra_members where source_id = ${s}) m on m.group_id = l.group_id and m.member_id = l.member_id
    where l.member_id is null or m.member_id is null`.execute(trx);
  const removed = await movedMembers(trx, sql`delete from entra_members m using member_changes c
    where not c.added and m.source_id = ${s} and m.group_id = c.group_id and m.member_id = c.member_id returning m.group_id`);
  return removed + (await insert(sql`select group_id, member_id, kind from member_changes where added`));
}

/** A delta round: groups and memberships it removes go, the ones it lists are added (an anti-join, not ON CONFLICT: an unchanged listing then writes and probes nothing). */
async function applyMemberDelta(trx: Db, input: MergeInput): Promise<number> {
  const { sourceId: s, runId: r } = input;
  await latestMembers(trx, r);
  await sql`delete from entra_groups g using latest_groups l where g.source_id = ${s} and g.id = l.id and l.removed is not null`.execute(trx);
  await sql`delete from entra_members m using latest_groups l where m.source_id = ${s} and m.group_id = l.id and l.removed is not null`.execute(trx);
  const removed = await movedMembers(trx, sql`delete from entra_members m using latest_members l
    where m.source_id = ${s} and m.group_id = l.group_id and m.member_id = l.member_id and l.removed returning m.group_id`);
  return removed + (await movedMembers(trx, sql`insert into entra_members (source_id, group_id, member_id, kind)
    select ${s}, l.group_id, l.member_id, l.kind from latest_members l
    where not l.removed and not ${inRemovedGroup(sql`l.group_id`)}
      and not exists (select 1 from entra_members m where m.source_id = ${s} and m.group_id = l.group_id and m.member_id = l.member_id)
    returning group_id`));
}

/**
 * Both chains are merged. Only now does a full listing count as the source's last full one (if the process
 * dies before this, the next run is a full one again). A source that needs no groups keeps no groups link.
 */
export async function markListed(db: Db, input: { sourceId: string; mode: "full" | "delta"; groups: boolean; dryRun: boolean }): Promise<void> {
  if (input.dryRun) return;
  await sql`update source_state set last_full_at = case when ${input.mode === "full"} then now() else last_full_at end,
    groups_delta_link = case when ${input.groups} then groups_delta_link end where source_id = ${input.sourceId}`.execute(db);
}
