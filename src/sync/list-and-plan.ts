import type { Store } from "../storage/database.ts";
import { needsGroups, type EntraConfig } from "../sources/entra/config.ts";
import { graphFailure, isStaleDelta, type GraphClient } from "../sources/entra/graph.ts";
import { startListing, type FetchProgress } from "./fetch.ts";
import { mergeGroups, mergeUsers } from "./merge.ts";
import { planRun } from "./plan-run.ts";

/**
 * Listing, mirror merge and planning, overlapped. Users and groups are listed concurrently; the users chain
 * (a third of the groups chain's pages at 100,000 users) is merged as soon as it ends and, when the user
 * scope does not depend on groups, planned while the groups are still listing. Each merge still waits for
 * its own complete chain, and nothing is applied before both are, so deletions only follow complete listings.
 */
export interface ListAndPlanInput {
  runId: string;
  source: { id: string; name: string; workspaceId: string };
  config: EntraConfig;
  mode: "full" | "delta";
  links: { users: string | null; groups: string | null } | null;
}

export interface ListAndPlanHooks {
  onListing(p: FetchProgress): void;
  onPlanning(planned: number, total: number): void;
  /** Runs a step, recording its duration under `name`. */
  timed<T>(name: string, step: () => Promise<T>): Promise<T>;
  /** Throws when the run lost its lease: nothing may be merged after that. */
  assertLease(): void;
}

export type Planned = Awaited<ReturnType<typeof planRun>>;

/** A stale delta token stays a Graph error (the runner falls back to a full listing); any other listing failure says what to do. */
function listingFailure(error: unknown): never {
  throw isStaleDelta(error) ? error : graphFailure(error, "list the directory");
}

export async function listMergeAndPlan(store: Store, graph: GraphClient, input: ListAndPlanInput, hooks: ListAndPlanHooks): Promise<Planned> {
  const { db } = store;
  const { runId, mode, config } = input;
  const sourceId = input.source.id;
  const groups = needsGroups(config);
  const listing = startListing(store, graph, { runId, config, links: input.links }, hooks.onListing);
  const plan = () => hooks.timed("planning", () => planRun(store, { runId, source: input.source, config, mode }, hooks.onPlanning));
  try {
    const usersLink = await hooks.timed("listing.users", () => listing.users.catch(listingFailure));
    hooks.assertLease();
    await hooks.timed("merging.users", () => mergeUsers(db, { sourceId, runId, mode, deltaLink: usersLink, endsListing: !groups }));
    // With every user in scope, planning needs nothing from the groups chain.
    const early = config.users === "all" ? await plan() : undefined;
    const groupsLink = await hooks.timed("waiting.groups", () => listing.groups.catch(listingFailure));
    if (groupsLink) {
      hooks.assertLease();
      await hooks.timed("merging.groups", () => mergeGroups(db, { sourceId, runId, mode, deltaLink: groupsLink }));
    }
    return early ?? (await plan());
  } catch (error) {
    // The other chain may still be writing into staging: stop it before the runner clears or relists.
    listing.stop();
    await Promise.allSettled([listing.users, listing.groups]);
    throw error;
  }
}
