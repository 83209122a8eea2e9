import { sql, type RawBuilder } from "kysely";
import type { Db } from "../storage/database.ts";
import type { EntraConfig } from "../sources/entra/config.ts";

/**
 * SQL over the mirror that decides who and what is in the synced set. One definition, used to choose the
 * users a run considers and to build the wanted memberships, so the two can never disagree.
 */
type ScopeConfig = Pick<EntraConfig, "users" | "scopeGroups" | "includeGuests">;

/** `select id, data from …` the in-scope mirror users of a source. */
export function inScopeUsers(sourceId: string, config: ScopeConfig): RawBuilder<unknown> {
  const guests = config.includeGuests ? sql`true` : sql`coalesce(e.data->>'userType', 'Member') <> 'Guest'`;
  if (config.users === "all") {
    return sql`select e.id, e.data from entra_users e where e.source_id = ${sourceId} and ${guests}`;
  }
  const ids = config.scopeGroups;
  const lower = ids.map((s) => s.toLowerCase());
  // Transitive members of the selected groups: Graph's /transitiveMembers, computed over the mirror.
  return sql`select e.id, e.data from entra_users e where e.source_id = ${sourceId} and ${guests} and exists (
    with recursive scope_groups(id) as (
      select g.id from entra_groups g where g.source_id = ${sourceId} and (g.id = any(${ids}::text[]) or lower(g.data->>'displayName') = any(${lower}::text[]))
      union
      select m.member_id from entra_members m join scope_groups s on s.id = m.group_id where m.source_id = ${sourceId} and m.kind = 'group'
    )
    select 1 from entra_members m join scope_groups s on s.id = m.group_id where m.source_id = ${sourceId} and m.member_id = e.id and m.kind = 'user')`;
}

/** Of `names` (object IDs or display names, as a source names groups), those the mirror of the tenant's groups lacks. */
export async function groupsNotInMirror(db: Db, sourceId: string, names: string[]): Promise<string[]> {
  if (!names.length) return [];
  const { rows } = await sql<{ name: string }>`select n.name from unnest(${names}::text[]) with ordinality n(name, position)
    where not exists (select 1 from entra_groups g where g.source_id = ${sourceId} and (g.id = n.name or lower(g.data->>'displayName') = lower(n.name)))
    order by n.position`.execute(db);
  return rows.map((r) => r.name);
}

/**
 * Selected groups renamed in Entra ID: of the `names` the mirror lacks, each one a group this source holds still
 * carries, with the object ID (still in Entra ID) and the name it has there now. The source goes on syncing such
 * a group by its object ID under the name it was selected by, until the selection names it again.
 */
export async function renamedSelections(db: Db, sourceId: string, names: string[]): Promise<{ selected: string; externalId: string; heldName: string; entraName: string }[]> {
  const missing = await groupsNotInMirror(db, sourceId, names);
  if (!missing.length) return [];
  const { rows } = await sql<{ selected: string; externalId: string; heldName: string; entraName: string }>`
    select n.name as selected, g.external_id as "externalId", g.name as "heldName", e.data->>'displayName' as "entraName"
    from unnest(${missing}::text[]) n(name)
    join groups g on g.source_id = ${sourceId} and lower(g.name) = lower(n.name)
    join entra_groups e on e.source_id = ${sourceId} and e.id = g.external_id`.execute(db);
  return rows;
}

/** Attribute groups use this external id prefix, so they never collide with Entra object ids. */
export const attributePrefix = "attribute:";

/**
 * Temp tables (external_id text, id uuid) naming the groups and users whose memberships a delta run must
 * look at; without them, every membership of the source is considered.
 */
export interface Touched {
  groups: string;
  users: string;
}

/** `select group_id, member_user_id, member_group_id` the direct memberships the source's groups should have. */
export function wantedMemberships(sourceId: string, config: EntraConfig, touched?: Touched): RawBuilder<unknown> {
  const scope = inScopeUsers(sourceId, config);
  if (config.groupMode === "attribute" && config.groupAttribute) {
    const path = config.groupAttribute.split(".");
    // The members of a touched group too: a group renamed to another spelling of its value keeps them all.
    const only = touched ? sql`where s.id in (select external_id from ${sql.table(touched.users)}) or g.id in (select id from ${sql.table(touched.groups)})` : sql``;
    return sql`select g.id as group_id, u.id as member_user_id, null::uuid as member_group_id
      from (${scope}) s
      join users u on u.source_id = ${sourceId} and u.external_id = s.id
      join groups g on g.source_id = ${sourceId} and lower(g.external_id) = ${attributePrefix} || lower(trim(s.data #>> ${path}::text[]))
      ${only}`;
  }
  // Each side driven by an index: the members of touched groups, plus the groups of touched members.
  const members = touched
    ? sql`(select m.* from entra_members m join ${sql.table(touched.groups)} t on m.group_id = t.external_id where m.source_id = ${sourceId}
        union select m.* from entra_members m join ${sql.table(touched.users)} t on m.member_id = t.external_id where m.source_id = ${sourceId} and m.kind = 'user'
        union select m.* from entra_members m join ${sql.table(touched.groups)} t on m.member_id = t.external_id where m.source_id = ${sourceId} and m.kind = 'group')`
    : sql`entra_members`;
  return sql`select g.id as group_id, u.id as member_user_id, null::uuid as member_group_id
      from ${members} m
      join groups g on g.source_id = ${sourceId} and g.external_id = m.group_id
      join users u on u.source_id = ${sourceId} and u.external_id = m.member_id
      where m.source_id = ${sourceId} and m.kind = 'user' and m.member_id in (select id from (${scope}) s)
    union all
    select g.id, null::uuid, c.id
      from ${members} m
      join groups g on g.source_id = ${sourceId} and g.external_id = m.group_id
      join groups c on c.source_id = ${sourceId} and c.external_id = m.member_id
      where m.source_id = ${sourceId} and m.kind = 'group' and g.id <> c.id`;
}
