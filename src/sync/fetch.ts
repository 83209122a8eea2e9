import { sql } from "kysely";
import type { Store } from "../storage/database.ts";
import { arrayLiteral } from "../storage/copy-format.ts";
import { needsGroups, userSelect, type EntraConfig } from "../sources/entra/config.ts";
import type { GraphClient, GraphPage } from "../sources/entra/graph.ts";

/**
 * The listing phase: users and groups delta rounds fetched concurrently, each page written to the sinks
 * (usually the run's staging tables) while the next page is on its way. Each chain can be awaited on its own
 * (the runner merges the users while the groups, three times as many pages, are still listing). Nothing
 * outside staging changes here, so a failed or killed listing leaves the directory and the mirror as they were.
 * [delta-query-users, delta-query-groups]
 */
export interface Listing {
  /** The users round's deltaLink. */
  users: Promise<string>;
  /** The groups round's deltaLink, and whether it removed any membership; null when the source needs no groups. */
  groups: Promise<{ deltaLink: string; removesMembers: boolean } | null>;
  /** Stop the chains after their current page (one failed: the other's pages would be thrown away). */
  stop(): void;
}

export interface FetchProgress {
  users: number;
  groups: number;
  members: number;
}

/** A groups delta page, as the listing's sinks get it. */
export interface GroupsPage {
  /** The group objects that carry data or a removal (a big group repeats, without them, on later pages). */
  groups: { id: string; data: { displayName?: unknown; description?: unknown } | null; removed: string | null }[];
  /** The user and group members of each group object, as listed; `removed[i]`: member i was taken out. */
  members: { groupId: string; ids: string[]; kinds: ("user" | "group")[]; removed: boolean[] }[];
  memberCount: number;
}

/** Where the listing writes each page: the run's staging (stagingSinks), or the directory itself (first-sync.ts). */
export interface ListingSinks {
  users(value: Record<string, unknown>[]): Promise<void>;
  groups(page: GroupsPage): Promise<void>;
}

const preferPageSize = { prefer: "odata.maxpagesize=999" };

export function startListing(
  graph: GraphClient,
  input: { config: EntraConfig; links: { users: string | null; groups: string | null } | null },
  sinks: ListingSinks,
  onProgress: (p: FetchProgress) => void,
): Listing {
  const progress: FetchProgress = { users: 0, groups: 0, members: 0 };
  let stopped = false;
  let removesMembers = false;
  const users = userSelect(input.config).join(",");
  const usersStart = input.links?.users ?? `/users/delta?$select=${users}`;
  const groupsStart = input.links?.groups ?? "/groups/delta?$select=displayName,description,members";

  const withLink = (chain: string) => (link: string | null) => {
    if (!link) throw new Error(`the ${chain} delta round ended without an @odata.deltaLink`);
    return link;
  };
  const usersTask = drain(graph.pages(usersStart, preferPageSize), () => stopped, async (page) => {
    await sinks.users(page.value);
    progress.users += page.value.length;
    onProgress(progress);
  });
  const groupsTask = needsGroups(input.config)
    ? drain(graph.pages(groupsStart, preferPageSize), () => stopped, async (page) => {
        const parsed = groupsPage(page.value);
        removesMembers ||= parsed.members.some((m) => m.removed.includes(true));
        await sinks.groups(parsed);
        progress.groups += parsed.groups.length;
        progress.members += parsed.memberCount;
        onProgress(progress);
      }).then(withLink("groups")).then((deltaLink) => ({ deltaLink, removesMembers }))
    : Promise.resolve(null);
  return {
    users: usersTask.then(withLink("users")),
    groups: groupsTask,
    stop: () => {
      stopped = true;
    },
  };
}

const groupProps = ["displayName", "description"] as const;

function groupsPage(value: Record<string, unknown>[]): GroupsPage {
  const page: GroupsPage = { groups: [], members: [], memberCount: 0 };
  for (const g of value) {
    const removed = (g["@removed"] as { reason?: string } | undefined)?.reason ?? null;
    // A big group's members arrive over several pages: the group itself repeats, members add up.
    const delta = (g["members@delta"] as Record<string, unknown>[] | undefined) ?? [];
    const listed: GroupsPage["members"][number] = { groupId: String(g.id), ids: [], kinds: [], removed: [] };
    for (const m of delta) {
      const kind = m["@odata.type"] === "#microsoft.graph.group" ? "group" : m["@odata.type"] === "#microsoft.graph.user" ? "user" : null;
      if (!kind) continue; // devices, contacts, service principals are not synced
      listed.ids.push(String(m.id));
      listed.kinds.push(kind);
      listed.removed.push(m["@removed"] !== undefined);
    }
    if (listed.ids.length) page.members.push(listed);
    page.memberCount += listed.ids.length;
    // Only the properties sent: in a delta round an absent one keeps its mirrored value (merge.ts).
    const data = Object.fromEntries(groupProps.filter((p) => p in g).map((p) => [p, g[p]]));
    if (removed || Object.keys(data).length) page.groups.push({ id: String(g.id), data: removed ? null : data, removed });
  }
  return page;
}

/** The listing written into the run's staging tables, for the mirror merge (merge.ts). Staged members are one row of arrays per group object (migration 015). */
export function stagingSinks(store: Store, runId: string): ListingSinks {
  return {
    users: (value) => store.copyRows("sync_stage_users", ["run_id", "id", "data", "removed"], stagedUsers(runId, value)),
    async groups(page) {
      await store.copyRows("sync_stage_groups", ["run_id", "id", "data", "removed"], page.groups.map((g) => [runId, g.id, g.data && JSON.stringify(g.data), g.removed]));
      const members = page.members.map((m) => [runId, m.groupId, arrayLiteral(m.ids), arrayLiteral(m.kinds), arrayLiteral(m.removed.map((r) => (r ? "t" : "f")))]);
      if (members.length) await store.copyRows("sync_stage_members", ["run_id", "group_id", "member_ids", "kinds", "removed"], members);
    },
  };
}

/** Built as the COPY encodes them, so that encoding a page of 999 users gives the event loop turns too. */
function* stagedUsers(runId: string, users: Record<string, unknown>[]): Generator<(string | null)[]> {
  for (const u of users) {
    const removed = (u["@removed"] as { reason?: string } | undefined)?.reason ?? null;
    yield [runId, String(u.id), removed ? null : JSON.stringify(withManager(u)), removed];
  }
}

/**
 * A user's `manager@delta` (when the source syncs managers: config.ts userSelect) as a plain `manager` property: the
 * manager's object id, or null when the round says it was removed. Without the annotation the user has no manager
 * in a full round and an unchanged one in a delta round: an absent property keeps its mirrored value (merge.ts).
 */
export function withManager(u: Record<string, unknown>): Record<string, unknown> {
  const delta = u["manager@delta"];
  if (!Array.isArray(delta)) return u;
  const { ["manager@delta"]: _, ...rest } = u;
  const current = (delta as Record<string, unknown>[]).filter((m) => m["@removed"] === undefined && typeof m.id === "string");
  return { ...rest, manager: current.length ? String(current.at(-1)!.id) : null };
}

/**
 * Pages a chain may fetch ahead of their writes. A write can wait behind other work on the database (on
 * PGlite's single thread: the other chain's merge, the planning's queries); the chain's next request, which
 * only needs the page's nextLink, should not wait with it. 32 groups pages are about 10 MB.
 */
const maxPagesAhead = 32;

/** Consume pages, writing them in order while the next ones are fetched; return the round's deltaLink. */
async function drain(pages: AsyncGenerator<GraphPage>, stopped: () => boolean, write: (page: GraphPage) => Promise<void>): Promise<string | null> {
  let writing: Promise<void> = Promise.resolve();
  let pending = 0;
  let failed = false;
  let deltaLink: string | null = null;
  try {
    for await (const page of pages) {
      if (stopped()) throw new Error("listing stopped");
      if (pending >= maxPagesAhead || failed) await writing;
      pending++;
      writing = writing.then(() => write(page)).then(() => {
        pending--;
      });
      writing.catch(() => (failed = true));
      if (page.deltaLink) deltaLink = page.deltaLink;
    }
  } finally {
    await writing.catch(() => undefined);
  }
  await writing;
  return deltaLink;
}

const stageTables = ["sync_stage_users", "sync_stage_groups", "sync_stage_members", "sync_plan_users"];

/**
 * A run's staging. The users merge clears its rows while the groups are still listing; the groups' rows
 * and the plan are left (deleting the users' again costs a walk over their dead index entries, 0.3 s at
 * 100k users).
 */
export async function clearStage(store: Store, runId: string, options: { merged: boolean }): Promise<void> {
  if (store.kind === "pglite" && (await truncateIfAlone(store, runId))) return;
  for (const table of options.merged ? stageTables.filter((t) => t !== "sync_stage_users") : stageTables) {
    await sql`delete from ${sql.table(table)} where run_id = ${runId}`.execute(store.db);
  }
  if (store.kind === "pglite") await store.reclaim(stageTables);
}

/**
 * PGlite has no autovacuum: deleted rows' pages would never be reused, and every listing would grow the
 * staging tables by its whole size (about 100 MB at 100k users). With no other run staging, TRUNCATE gives
 * the space back at once, and costs nothing like deleting a listing's rows (0.4 s for the groups' at 100k
 * users); otherwise the rows are deleted and vacuumed. One transaction: PGlite's only connection, so no
 * other run can stage rows in between.
 */
async function truncateIfAlone(store: Store, runId: string): Promise<boolean> {
  return store.db.transaction().execute(async (trx) => {
    const others = await sql`select 1 from sync_runs where status = 'running' and id <> ${runId} limit 1`.execute(trx);
    if (others.rows.length > 0) return false;
    await sql`truncate ${sql.join(stageTables.map((t) => sql.table(t)))}`.execute(trx);
    return true;
  });
}

/** Staging left behind by runs that are no longer running (killed processes). */
export async function clearAbandonedStage(store: Store): Promise<void> {
  for (const table of stageTables) {
    await sql`delete from ${sql.table(table)} t where not exists (select 1 from sync_runs r where r.id = t.run_id and r.status = 'running')`.execute(store.db);
  }
}
