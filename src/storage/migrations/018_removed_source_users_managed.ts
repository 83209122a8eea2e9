import { sql, type Kysely } from "kysely";

/**
 * Until now a removed source left its users and groups as `entra` ones without a source: still refused
 * edits ("synced from Entra ID"), refused as import targets, and claimed by nothing, so a source added again
 * for the same tenant met each of them as a conflict. They become what removing a source now leaves
 * (core/source-removal.ts): manual ones that keep the source's name and their Entra object ID, with an entry
 * in their history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const message = "its Entra ID source had been removed; managed in Rollcall from now on";
  await sql`
    with unlinked as (
      update users set source_type = 'manual', updated_at = now(), tags = array_prepend('Manual', array_remove(array_remove(tags, 'ID synced'), 'Manual'))
      where source_type = 'entra' and source_id is null
      returning id, workspace_id, source_name, coalesce(email, user_principal_name, display_name) as subject)
    insert into change_log (workspace_id, user_id, subject, action, before, after, actor)
    select workspace_id, id, subject, 'unlink', json_build_object('source', json_build_object('type', 'entra', 'name', source_name)),
      json_build_object('source', json_build_object('type', 'manual', 'name', source_name), 'message', ${message}::text), 'rollcall'
    from unlinked`.execute(db);
  await sql`
    with unlinked as (update groups set source_type = 'manual', updated_at = now() where source_type = 'entra' and source_id is null returning id, workspace_id, name, source_name)
    insert into change_log (workspace_id, group_id, subject, action, before, after, actor)
    select workspace_id, id, name, 'unlink group', json_build_object('source', json_build_object('type', 'entra', 'name', source_name)),
      json_build_object('source', json_build_object('type', 'manual', 'name', source_name), 'message', ${message}::text), 'rollcall'
    from unlinked`.execute(db);
}
