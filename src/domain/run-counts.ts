/**
 * What sync runs and imports count: the keys sync_runs.counts and an imported upload's note store, and the API returns.
 * Type aliases rather than interfaces: the API's response schemas take counts as a record of numbers, which an
 * interface (having no index signature) is not assignable to.
 */

/** The users a sync run planned, by what it does to them (sync/plan.ts). */
export type UserCounts = {
  created: number;
  updated: number;
  linked: number;
  disabled: number;
  deleted: number;
  unchanged: number;
  skipped: number;
  conflicts: number;
  /** Users with warnings: one change-log entry each, however many messages it holds. */
  warnings: number;
  /** Users that left the scope under `--on-remove keep`: released to be managed in Rollcall. */
  released: number;
  /** Users this plan would take away: disabled or deleted (removed from Entra, out of scope, or newly disabled there). */
  removals: number;
};

/** The groups a sync run planned (sync/plan-groups.ts). */
export type GroupCounts = {
  groupsCreated: number;
  groupsUpdated: number;
  groupsDeleted: number;
  groupsUnchanged: number;
  groupConflicts: number;
};

/**
 * A sync run's counts (sync/runner.ts). A finished run has its users', groups' and memberships' counts and `errors`
 * (0); a failed one failedRunCounts, and a running one none yet, hence every key optional. `warnings` adds the
 * apply's warnings (taken cards or aliases, missing groups) to the plan's.
 */
export type RunCounts = Partial<UserCounts> & Partial<GroupCounts> & {
  errors?: number;
  membershipsAdded?: number;
  membershipsRemoved?: number;
  /** 1 on a dry run that a real run would stop at the deletion threshold, with `heldBefore`: the users the source held. */
  wouldStopAtThreshold?: number;
  heldBefore?: number;
  /** Users whose photo the run set, replaced or removed (an Entra ID source with "Sync photos"). */
  photosChanged?: number;
};

/** Every key of RunCounts, for the API's schema of a run's counts (the check below fails to compile when the type gains one this lacks). */
export const runCountKeys = [
  "created", "updated", "linked", "disabled", "deleted", "unchanged", "skipped", "conflicts", "warnings", "released", "removals",
  "groupsCreated", "groupsUpdated", "groupsDeleted", "groupsUnchanged", "groupConflicts",
  "errors", "membershipsAdded", "membershipsRemoved", "wouldStopAtThreshold", "heldBefore", "photosChanged",
] as const satisfies readonly (keyof RunCounts)[];
true satisfies [Exclude<keyof RunCounts, (typeof runCountKeys)[number]>] extends [never] ? true : false;

/**
 * Stored counts as the API documents them: its keys only, in runCountKeys' order. A jsonb column gives its keys back
 * sorted by length, and the API answers them in its schema's order: read both ways, a run prints the same.
 */
export function runCountsOf(stored: Record<string, unknown> | null): RunCounts {
  return Object.fromEntries(runCountKeys.flatMap((key) => (typeof stored?.[key] === "number" ? [[key, stored[key]]] : [])));
}

/** What an import did (or, in a dry run, would do) to the file's rows (core/import-report.ts). */
export type ImportCounts = {
  rows: number;
  invalid: number;
  problems: number;
  /** Row warnings (the report lists them up to its limit), plus one for each column warning. */
  warnings: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  synced: number;
  groupsCreated: number;
};

/**
 * What an import times, in milliseconds: read (until the last row is read), check, pins, plan and apply (each summed
 * over the batches, which overlap the reading), total. A step the import did not reach is left out.
 */
export const importSteps = ["read", "check", "pins", "plan", "apply", "total"] as const;
export type ImportStep = (typeof importSteps)[number];
export type ImportTimings = Partial<Record<ImportStep, number>>;

/**
 * A failed run's counts: every change 0 and `errors` 1. Its apply is one transaction, so whatever it had planned, it
 * made no change; the planned numbers would read (in `runs show`, the API, the metrics) as changes made.
 */
export function failedRunCounts(): RunCounts {
  return Object.fromEntries(runCountKeys.filter((key) => key !== "wouldStopAtThreshold" && key !== "heldBefore").map((key) => [key, key === "errors" ? 1 : 0]));
}
