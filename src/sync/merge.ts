import { sql } from "kysely";
import type { Db } from "../storage/database.ts";

/**
 * Folds a complete listing (staging) into the source's mirror, in one transaction with the delta links
 * that listing ended on: the cursor moves exactly with the data it produced. A full listing replaces the
 * mirror; a delta round upserts and removes. Rows whose data changed become dirty, and stay dirty until a
 * run brings the directory in step with them (so a dry run or a stopped run loses nothing).
 * Replayed changes are idempotent: the latest copy of each object in the round wins (staging `seq`).
 */
export async function mergeStage(
  db: Db,
  input: { sourceId: string; runId: string; mode: "full" | "delta"; groups: boolean; usersDeltaLink: string; groupsDeltaLink: string | null },
): Promise<void> {
  const { sourceId: s, runId: r } = input;
  await db.transaction().execute(async (trx) => {
    await sql`create temp table latest_users on commit drop as
      select distinct on (id) id, data, removed from sync_stage_users where run_id = ${r} order by id, seq desc`.execute(trx);
    if (input.mode === "full") {
      await sql`delete from entra_users e where e.source_id = ${s} and not exists (select 1 from latest_users l where l.id = e.id and l.removed is null)`.execute(trx);
    } else {
      await sql`delete from entra_users e using latest_users l where e.source_id = ${s} and e.id = l.id and l.removed is not null`.execute(trx);
    }
    await sql`insert into entra_users (source_id, id, data, dirty)
      select ${s}, id, data, true from latest_users where removed is null
      on conflict (source_id, id) do update set data = excluded.data, dirty = entra_users.dirty or entra_users.data is distinct from excluded.data`.execute(trx);

    if (input.groups) {
      await sql`create temp table latest_groups on commit drop as
        select distinct on (id) id, data, removed from sync_stage_groups where run_id = ${r} order by id, seq desc`.execute(trx);
      await sql`create temp table latest_members on commit drop as
        select distinct on (group_id, member_id) group_id, member_id, kind, removed from sync_stage_members where run_id = ${r} order by group_id, member_id, seq desc`.execute(trx);
      if (input.mode === "full") {
        await sql`delete from entra_groups where source_id = ${s}`.execute(trx);
        await sql`delete from entra_members where source_id = ${s}`.execute(trx);
      } else {
        await sql`delete from entra_groups g using latest_groups l where g.source_id = ${s} and g.id = l.id and l.removed is not null`.execute(trx);
        await sql`delete from entra_members m using latest_groups l where m.source_id = ${s} and m.group_id = l.id and l.removed is not null`.execute(trx);
        await sql`delete from entra_members m using latest_members l where m.source_id = ${s} and m.group_id = l.group_id and m.member_id = l.member_id and l.removed`.execute(trx);
      }
      await sql`insert into entra_groups (source_id, id, data)
        select ${s}, id, data from latest_groups where removed is null
        on conflict (source_id, id) do update set data = excluded.data`.execute(trx);
      await sql`insert into entra_members (source_id, group_id, member_id, kind)
        select ${s}, l.group_id, l.member_id, l.kind from latest_members l
        where not l.removed and not exists (select 1 from latest_groups g where g.id = l.group_id and g.removed is not null)
        on conflict do nothing`.execute(trx);
    }
    await sql`update source_state set users_delta_link = ${input.usersDeltaLink}, groups_delta_link = ${input.groupsDeltaLink},
      last_full_at = case when ${input.mode} = 'full' then now() else last_full_at end where source_id = ${s}`.execute(trx);
  });
  for (const table of ["sync_stage_users", "sync_stage_groups", "sync_stage_members"]) {
    await sql`delete from ${sql.table(table)} where run_id = ${r}`.execute(db);
  }
  // The mirror can change by the whole tenant in one go: fresh statistics keep the planning joins hashed.
  if (input.mode === "full") await sql`analyze entra_users, entra_groups, entra_members, users, groups, group_members`.execute(db);
}
