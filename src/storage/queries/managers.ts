import { sql } from "kysely";
import type { Db } from "../database.ts";
import type { UserRef } from "../../domain/user.ts";
import { alphabetical } from "./users.ts";

/** How a change entry names a user as manager: display name and email, so the history reads without looking ids up. */
export const managerLabel = (alias: string) => sql.raw(`${alias}.display_name || coalesce(' <' || ${alias}.email || '>', '')`);

/**
 * Before users are deleted (`deleted`: a query of their ids): their reports, in any source or none, lose them as
 * manager (the reference clears itself on delete, migration 050); logged here, with the manager's name, on each report.
 */
export async function logReportsLosingManager(trx: Db, input: { workspaceId: string; runId: string | null; actor: string; deleted: ReturnType<typeof sql>; reason: string }): Promise<void> {
  await sql`insert into change_log (workspace_id, run_id, user_id, subject, action, before, after, actor)
    select ${input.workspaceId}, ${input.runId}, r.id, coalesce(r.email, r.user_principal_name, r.display_name), 'update',
      jsonb_build_object('manager', ${managerLabel("m")}, 'managerId', m.id),
      jsonb_build_object('manager', null, 'managerId', null, 'changed', '["manager"]'::jsonb, 'reason', ${input.reason}::text), ${input.actor}
    from users r join users m on m.id = r.manager_id
    where r.manager_id in (${input.deleted}) and r.id not in (${input.deleted})`.execute(trx);
}

/** The users whose manager `userId` is, by display name. */
export async function selectDirectReports(db: Db, userId: string): Promise<UserRef[]> {
  const { rows } = await sql<UserRef>`select id, display_name as "displayName", email from users where manager_id = ${userId}
    order by ${sql.raw(alphabetical("display_name"))}, id`.execute(db);
  return rows;
}
