import { RollcallError } from "../errors.ts";
import type { Store } from "../storage/database.ts";
import { missingGroupsAdvice } from "../sources/entra/groups.ts";
import { needsGroups, type EntraConfig } from "../sources/entra/config.ts";
import { graphFailure, isStaleDelta, type GraphClient } from "../sources/entra/graph.ts";
import { stagingSinks, startListing, type FetchProgress } from "./fetch.ts";
import { markListed, mergeGroups, mergeUsers } from "./merge.ts";
import { planRun } from "./plan-run.ts";
import { groupsNotInMirror } from "./scope.ts";
import { stageSoftDeleted } from "./soft-deleted.ts";
import type { RunWarning } from "./apply.ts";

/**
 * Listing, mirror merge and planning, overlapped. Users and groups are listed concurrently; each chain is
 * merged into the mirror as soon as it ends (the users chain has a third of the groups chain's pages at
 * 100,000 users), and, when the user scope does not depend on groups, the users are planned while the groups
 * still list or merge. Each merge waits for its own complete chain, and nothing is applied before both are
 * merged, so deletions only follow complete listings.
 */
export interface ListAndPlanInput {
  runId: string;
  source: { id: string; name: string; workspaceId: string };
  config: EntraConfig;
  mode: "full" | "delta";
  links: { users: string | null; groups: string | null } | null;
  dryRun: boolean;
  /** Users planned at once (planRun's default unless a test sets it). */
  chunkSize?: number;
}

export interface ListAndPlanHooks {
  onListing(p: FetchProgress): void;
  onPlanning(planned: number, total: number): void;
  /** Runs a step, recording its duration under `name`. */
  timed<T>(name: string, step: () => Promise<T>): Promise<T>;
  /** Throws when the run lost its lease: nothing may be merged after that. */
  assertLease(): void;
}

/** The plan, and warnings about the run as a whole for its log (the users' own are planned rows). */
export type Planned = Awaited<ReturnType<typeof planRun>> & {
  runWarnings: RunWarning[];
  /** Graph refused the full run's deleted users: a plan made again (runner.ts) must not tell purges either. */
  deletedItemsRefused: boolean;
};

/** A stale delta token stays a Graph error (the runner falls back to a full listing); any other listing failure says what to do. */
const listingFailure = (config: EntraConfig, links: ListAndPlanInput["links"]) => (error: unknown): never => {
  throw isStaleDelta(error, links) ? error : graphFailure(error, "list the directory", config);
};

export async function listMergeAndPlan(store: Store, graph: GraphClient, input: ListAndPlanInput, hooks: ListAndPlanHooks): Promise<Planned> {
  const { db } = store;
  const { runId, mode, config, dryRun } = input;
  const sourceId = input.source.id;
  const groups = needsGroups(config);
  const listing = startListing(graph, { config, links: input.links }, stagingSinks(store, runId), hooks.onListing);
  const runWarnings: RunWarning[] = [];
  let deletedItemsRefused = false;
  const plan = () => hooks.timed("planning", () => planRun(store, { runId, source: input.source, config, mode, chunkSize: input.chunkSize, deletedItemsRefused }, hooks.onPlanning));
  let failure: unknown;
  // The first failure stops the other chain (its pages would be thrown away) and is the one reported.
  const settle = <T>(path: Promise<T>) => path.catch((error: unknown) => {
    failure ??= error;
    listing.stop();
    return undefined;
  });
  const usersPath = settle((async () => {
    const link = await hooks.timed("listing.users", () => listing.users.catch(listingFailure(config, input.links)));
    hooks.assertLease();
    if (mode === "full") {
      // A full listing leaves out soft-deleted users: those the source holds are looked up before the merge counts them gone.
      const check = await hooks.timed("listing.deletedUsers", () => stageSoftDeleted(store, graph, { sourceId, runId }));
      if (check.warning) {
        runWarnings.push(check.warning);
        deletedItemsRefused = true;
      }
    }
    await hooks.timed("merging.users", () => mergeUsers(db, { sourceId, runId, mode, deltaLink: link, dryRun }));
    // With every user in scope, planning needs nothing from the groups chain, so it overlaps it.
    return config.users === "all" ? await plan() : undefined;
  })());
  const groupsPath = settle((async () => {
    const round = await hooks.timed("listing.groups", () => listing.groups.catch(listingFailure(config, input.links)));
    if (!round) return;
    hooks.assertLease();
    await hooks.timed("merging.groups", () => mergeGroups(db, { sourceId, runId, mode, dryRun, ...round }));
  })());
  // Each path starts by awaiting its chain, so once both settle no page is still being written.
  const [early] = await Promise.all([usersPath, groupsPath]);
  if (failure) throw failure;
  await markListed(db, { sourceId, mode, groups, dryRun });
  if (config.users === "groups") {
    // A scope group Entra ID lacks (renamed, deleted, misspelt) would put its members out of scope: nothing is planned.
    const missing = await groupsNotInMirror(db, sourceId, config.scopeGroups);
    if (missing.length) throw new RollcallError("source_scope_invalid", `Nothing was applied: the source's user scope names groups that are not in Entra ID. ${missingGroupsAdvice(missing, ["scope"])}`, { missingGroups: missing });
  }
  return { ...(early ?? (await plan())), runWarnings, deletedItemsRefused };
}
