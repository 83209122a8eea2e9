import { sql } from "kysely";
import type { Db } from "../storage/database.ts";

/**
 * Synced groups Entra ID deleted, kept restorable here as long as there (entra_deleted_groups, migration 051). A run
 * deletes such a group with its memberships as before (each member's history says so); should Entra ID list its object
 * id again within 30 days, restored from Deleted groups (https://learn.microsoft.com/graph/api/directory-deleteditems-restore:
 * "A recently deleted item remains available for up to 30 days"), the run creates it under its old id, so the group's
 * page and history go on, its "restore group" entry saying why; its members then come as Graph lists them, and the
 * groups not synced from the source that held it (set here) hold it again. Groups Entra ID deletes for good at once
 * (emulator/tenant.ts restorableWhenDeleted) are kept all the same, a run cannot tell them apart without reading Deleted
 * groups: their object id never comes back, and their row expires. A group that only left the source's
 * groups (deselected, ignored, a group attribute's value) is not kept: back, it is a new group naming the one it replaces.
 */
export const retentionDays = 30;

export const restoredGroupReason = "restored in Entra ID from deleted groups";

/** Before the groups `ids` are deleted: keeps those Entra ID no longer has, with the groups of other origins holding them. */
export async function keepDeletedGroups(trx: Db, sourceId: string, ids: string[]): Promise<void> {
  await sql`delete from entra_deleted_groups where source_id = ${sourceId} and deleted_at < now() - ${`${retentionDays} days`}::interval`.execute(trx);
  if (!ids.length) return;
  await sql`insert into entra_deleted_groups (source_id, external_id, group_id, created_at, member_of)
    select ${sourceId}, g.external_id, g.id, g.created_at, coalesce((select array_agg(m.group_id order by m.group_id) from group_members m join groups p on p.id = m.group_id
        where m.member_group_id = g.id and p.source_id is distinct from ${sourceId}::uuid), '{}')
    from groups g where g.id = any(${ids}::uuid[]) and g.external_id is not null
      and not exists (select 1 from entra_groups e where e.source_id = ${sourceId} and e.id = g.external_id)
    on conflict (source_id, external_id) do update set group_id = excluded.group_id, created_at = excluded.created_at, member_of = excluded.member_of, deleted_at = now()`.execute(trx);
}

export interface KeptGroup {
  groupId: string;
  createdAt: Date;
  memberOf: string[];
}

/** Of the external ids about to be created, the groups kept for them (and no longer kept: they come back now). */
export async function takeKeptGroups(trx: Db, sourceId: string, externalIds: string[]): Promise<Map<string, KeptGroup>> {
  if (!externalIds.length) return new Map();
  const { rows } = await sql<{ external_id: string; group_id: string; created_at: Date; member_of: string[] }>`
    delete from entra_deleted_groups d where d.source_id = ${sourceId} and d.external_id = any(${externalIds}::text[])
      and d.deleted_at >= now() - ${`${retentionDays} days`}::interval
      and not exists (select 1 from groups g where g.id = d.group_id)
    returning d.external_id, d.group_id, d.created_at, d.member_of`.execute(trx);
  return new Map(rows.map((r) => [r.external_id, { groupId: r.group_id, createdAt: r.created_at, memberOf: r.member_of }]));
}

/**
 * Restored groups join again the groups of other origins that held them when they were deleted, those still there,
 * each such group's history saying so (as the deletion said they left). `restored`: group id and name.
 */
export async function rejoinParents(trx: Db, input: { workspaceId: string; runId: string; actor: string }, restored: { id: string; name: string; memberOf: string[] }[]): Promise<void> {
  const rows = restored.flatMap((g) => g.memberOf.map((parent) => ({ child: g.id, name: g.name, parent })));
  if (!rows.length) return;
  await sql`with wanted as (select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as w(child uuid, name text, parent uuid)),
    joined as (insert into group_members (workspace_id, group_id, member_group_id)
      select ${input.workspaceId}, w.parent, w.child from wanted w join groups p on p.id = w.parent and p.workspace_id = ${input.workspaceId}
      on conflict do nothing returning group_id, member_group_id)
    insert into change_log (workspace_id, run_id, group_id, member_group_id, subject, action, before, after, actor)
    select ${input.workspaceId}, ${input.runId}, j.group_id, j.member_group_id, w.name, 'add to group ' || p.name, null,
      jsonb_build_object('reason', ${`${restoredGroupReason}: it was a member before it was deleted`}::text), ${input.actor}
    from joined j join wanted w on w.child = j.member_group_id and w.parent = j.group_id join groups p on p.id = j.group_id`.execute(trx);
}
