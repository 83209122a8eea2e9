import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { EntraConfig } from "../sources/entra/config.ts";
import { isIgnored, isSelected, planGroups, type GroupPlan, type HeldGroup, type SourceGroup } from "./plan-groups.ts";
import { attributePrefix, inScopeUsers, wantedMemberships } from "./scope.ts";

/**
 * The applier: one transaction of set-based SQL over the planned rows (sync_plan_users, COPY'd in by the
 * planner), then groups and direct memberships, then the mirror's dirty flags. Either all of it lands or
 * none of it does, so a failure or a kill mid-way leaves the directory as it was before the run.
 */
export interface ApplyInput {
  runId: string;
  workspaceId: string;
  source: { id: string; name: string };
  config: EntraConfig;
  actor: string;
}

export async function applyPlan(trx: Db, input: ApplyInput): Promise<{ groupCounts: GroupPlan["counts"]; memberships: { added: number; removed: number }; timings: Record<string, number> }> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    timings[name] = Math.round(performance.now() - t);
    t = performance.now();
  };
  // Fresh statistics for the COPY'd plan, or the planner guesses nested loops over thousands of rows.
  await sql`analyze sync_plan_users`.execute(trx);
  const s = source.id;
  const f = (path: string) => sql.raw(`p.fields->>'${path}'`);
  const list = (path: string) => sql.raw(`coalesce(array(select jsonb_array_elements_text(p.fields->'${path}')), '{}')`);

  // Removals first, so that emails they free can be reused by the creates below.
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, p.user_id, p.subject, 'delete', p.before, null, ${actor} from sync_plan_users p where p.run_id = ${r} and p.action = 'delete'`.execute(trx);
  await sql`delete from users u using sync_plan_users p where p.run_id = ${r} and p.action = 'delete' and u.id = p.user_id`.execute(trx);
  await sql`update users u set enabled = false, updated_at = now() from sync_plan_users p where p.run_id = ${r} and p.action = 'disable' and u.id = p.user_id`.execute(trx);
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, p.user_id, p.subject, 'disable', p.before, jsonb_build_object('enabled', false, 'reason', 'removed from Entra ID or out of the source''s scope'), ${actor}
    from sync_plan_users p where p.run_id = ${r} and p.action = 'disable'`.execute(trx);

  await sql`update users u set
      user_principal_name = ${f("userPrincipalName")}, email = ${f("email")}, display_name = ${f("displayName")}, given_name = ${f("givenName")},
      surname = ${f("surname")}, department = ${f("department")}, job_title = ${f("jobTitle")}, employee_id = ${f("employeeId")},
      mobile_phone = ${f("mobilePhone")}, business_phones = ${list("businessPhones")}, preferred_language = ${f("preferredLanguage")},
      enabled = (p.fields->>'enabled')::boolean, custom_attributes = coalesce(p.fields->'customAttributes', '{}'),
      pin_hash = coalesce(p.fields->>'pinHash', u.pin_hash), tags = ${list("tags")},
      source_type = 'entra', source_name = ${source.name}, source_id = ${s}, external_id = p.external_id, updated_at = now()
    from sync_plan_users p where p.run_id = ${r} and p.action = 'update' and u.id = p.user_id`.execute(trx);
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, p.user_id, p.subject, p.fields->>'logAction', p.before, p.fields - 'logAction' - 'pinHash' - 'tags', ${actor}
    from sync_plan_users p where p.run_id = ${r} and p.action = 'update' and jsonb_array_length(p.fields->'changed') > 0`.execute(trx);

  await sql`with created as (
      insert into users (workspace_id, user_principal_name, email, display_name, given_name, surname, department, job_title, employee_id,
        mobile_phone, business_phones, preferred_language, enabled, pin_hash, custom_attributes, source_type, source_name, source_id, external_id, tags)
      select ${ws}, ${f("userPrincipalName")}, ${f("email")}, ${f("displayName")}, ${f("givenName")}, ${f("surname")}, ${f("department")}, ${f("jobTitle")},
        ${f("employeeId")}, ${f("mobilePhone")}, ${list("businessPhones")}, ${f("preferredLanguage")}, (p.fields->>'enabled')::boolean, ${f("pinHash")},
        coalesce(p.fields->'customAttributes', '{}'), 'entra', ${source.name}, ${s}, p.external_id, array['ID synced']
      from sync_plan_users p where p.run_id = ${r} and p.action = 'create'
      returning id, external_id)
    insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, c.id, p.subject, 'create', null, p.fields - 'pinHash', ${actor}
    from created c join sync_plan_users p on p.run_id = ${r} and p.action = 'create' and p.external_id = c.external_id`.execute(trx);

  lap("users");
  // Aliases and card numbers, when the mapping owns them. A value another user already holds is left out.
  for (const [kind, path, key] of [["alias", "aliases", "lower(a.value)"], ["card", "cardNumbers", "a.value"]] as const) {
    await sql`delete from user_identifiers i using sync_plan_users p, users u
      where p.run_id = ${r} and p.action in ('create', 'update') and p.fields ? ${path} and u.source_id = ${s} and u.external_id = p.external_id
        and i.user_id = u.id and i.kind = ${kind}`.execute(trx);
    await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position)
      select ${ws}, ${kind}, ${sql.raw(key)}, a.value, u.id, a.n - 1
      from sync_plan_users p join users u on u.source_id = ${s} and u.external_id = p.external_id
      cross join lateral jsonb_array_elements_text(p.fields->${path}) with ordinality a(value, n)
      where p.run_id = ${r} and p.action in ('create', 'update')
      on conflict do nothing`.execute(trx);
  }

  // Conflicts and per-user warnings go to the run's change log, on the user concerned.
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${ws}, ${r}, coalesce(u.id, p.user_id), p.subject, p.action, null, p.fields || jsonb_build_object('externalId', p.external_id), ${actor}
    from sync_plan_users p left join users u on u.source_id = ${s} and u.external_id = p.external_id
    where p.run_id = ${r} and p.action in ('conflict', 'warning')`.execute(trx);

  lap("identifiers");
  const groupCounts = await applyGroups(trx, input);
  lap("groups");
  const memberships = await applyMemberships(trx, input);
  lap("memberships");
  await sql`update entra_users set dirty = false where source_id = ${s} and dirty`.execute(trx);
  lap("mirror");
  return { groupCounts, memberships, timings };
}

async function desiredGroups(trx: Db, sourceId: string, config: EntraConfig): Promise<SourceGroup[]> {
  const filter = { ignore: config.ignoreGroups, ignoreContaining: config.ignoreGroupsContaining };
  let groups: SourceGroup[] = [];
  if (config.groupMode === "attribute" && config.groupAttribute) {
    const path = config.groupAttribute.split(".");
    // Values that differ only by surrounding spaces are one group (wantedMemberships joins on the trimmed value too).
    const { rows } = await sql<{ value: string }>`select distinct trim(s.data #>> ${path}::text[]) as value from (${inScopeUsers(sourceId, config)}) s
      where nullif(trim(s.data #>> ${path}::text[]), '') is not null`.execute(trx);
    groups = rows.map((row) => ({ externalId: attributePrefix + row.value, name: row.value, description: `Users whose ${config.groupAttribute} is "${row.value}"` }));
  } else if (config.groupMode === "selected" || config.groupMode === "all") {
    const { rows } = await sql<{ id: string; data: { displayName: string | null; description: string | null } }>`select id, data from entra_groups where source_id = ${sourceId}`.execute(trx);
    groups = rows
      .filter((row) => row.data.displayName)
      .map((row) => ({ externalId: row.id, name: row.data.displayName!.trim(), description: row.data.description }))
      .filter((g) => config.groupMode === "all" || isSelected(g, config.groups));
  }
  return groups.filter((g) => !isIgnored(g.name, filter)).sort((a, b) => (a.externalId < b.externalId ? -1 : 1));
}

async function applyGroups(trx: Db, input: ApplyInput): Promise<GroupPlan["counts"]> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  const desired = await desiredGroups(trx, source.id, input.config);
  const held = (await trx.selectFrom("groups").select(["id", "external_id", "name", "description"]).where("source_id", "=", source.id).execute()).map(
    (g): HeldGroup => ({ id: g.id, externalId: g.external_id ?? "", name: g.name, description: g.description }),
  );
  const others = await trx.selectFrom("groups").select("name").where("workspace_id", "=", ws).where((eb) => eb.or([eb("source_id", "is", null), eb("source_id", "<>", source.id)])).execute();
  const plan = planGroups({ desired, held, otherNames: new Set(others.map((g) => g.name.toLowerCase())) });
  const log = (groupId: string | null, subject: string, action: string, before: unknown, after: unknown) => ({
    workspace_id: ws, run_id: r, group_id: groupId, subject, action, before: JSON.stringify(before ?? null), after: JSON.stringify(after ?? null), actor,
  });
  const logs: ReturnType<typeof log>[] = [];
  for (const c of plan.changes) {
    if (c.action === "delete") {
      await trx.deleteFrom("groups").where("id", "=", c.id).execute();
      logs.push(log(c.id, c.name, "delete group", c.before, null));
    } else if (c.action === "update") {
      await trx.updateTable("groups").set({ name: c.name, description: c.description, updated_at: sql`now()` }).where("id", "=", c.id).execute();
      logs.push(log(c.id, c.name, "update group", c.before, { name: c.name, description: c.description }));
    } else if (c.action === "conflict") logs.push(log(null, c.name, "conflict", null, { externalId: c.externalId, message: c.message }));
  }
  const creates = plan.changes.filter((c) => c.action === "create");
  for (let at = 0; at < creates.length; at += 500) {
    const batch = creates.slice(at, at + 500);
    const rows = await trx
      .insertInto("groups")
      .values(batch.map((c) => ({ workspace_id: ws, name: c.name, description: c.description, source_type: "entra" as const, source_name: source.name, source_id: source.id, external_id: c.externalId })))
      .returning(["id", "name", "description"])
      .execute();
    for (const g of rows) logs.push(log(g.id, g.name, "create group", null, { name: g.name, description: g.description }));
  }
  for (let at = 0; at < logs.length; at += 500) await trx.insertInto("change_log").values(logs.slice(at, at + 500)).execute();
  return plan.counts;
}

async function applyMemberships(trx: Db, input: ApplyInput): Promise<{ added: number; removed: number }> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  const s = source.id;
  // One uuid column for the member (user and group ids never collide) so both diffs are plain hash anti-joins.
  await sql`create temp table want_members on commit drop as
    select distinct w.group_id, w.member_user_id, w.member_group_id, coalesce(w.member_user_id, w.member_group_id) as member_id
    from (${wantedMemberships(s, input.config)}) w`.execute(trx);
  await sql`create temp table have_members on commit drop as
    select gm.group_id, gm.member_user_id, gm.member_group_id, coalesce(gm.member_user_id, gm.member_group_id) as member_id
    from group_members gm join groups g on g.id = gm.group_id where g.source_id = ${s}`.execute(trx);
  await sql`analyze want_members`.execute(trx);
  await sql`analyze have_members`.execute(trx);
  await sql`create temp table gone_members on commit drop as
    select h.* from have_members h where not exists (select 1 from want_members w where w.group_id = h.group_id and w.member_id = h.member_id)`.execute(trx);
  await sql`create temp table new_members on commit drop as
    select w.* from want_members w where not exists (select 1 from have_members h where h.group_id = w.group_id and h.member_id = w.member_id)`.execute(trx);
  const label = sql.raw(`coalesce(u.email, u.user_principal_name, u.display_name, c.name, 'deleted member')`);
  const log = (table: string, verb: string) => sql`insert into change_log (workspace_id, run_id, user_id, group_id, subject, action, before, after, actor)
    select ${ws}, ${r}, x.member_user_id, x.group_id, ${label}, ${verb} || g.name, null, null, ${actor}
    from ${sql.table(table)} x join groups g on g.id = x.group_id left join users u on u.id = x.member_user_id left join groups c on c.id = x.member_group_id`;
  await log("gone_members", "remove from group ").execute(trx);
  const removed = await sql`delete from group_members gm using gone_members x
    where gm.group_id = x.group_id and (gm.member_user_id = x.member_user_id or gm.member_group_id = x.member_group_id)`.execute(trx);
  const added = await sql`insert into group_members (workspace_id, group_id, member_user_id, member_group_id)
    select ${ws}, group_id, member_user_id, member_group_id from new_members`.execute(trx);
  await log("new_members", "add to group ").execute(trx);
  return { added: Number(added.numAffectedRows ?? 0), removed: Number(removed.numAffectedRows ?? 0) };
}
