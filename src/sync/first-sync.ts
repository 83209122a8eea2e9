import { sql } from "kysely";
import { isUniqueViolation, type Db, type Store } from "../storage/database.ts";
import { CopyEncoder, copyField } from "../storage/copy-format.ts";
import { FirstSyncUsers, mirroredMembers } from "../storage/queries/first-sync-rows.ts";
import { timeOrderedId } from "../storage/time-ordered-id.ts";
import { needsGroups, type EntraConfig } from "../sources/entra/config.ts";
import { graphFailure, isStaleDelta, type GraphClient } from "../sources/entra/graph.ts";
import { isGuest, mapUser } from "../sources/entra/mapping.ts";
import { lapTimer, logCreatedUsers, type Applied, type ApplyInput } from "./apply.ts";
import { applyGroups, applyMemberships, logMissingGroups } from "./apply-groups.ts";
import { startListing, type FetchProgress, type ListingSinks } from "./fetch.ts";
import { addCounts, emptyCounts, planUsers } from "./plan.ts";
import type { UserCounts } from "../domain/run-counts.ts";
import { ownership, plannedFields } from "./plan-run.ts";

/**
 * A source's first full sync into a workspace that holds no users, streamed: each listed page is written
 * straight into the mirror and the directory instead of being staged, merged, planned from the mirror and
 * applied (BENCHMARKS.md, session 23). With nothing held, the pure planner can plan each page as it
 * arrives: every in-scope user is a create, or a conflict when two users of the tenant claim one email.
 * Groups and memberships follow, set-based, with the applier's own steps, once both chains are complete.
 *
 * PostgreSQL only: on PGlite a transaction holds the only connection, and one spanning the listing would
 * hold up every other query (the console, the run's progress) for that long.
 */

/**
 * Users mapped and encoded between two turns of the event loop. A page's thousand in one go would keep the
 * COPYs in flight from hearing back from the server for tens of milliseconds, and the server would wait that long.
 */
const slice = 100;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The round repeated or removed an object (Graph may, within a round): only the staged path sorts that out. */
export class NotStreamable extends Error {}

/**
 * Whether this run can stream: a full run of a source scoped to all users, not syncing managers, holding no groups, in a workspace
 * holding no users (so nothing can be linked, updated or removed). A mirror left by a run that failed after
 * listing is replaced.
 */
export async function streamsFirstSync(store: Store, input: { workspaceId: string; sourceId: string; config: EntraConfig; mode: "full" | "delta" }): Promise<boolean> {
  // Managers are resolved once every user exists (managers.ts), from the staged path's mirror.
  if (store.kind !== "postgres" || input.mode !== "full" || input.config.users !== "all" || input.config.syncManagers) return false;
  const { rows } = await sql<{ empty: boolean }>`select not exists (select 1 from users where workspace_id = ${input.workspaceId})
    and not exists (select 1 from groups where source_id = ${input.sourceId}) as empty`.execute(store.db);
  return rows[0]!.empty;
}

export interface StreamHooks {
  onListing(p: FetchProgress): void;
  /** Both chains are listed and written: the set-based steps start. */
  onListed(): void;
  timed<T>(name: string, step: () => Promise<T>): Promise<T>;
}

/**
 * The streamed run. The directory's rows go into `trx` (the run's transaction); the mirror's, which the
 * directory's last steps join, into a transaction of its own on a second connection, so that the server
 * writes both at once, and committed when the listing is complete. If the run then fails, the mirror is
 * left without the delta links (written in `trx`): the next run is a full one. Finding the directory still
 * empty, it streams again, replacing the mirror; otherwise (a dry run, users added meanwhile) its merge finds
 * no link vouching for the mirror and plans every user (merge.ts). Throws NotStreamable, with neither
 * transaction committed, when the round needs the staged path.
 */
export async function streamFirstSync(store: Store, trx: Db, graph: GraphClient, input: ApplyInput, hooks: StreamHooks): Promise<Applied & { userCounts: UserCounts }> {
  const { runId, workspaceId, source, config } = input;
  const s = source.id;
  await sql`create temp table created_users (id uuid, external_id text, subject text, after json) on commit drop`.execute(trx);
  const users = new FirstSyncUsers({ workspaceId, runId, sourceId: s, sourceName: source.name, actor: input.actor });
  const userCounts = emptyCounts();
  const claimed = new Set<string>();
  const conflicts: string[] = [];
  const owned = ownership(config);
  const groups = new Map<string, Record<string, unknown>>();
  const [onDirectory, onMirror] = [oneAtATime(), oneAtATime()];

  const links = await store.db.transaction().execute(async (mirror) => {
    for (const table of ["entra_users", "entra_groups", "entra_members", "entra_dirty_users", "entra_departed", "entra_restorable"]) {
      await sql`delete from ${sql.table(table)} where source_id = ${s}`.execute(mirror);
    }
    const sinks: ListingSinks = {
      async users(value) {
        const desired = [];
        const removed: string[] = [];
        for (const [n, u] of value.entries()) {
          if (n % slice === 0) await nextTurn();
          // A removal in a full round (Graph documents that one may come) is simply not synced.
          if (u["@removed"]) removed.push(String(u.id));
          else {
            users.addMirrored(u);
            if (config.includeGuests || !isGuest(u)) desired.push(mapUser(u, config));
          }
        }
        const plan = planUsers({ source, desired, held: [], holders: [], claimed, onRemove: config.onRemove, linkByEmail: config.linkByEmail, owned });
        for (const k of plan.claims) claimed.add(k);
        addCounts(userCounts, plan.counts);
        const ids = new Map<string, string>();
        for (const [n, c] of plan.changes.entries()) {
          if (n % slice === 0) await nextTurn();
          if (c.action === "create") {
            const id = timeOrderedId();
            ids.set(c.externalId, id);
            users.addCreated({ id, externalId: c.externalId, subject: c.subject, fields: await plannedFields(c.after) });
          } else if (c.action === "conflict") {
            conflicts.push(c.externalId);
            users.addEntry(null, c.subject, "conflict", { message: c.message, externalId: c.externalId });
          }
        }
        for (const w of plan.warnings) users.addEntry(ids.get(w.externalId) ?? null, w.subject, "warning", { messages: w.messages, externalId: w.externalId });
        const mirrored = users.takeMirrored();
        // Both writes finish before the page fails: one still going on `trx` after the run's rollback would
        // run on the released connection, outside any transaction, and commit what the staged path then lists again.
        await allThenFirstFailure([
          onMirror(async () => {
            // Removed after an earlier page listed it: the round's last word is the removal, which the staged path keeps.
            if (removed.length && (await sql`select 1 from entra_users where source_id = ${s} and id = any(${removed}::text[]) limit 1`.execute(mirror)).rows.length) {
              throw new NotStreamable("the round removed a user it had listed");
            }
            if (mirrored.length) await store.copyInto(mirror, "entra_users", ["source_id", "id", "data"], mirrored);
          }),
          onDirectory(() => users.write(store, trx)),
        ]);
      },
      async groups(page) {
        for (const g of page.groups) {
          // A group listed again (Graph may, within a round) adds its properties to what the round said before.
          if (!g.removed) groups.set(g.id, { ...groups.get(g.id), ...g.data });
          else if (groups.has(g.id)) throw new NotStreamable("the round removed a group it had listed");
        }
        if (page.members.some((m) => m.removed.includes(true))) throw new NotStreamable("the round removed a membership");
        const chunks = mirroredMembers(s, page.members);
        if (chunks.length) await onMirror(() => store.copyInto(mirror, "entra_members", ["source_id", "group_id", "member_id", "kind"], chunks));
      },
    };
    const listing = startListing(graph, { config, links: null }, sinks, hooks.onListing);
    let failure: unknown;
    const settle = <T>(chain: Promise<T>) => chain.catch((error: unknown) => {
      failure ??= error;
      listing.stop();
      return undefined;
    });
    // Both chains settle before either transaction goes on (a failure rolls both back).
    const [usersLink, groupsRound] = await hooks.timed("listing", () => Promise.all([settle(listing.users), settle(listing.groups)]));
    // A unique violation: the round listed a user or a membership twice, or a user created meanwhile (by hand, by
    // an import, by another source's run) holds an email the tenant's users claim. The staged path sorts either out.
    if (failure) throw isUniqueViolation(failure) ? new NotStreamable("a listed user or membership collided with one already written") : failure instanceof NotStreamable ? failure
      // A synchronization reset (410 on a nextLink): the staged path lists again from the start.
      : isStaleDelta(failure) ? new NotStreamable("Graph reset the round's sync state") : graphFailure(failure, "list the directory", config);
    hooks.onListed();
    const encoded = new CopyEncoder();
    for (const [id, data] of groups) encoded.addLine(`${s}\t${copyField(id)}\t${copyField(JSON.stringify(data))}\tf\n`);
    await store.copyInto(mirror, "entra_groups", ["source_id", "id", "data", "dirty"], encoded.take());
    // Statistics for the joins below and for the next run's planning (autovacuum sees none of these rows before the commit).
    await sql`analyze entra_users (source_id, id), entra_groups (source_id, id, dirty), entra_members`.execute(mirror);
    return { users: usersLink!, groups: needsGroups(config) ? groupsRound!.deltaLink : null };
  });

  const timings: Record<string, number> = {};
  const lap = lapTimer(timings, input.signal);
  await sql`update source_state set users_delta_link = ${links.users}, groups_delta_link = ${links.groups}, last_full_at = now() where source_id = ${s}`.execute(trx);
  // A conflict is planned again by every run until it resolves, so its mirror row stays dirty.
  await sql`insert into entra_dirty_users (source_id, id) select ${s}, unnest(${conflicts}::text[])`.execute(trx);
  await sql`analyze created_users (id)`.execute(trx);
  lap("mirror");
  const groupCounts = await applyGroups(trx, input);
  const warnings = users.identifierWarnings + (await logMissingGroups(trx, input));
  lap("groups");
  const memberships = await applyMemberships(trx, input, userCounts.created + groupCounts.groupsCreated);
  await logCreatedUsers(trx, input, memberships.newMembers, sql`select id, subject, after from created_users`);
  lap("memberships");
  return { userCounts, groupCounts, memberships: { added: memberships.added, removed: memberships.removed }, warnings, timings };
}

/**
 * Runs the writes given to it one after another, as a connection takes one COPY at a time. Once a write fails,
 * its transaction is aborted: every later write fails with that first error instead of running. Run, it would
 * fail with "current transaction is aborted", and whichever chain reported that first would hide the cause
 * (a unique violation that only means "list again through staging").
 */
export function oneAtATime(): (write: () => Promise<void>) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  return (write) => (tail = tail.then(write));
}

/** Like Promise.all, but rejects (with the first failure in the list) only once every promise has settled. */
async function allThenFirstFailure(promises: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
