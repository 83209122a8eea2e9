import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { statusActions, type OpenConflict, type StatusChange } from "../domain/user-status.ts";

/** The conflict the user's history ends with, if it does (change_log_user_idx: one entry read). */
export async function openConflict(db: Db, userId: string): Promise<OpenConflict | null> {
  const { rows } = await sql<{ action: string; at: Date | string; run_id: string | null; source_name: string | null; message: string | null }>`
    select c.action, c.at, c.run_id, s.name as source_name, c.after->>'message' as message
    from (select * from change_log where user_id = ${userId} order by id desc limit 1) c
    left join sync_runs r on r.id = c.run_id
    left join sources s on s.id = r.source_id`.execute(db);
  const row = rows[0];
  if (!row || row.action !== "conflict" || row.message === null) return null;
  return { message: row.message, at: new Date(row.at).toISOString(), runId: row.run_id, syncSource: row.run_id ? row.source_name : null };
}

/** The newest entry of the user's history that set `enabled` (change_log_user_idx walks it newest first). */
export async function statusChange(db: Db, userId: string): Promise<StatusChange | null> {
  const { rows } = await sql<{ action: StatusChange["action"]; at: Date | string; actor: string; run_id: string | null; source_name: string | null; enabled: boolean | null; reason: string | null }>`
    select c.action, c.at, c.actor, c.run_id, s.name as source_name, (c.after->>'enabled')::boolean as enabled, c.after->>'reason' as reason
    from change_log c
    left join sync_runs r on r.id = c.run_id
    left join sources s on s.id = r.source_id
    where c.user_id = ${userId}
      and (c.action = 'create' or (c.action = any(${[...statusActions]}::text[]) and c.before->>'enabled' <> c.after->>'enabled'))
    order by c.id desc
    limit 1`.execute(db);
  const row = rows[0];
  if (!row || row.enabled === null) return null;
  return {
    enabled: row.enabled,
    action: row.action,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    runId: row.run_id,
    syncSource: row.run_id ? row.source_name : null,
    reason: row.reason,
  };
}
