import { sql, type RawBuilder } from "kysely";
import type { Db } from "../storage/database.ts";
import type { EntraConfig } from "../sources/entra/config.ts";
import type { GroupPlan } from "./plan-groups.ts";
import { applyGroups, applyMemberships, logMissingGroups } from "./apply-groups.ts";
import { manyRows } from "./merge.ts";
import { purgedReason } from "./plan.ts";
import { systemTags } from "../domain/user.ts";
import { clearSeenMarks } from "./dirty.ts";
import { userColumnList, userValuesFromJson } from "../storage/user-row.ts";
import { recordChange } from "../core/change-log.ts";
import { logUsersLeavingGroups } from "../storage/queries/groups.ts";
import { applyManagers } from "./managers.ts";
import { logReportsLosingManager } from "../storage/queries/managers.ts";

/**
 * The applier: one transaction of set-based SQL over the planned rows (sync_plan_users, COPY'd in by the
 * planner), then groups and direct memberships, then the mirror's dirty flags. Either all of it lands or
 * none of it does, so a failure or a kill mid-way leaves the directory as it was before the run.
 */
export interface ApplyInput {
  runId: string;
  workspaceId: string;
  source: { id: string; name: string };
  /** The workspace's name, for advice that names the command to run (advice.ts); "default" when unknown. */
  workspaceName?: string;
  config: EntraConfig;
  actor: string;
  /** Rows the planner wrote to sync_plan_users for this run. */
  plannedRows: number;
  /** The run's: once aborted (Ctrl-C, a cancel), the apply stops after its current step and its transaction rolls back. */
  signal?: AbortSignal;
  /** Warnings about the run as a whole (list-and-plan.ts), each logged on the run. */
  runWarnings?: RunWarning[];
}

/** A warning about the run rather than about one user or group: `subject` is what the log entry names. */
export interface RunWarning {
  subject: string;
  message: string;
}

/** What an apply did beyond the planned users' rows: the runner adds it to the run's counts and timings. */
export interface Applied {
  groupCounts: GroupPlan["counts"];
  memberships: { added: number; removed: number };
  /** Warnings the apply found (taken cards or aliases, selected groups Entra ID lacks), each logged on the run. */
  warnings: number;
  timings: Record<string, number>;
}

/**
 * Records in `timings` the milliseconds since the previous lap (or since it was made) under each step's name,
 * and throws the abort's reason once `signal` is aborted: a stopped run does not wait for the apply's last step.
 */
export function lapTimer(timings: Record<string, number>, signal?: AbortSignal): (step: string) => void {
  let clock = performance.now();
  return (step) => {
    const now = performance.now();
    timings[step] = Math.round(now - clock);
    clock = now;
    signal?.throwIfAborted();
  };
}

/** `dirtySeen`: the newest dirty mark the plan saw (dirty.ts); newer ones outlive the run. */
export async function applyPlan(trx: Db, input: ApplyInput & { dirtySeen: number }): Promise<Applied> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  const timings: Record<string, number> = {};
  const lap = lapTimer(timings, input.signal);
  // Fresh statistics for a big COPY'd plan, or the planner guesses nested loops over thousands of rows (a small
  // one is fine without). Every ANALYZE here names the columns that are joined or filtered on: sampling the
  // JSON columns costs ~1 s a table.
  if (input.plannedRows >= manyRows) await sql`analyze sync_plan_users (run_id, action, external_id, user_id)`.execute(trx);
  const s = source.id;
  const f = (path: string) => sql.raw(`p.fields->>'${path}'`);
  const list = (path: string) => sql.raw(`coalesce(array(select jsonb_array_elements_text(p.fields->'${path}')), '{}')`);
  // The planned user's stored columns, from its fields (as plannedFields wrote them).
  const planned = userValuesFromJson("p.fields");

  // Removals first, so that emails they free can be reused by the creates below.
  const deleted = sql`select p.user_id from sync_plan_users p where p.run_id = ${r} and p.action = 'delete'`;
  await logUsersLeavingGroups(trx, { workspaceId: ws, runId: r, actor, users: deleted, reason: `the user was deleted by the sync of Entra ID source "${source.name}"` });
  await logReportsLosingManager(trx, { workspaceId: ws, runId: r, actor, deleted, reason: `the manager was deleted by the sync of Entra ID source "${source.name}"` });
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, p.user_id, p.subject, 'delete', p.before, null, ${actor} from sync_plan_users p where p.run_id = ${r} and p.action = 'delete'`.execute(trx);
  await sql`delete from users u using sync_plan_users p where p.run_id = ${r} and p.action = 'delete' and u.id = p.user_id`.execute(trx);
  await sql`update users u set enabled = false, updated_at = now() from sync_plan_users p where p.run_id = ${r} and p.action = 'disable' and u.id = p.user_id`.execute(trx);
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, p.user_id, p.subject, 'disable', p.before, jsonb_build_object('enabled', false, 'reason', coalesce(p.fields->>'reason', 'removed from Entra ID or out of the source''s scope')), ${actor}
    from sync_plan_users p where p.run_id = ${r} and p.action = 'disable'`.execute(trx);
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, p.user_id, p.subject, 'purge', null, jsonb_build_object('externalId', p.external_id, 'reason', ${purgedReason}::text), ${actor}
    from sync_plan_users p where p.run_id = ${r} and p.action = 'purge'`.execute(trx);

  await releaseUsers(trx, input);

  // Emails and UPNs that move between users (two users swapping them) are cleared first, so the unique
  // indexes never see one value on two rows mid-way.
  await sql`update users u set email = null, user_principal_name = null from sync_plan_users p
    where p.run_id = ${r} and p.action = 'update' and u.id = p.user_id
      and (lower(u.email) is distinct from lower(${f("email")}) or lower(u.user_principal_name) is distinct from lower(${f("userPrincipalName")}))`.execute(trx);
  await sql`update users u set
      ${sql.join(planned.map(([column, value]) => sql`${sql.raw(column)} = ${value}`))},
      pin_hash = coalesce(p.fields->>'pinHash', u.pin_hash), tags = ${list("tags")},
      source_type = 'entra', source_name = ${source.name}, source_id = ${s}, external_id = p.external_id, updated_at = now()
    from sync_plan_users p where p.run_id = ${r} and p.action = 'update' and u.id = p.user_id`.execute(trx);
  // A link says where the user came from (added by hand, an import, another Entra source) and the tags it traded.
  const linked = (side: "before" | "after") => side === "before"
    ? sql`jsonb_build_object('source', jsonb_build_object('type', p.before->>'sourceType', 'name', p.before->>'sourceName'), 'tags', p.before->'tags')`
    : sql`jsonb_build_object('source', jsonb_build_object('type', 'entra', 'name', ${source.name}::text), 'tags', p.fields->'tags',
        'changed', (p.fields->'changed') || '["source", "tags"]'::jsonb)`;
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, p.user_id, p.subject, p.fields->>'logAction',
      case when p.fields->>'logAction' = 'link' then p.before || ${linked("before")} else p.before end,
      case when p.fields->>'logAction' = 'link' then (p.fields - 'logAction' - 'pinHash') || ${linked("after")} else p.fields - 'logAction' - 'pinHash' - 'tags' end, ${actor}
    from sync_plan_users p where p.run_id = ${r} and p.action = 'update' and (jsonb_array_length(p.fields->'changed') > 0 or p.fields->>'logAction' = 'link')`.execute(trx);

  // Logged once their groups are known (logCreatedUsers): a user created by the run carries its groups in its
  // "create" entry, as an import's do, instead of one "add to group" entry per membership (290,000 rows at 100k users).
  await sql`create temp table created_users on commit drop as select id, external_id from users where false`.execute(trx);
  const created = await sql`with created as (
      insert into users (workspace_id, ${userColumnList()}, pin_hash, source_type, source_name, source_id, external_id, tags)
      select ${ws}, ${sql.join(planned.map(([, value]) => value))}, ${f("pinHash")}, 'entra', ${source.name}, ${s}, p.external_id, array['ID synced']
      from sync_plan_users p where p.run_id = ${r} and p.action = 'create'
      order by lower(${f("email")})
      returning id, external_id)
    insert into created_users select id, external_id from created`.execute(trx);
  await sql`analyze created_users`.execute(trx);

  lap("users");
  const identifierWarnings = await applyIdentifiers(trx, input);
  // Conflicts and per-user warnings go to the run's change log, on the user concerned. A conflict is planned by
  // every run until it resolves: one that the user's history already ends with is logged for the run alone.
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, case when last.repeated then null else coalesce(u.id, p.user_id) end, p.subject, p.action, null,
      p.fields || jsonb_build_object('externalId', p.external_id), ${actor}
    from sync_plan_users p left join users u on u.source_id = ${s} and u.external_id = p.external_id
    left join lateral (
      select c.action = 'conflict' and c.after->>'message' = p.fields->>'message' and c.after->>'externalId' = p.external_id as repeated
      from change_log c where c.user_id = coalesce(u.id, p.user_id) order by c.id desc limit 1) last on p.action = 'conflict'
    where p.run_id = ${r} and p.action in ('conflict', 'warning')`.execute(trx);

  lap("identifiers");
  const groupCounts = await applyGroups(trx, input);
  const warnings = identifierWarnings + (await logMissingGroups(trx, input)) + (await logRunWarnings(trx, input));
  lap("groups");
  const written = Number(created.numAffectedRows ?? 0) + groupCounts.groupsCreated;
  const memberships = await applyMemberships(trx, input, written);
  await logCreatedUsers(trx, input, memberships.newMembers, sql`select c.id, p.subject, p.fields - 'pinHash' as after
    from created_users c join sync_plan_users p on p.run_id = ${r} and p.action = 'create' and p.external_id = c.external_id`);
  lap("memberships");
  const managers = input.config.syncManagers ? await applyManagers(trx, input) : { changed: 0, warnings: 0 };
  lap("managers");
  // A conflict is planned again by every run until it resolves, so its mirror row stays dirty.
  const cleaned = await clearSeenMarks(trx, { sourceId: s, runId: r, seen: input.dirtySeen });
  await sql`update entra_groups set dirty = false where source_id = ${s} and dirty`.execute(trx);
  await sql`delete from entra_departed where source_id = ${s}`.execute(trx);
  // Statistics from when the whole mirror was dirty (after a first listing) would plan the next run's
  // queries for 100k dirty rows (whole-table scans) instead of its few.
  if (cleaned >= manyRows) await sql`analyze entra_dirty_users, entra_groups (source_id, dirty)`.execute(trx);
  lap("mirror");
  return { groupCounts, memberships: { added: memberships.added, removed: memberships.removed }, warnings: warnings + managers.warnings, timings };
}

/** The run's warnings about itself, an entry of its log each. Returns how many. */
async function logRunWarnings(trx: Db, input: ApplyInput): Promise<number> {
  const warnings = input.runWarnings ?? [];
  for (const { subject, message } of warnings) {
    await recordChange(trx, { workspaceId: input.workspaceId, runId: input.runId, actor: input.actor, subject, action: "warning", after: { messages: [message] } });
  }
  return warnings.length;
}

/**
 * The "create" entries of the users this run created, with the groups they joined when the source syncs groups,
 * and the deleted user each one replaces (replacedUsers).
 * `entries`: `select id, subject, after` of each created user (`created_users`), its entry without the groups.
 */
export async function logCreatedUsers(trx: Db, input: ApplyInput, newMembers: string, entries: RawBuilder<unknown>): Promise<void> {
  const { runId: r, workspaceId: ws, actor } = input;
  const withGroups = input.config.groupMode !== "none";
  const joined = sql`select n.member_user_id as id, json_agg(g.name order by lower(g.name)) as names
    from ${sql.table(newMembers)} n join created_users c on c.id = n.member_user_id join groups g on g.id = n.group_id group by n.member_user_id`;
  // The groups and the replaced user are spliced into the entry's text (an object with at least a display name):
  // the log keeps json, and merging as jsonb would parse the streamed entries only to write them out again.
  const groups = withGroups ? sql`', "groups": ' || coalesce(j.names::text, '[]')` : sql`''`;
  const spliced = sql`(left(rtrim(e.after::text), -1) || ${groups} || coalesce(', "replaces": ' || x.replaces::text, '') || '}')::json`;
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, e.id, e.subject, 'create', null,
      ${withGroups ? spliced : sql`case when x.replaces is null then e.after::json else ${spliced} end`}, ${actor}
    from (${entries}) e
    ${withGroups ? sql`left join (${joined}) j on j.id = e.id` : sql``}
    left join (${replacedUsers(input)}) x on x.id = e.id
    order by e.id`.execute(trx);
}

/**
 * For each user this run created (`created_users`), the newest user deleted from the workspace that had the same
 * source and Entra object ID, if any: deleted by hand (or by a run), the sync creates them again under a new id, and
 * their history stays with the old one. One join over the workspace's delete entries (their own index, migration
 * 030), not a look-up a user. An admin's delete keeps the user as the API shows it (source by name), a run's as
 * the planner held it (source by id).
 */
function replacedUsers(input: ApplyInput): RawBuilder<unknown> {
  const { workspaceId: ws, source } = input;
  return sql`select distinct on (c.id) c.id,
      json_build_object('id', d.user_id, 'deletedAt', to_char(d.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'deletedBy', d.actor, 'source', ${source.name}::text) as replaces
    from created_users c join change_log d on coalesce(d.before->'source'->>'externalId', d.before->>'externalId') = c.external_id
    where d.workspace_id = ${ws} and d.action = 'delete' and d.user_id is not null
      and (d.before->>'sourceId' = ${source.id}::text or (d.before->'source'->>'type' = 'entra' and d.before->'source'->>'name' = ${source.name}::text))
    order by c.id, d.id desc`;
}

/**
 * Aliases and card numbers of the users written above. A value another user already holds is left out,
 * with a warning on the user who wanted it naming the holder. Returns the number of such warnings.
 */
async function applyIdentifiers(trx: Db, input: ApplyInput): Promise<number> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  await sql`create temp table wanted_identifiers on commit drop as
    select u.id as user_id, p.subject, p.external_id, k.kind, case when k.kind = 'alias' then lower(a.value) else a.value end as key, a.value, a.n - 1 as position
    from sync_plan_users p join users u on u.source_id = ${source.id} and u.external_id = p.external_id
    cross join lateral (values ('alias', 'aliases'), ('card', 'cardNumbers')) k(kind, path)
    cross join lateral jsonb_array_elements_text(p.fields->k.path) with ordinality a(value, n)
    where p.run_id = ${r} and p.action in ('create', 'update')`.execute(trx);
  await sql`delete from user_identifiers i using sync_plan_users p, users u
    where p.run_id = ${r} and p.action = 'update' and u.source_id = ${source.id} and u.external_id = p.external_id and i.user_id = u.id`.execute(trx);
  await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position)
    select ${ws}, kind, key, value, user_id, position from wanted_identifiers on conflict do nothing`.execute(trx);
  const { rows } = await sql<{ n: number }>`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, w.user_id, min(w.subject), 'warning', null, jsonb_build_object('externalId', min(w.external_id), 'messages', jsonb_agg(
      format('%s "%s" is already held by user %s (%s); left out', case w.kind when 'alias' then 'alias' else 'card number' end, w.value, o.id,
        coalesce(o.email, o.user_principal_name, o.display_name)) order by w.kind, w.position)), ${actor}
    from wanted_identifiers w
    join user_identifiers i on i.workspace_id = ${ws} and i.kind = w.kind and i.key = w.key and i.user_id <> w.user_id
    join users o on o.id = i.user_id
    group by w.user_id
    returning json_array_length(after->'messages') as n`.execute(trx);
  return rows.reduce((sum, row) => sum + Number(row.n), 0);
}

/**
 * Users that left the scope of a source removing with `keep` become manual users, as those of a removed source
 * do (core/source-removal.ts): tagged Manual, shown as kept from the source, with their Entra object ID so the
 * source takes them back if they come back into scope.
 */
async function releaseUsers(trx: Db, input: ApplyInput): Promise<void> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  const message = `Left the scope of Entra ID source "${source.name}" (removed from Entra ID or out of its scope); kept, managed in Rollcall from now on`;
  await sql`with released as (
      update users u set source_type = 'manual', source_id = null, updated_at = now(),
        tags = array_prepend(${systemTags.manual}::text, array_remove(array_remove(u.tags, ${systemTags.entra}::text), ${systemTags.manual}::text))
      from sync_plan_users p where p.run_id = ${r} and p.action = 'release' and u.id = p.user_id
      returning u.id, u.tags, u.enabled, p.subject, p.before)
    insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, id, subject, 'unlink',
      jsonb_build_object('source', jsonb_build_object('type', 'entra', 'name', ${source.name}::text), 'enabled', enabled, 'tags', before->'tags'),
      jsonb_build_object('source', jsonb_build_object('type', 'manual', 'name', ${source.name}::text), 'enabled', enabled, 'tags', to_jsonb(tags), 'message', ${message}::text), ${actor}
    from released`.execute(trx);
}
