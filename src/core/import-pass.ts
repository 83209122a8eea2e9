import { randomUUID } from "node:crypto";
import { RollcallError } from "../errors.ts";
import type { Db, Store } from "../storage/database.ts";
import { CopyEncoder } from "../storage/copy-format.ts";
import { analyzeStaging, clashTargets, keepNamesOrDropUnnamed, keptEntraGroups, matchExisting, stageRows, stagingRow, updatedSyncedUsers, type StagedRows } from "../storage/queries/imports.ts";
import { markDirtyOutsideRun } from "../sync/dirty.ts";
import { analyzeApplied, applyStaged, classify, countActions, markUnchangedElsewhere, plannedGroups, previewCreated, previewUnchanged, previewUpdated, type ApplyTarget } from "../storage/queries/import-apply.ts";
import { insertImportGroups, workspaceGroups, writeNewUsers } from "../storage/queries/import-new-users.ts";
import type { ImportSource } from "../sources/import/source.ts";
import type { WorkspaceContext } from "./context.ts";
import { dropClashing, leadingZeroWarnings, preparePins, syncedFieldWarnings } from "./import-checks.ts";
import { ImportFindings, ImportStopwatch } from "./import-tally.ts";
import { buildReport, keptEntraGroupWarnings, unnamedNewUserProblem, type ImportReport } from "./import-report.ts";
import { NewUsersBatches, type NewUsersBatch } from "./import-new-users.ts";
import { ImportManagers, withManagerChanges } from "./import-managers.ts";
import { dropRows } from "../storage/queries/imports.ts";
import type { ImportOptions, ImportProgress } from "./imports.ts";

/** Rows per batch: each is staged, checked, planned and applied while the next one is read. */
const defaultBatchRows = 10_000;

/** Staged rows of the file, with their PINs in clear (kept in memory until hashed, never staged). */
export interface StagedBatch {
  rows: Required<StagedRows>;
  pins: Map<number, string>;
  /** No rows follow: the batch that completes the report. */
  last: boolean;
  /** How many rows were staged (rows with problems never are). */
  staged: number;
  /** Groups the batch names that do not exist yet (set by plan; what its apply creates). */
  newGroups?: string[];
  /** Rows per action, when plan knows them without counting: a batch of which no row matched a user creates every row it kept. */
  planned?: Record<string, number>;
  /** A first import's batch: its new users, never staged (then `rows` names no staged rows). */
  newUsers?: NewUsersBatch;
}

/**
 * One reading of a file: its batches as they are staged, the problems found so far, and what the report
 * will list. The core decides where each batch is planned and applied (see importFile).
 */
export class ImportPass {
  readonly runId = randomUUID();
  /** The transaction the rows are applied in, once open: PGlite stages inside it (Store.copyRows). */
  reader: Db | undefined;
  private readonly limit: number;
  private readonly findings: ImportFindings;
  private rows = 0;
  /** Groups the file names that do not exist yet, by lower-case name (first spelling wins). */
  private readonly newGroups = new Map<string, string>();
  private readonly updated: Awaited<ReturnType<typeof previewUpdated>> = [];
  private readonly timings = new ImportStopwatch();
  /**
   * Statistics are taken on the staged rows of the first batch, and on the directory once a batch has created
   * users: without them the planner joined a batch to the users for minutes; taken again for each batch,
   * they would cost about a second per 100,000 rows.
   */
  private analyzed = false;
  private analyzedApplied = false;
  /**
   * Whether the workspace held users when the import started (see start). Into an empty one, no row can match
   * or clash with a user: a first import of a directory skips those lookups.
   */
  private hadUsers = true;
  private readonly target: Omit<ApplyTarget, "runId">;
  /** The import source's id, or the id it is created with (a first import writes its users with it). */
  sourceId: string = randomUUID();
  /** Set by start when the import is a first import into an empty workspace. */
  private newUsers: NewUsersBatches | undefined;
  /** The file's Manager column, when it has one. */
  private readonly managers: ImportManagers | undefined;

  constructor(
    private readonly ctx: WorkspaceContext,
    private readonly store: Store,
    private readonly options: ImportOptions,
    private readonly source: ImportSource,
    private readonly sourceName: string,
  ) {
    this.limit = options.reportLimit ?? 1000;
    this.findings = new ImportFindings(this.limit);
    this.target = { workspaceId: ctx.workspace.id, sourceName, present: presentFields(source.mapping.fields) };
    this.findings.addWarnings(source.warnings);
    const managerColumn = source.mapping.fields.indexOf("manager");
    if (managerColumn >= 0) this.managers = new ImportManagers(source.mapping.headers[managerColumn]!);
  }

  /**
   * Looks at the workspace before the first row is read. Into one that holds no users, and from a file without
   * PINs (hashed once a batch is staged, into its staged rows), rows become new users as they are read instead
   * of being staged (NewUsersBatches). `sourceId`: the import source's, when it exists.
   */
  async start(db: Db, sourceId: string | undefined): Promise<void> {
    const { workspace } = this.ctx;
    if (sourceId) this.sourceId = sourceId;
    this.hadUsers = (await clashTargets(db, workspace.id)).users;
    // A file with managers is staged: a row whose manager is refused once every row is read can still be left out.
    if (this.hadUsers || this.target.present.has("pin") || this.managers) return;
    const groups = this.target.present.has("groups") ? await workspaceGroups(db, workspace.id) : new Map();
    const target = { ...this.target, sourceId: this.sourceId, actor: this.actor };
    this.newUsers = new NewUsersBatches(target, groups, this.source.mapping, this.limit, !this.options.dryRun);
  }

  /** Whether any row is staged (a first import stages none). */
  get stages(): boolean {
    return !this.newUsers;
  }

  /** Whether the import still applies: a dry run never does; without `partial`, one problem stops it. */
  get applies(): boolean {
    return !this.options.dryRun && (this.options.partial || this.findings.problemCount === 0);
  }

  /**
   * Whether some row read so far has no problem. Once every row is read and checked: whether a partial import
   * imports anything at all (one that does not has not done what was asked, and applies nothing).
   */
  private get anyValidRow(): boolean {
    return this.findings.invalidRows.size < this.rows;
  }

  /** Reads and checks the file's rows and stages them, a batch at a time. */
  async *stagedBatches(): AsyncGenerator<StagedBatch> {
    const { table } = this.source;
    const batchRows = this.options.batchRows ?? defaultBatchRows;
    // Each row is encoded for COPY as it is read: a batch held as value arrays lived long enough for V8 to
    // move every one of them to the old generation, and collecting them there cost more than the encoding.
    const encoder = new CopyEncoder();
    let staged = 0;
    let pins = new Map<number, string>();
    let from: number | undefined;
    let to = 0;
    const stage = async (last: boolean): Promise<StagedBatch> => {
      const batch: StagedBatch = { rows: { runId: this.runId, from: from ?? to + 1, to }, pins, last, staged };
      if (this.newUsers) batch.newUsers = this.newUsers.take();
      else await stageRows(this.store, encoder.take(), this.reader);
      [staged, pins, from] = [0, new Map(), undefined];
      return batch;
    };
    const reading = () => this.progress("reading", table.bytesRead(), table.totalBytes);
    for await (const result of this.source.rows) {
      this.rows++;
      from ??= result.row;
      to = result.row;
      const problems = result.user && this.newUsers ? this.newUsers.add(result.user) : result.problems;
      if (result.user && problems.length === 0) {
        if (result.warnings) this.findings.addWarnings(result.warnings);
        if (result.numbers) this.findings.addNumberCells(result.row, result.numbers);
        if (result.user.pin) pins.set(result.row, result.user.pin);
        this.managers?.add(result.user);
        if (!this.newUsers) encoder.add(stagingRow(this.runId, result.user));
        if (++staged >= batchRows) yield await stage(false);
      } else this.findings.addProblems(problems);
      if (this.rows % 1000 === 0) reading();
      // Parsed rows come out of a buffer without a turn of the event loop: the database's answers for the batch
      // being applied would wait for a whole buffer (about 2,000 rows), and the database with them.
      if (this.rows % 250 === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.options.signal?.throwIfAborted();
      }
    }
    reading();
    if (this.rows === 0) throw new RollcallError("import_invalid", "The file has a header row but no users.", { reason: "no_rows", headers: this.source.mapping.headers });
    this.timings.sinceStart("read");
    yield await stage(true);
  }

  /**
   * Plans `first` and every batch after it, each while the next one is read and staged, and with a source
   * id applies each as long as the import still applies. Returns the report (complete with the last batch).
   */
  async process(db: Db, first: StagedBatch, rest: AsyncGenerator<StagedBatch>, sourceId?: string): Promise<ImportReport> {
    let batch = first;
    for (;;) {
      const next = batch.last ? undefined : rest.next();
      next?.catch(() => {}); // awaited below, after this batch's work; a read error surfaces there
      try {
        this.options.signal?.throwIfAborted();
        const report = await this.plan(db, batch);
        this.options.signal?.throwIfAborted();
        if (sourceId && (report ? report.applied : this.applies)) await this.apply(db, batch, sourceId);
        if (report) return report;
      } catch (error) {
        // Nothing may still be writing when the transaction ends (a statement after its ROLLBACK would commit on its own).
        await Promise.allSettled([next]);
        await rest.return(undefined);
        throw error;
      }
      batch = (await next!).value as StagedBatch;
    }
  }

  /** Checks a staged batch against the directory, hashes its PINs and classifies it; the last batch also returns the report. */
  async plan(db: Db, batch: StagedBatch): Promise<ImportReport | undefined> {
    if (batch.newUsers) {
      for (const { name } of batch.newUsers.newGroups) this.newGroups.set(name.toLowerCase(), name);
      if (batch.last) await this.checkManagers(db);
      return batch.last ? this.report(db) : undefined;
    }
    const progress = this.progressOf(batch);
    const { ctx, options } = this;
    const lap = this.timings.stopwatch();
    progress("checking", 0, 2, "existing users");
    if (!this.analyzed) await analyzeStaging(db);
    this.analyzed = true;
    const targets = await clashTargets(db, ctx.workspace.id);
    const byId = this.target.present.has("rollcallId");
    const matched = this.hadUsers ? await matchExisting(db, batch.rows, ctx.workspace.id, byId) : 0;
    // Without a Display name column a row may give no name: its user keeps theirs, and a row that would add a user is a problem.
    const unnamed = this.source.mapping.fields.includes("displayName") ? [] : await keepNamesOrDropUnnamed(db, batch.rows);
    this.findings.addProblems(unnamed.map((row) => unnamedNewUserProblem(row, this.source.mapping)));
    if (matched > 0 && ["cardNumbers", "employeeId", "customAttributes"].some((field) => this.target.present.has(field))) {
      this.findings.addRestored(await leadingZeroWarnings(db, batch.rows, this.source.mapping, this.source.table.format));
    }
    if (matched > 0 && this.target.present.has("rollcallId")) this.findings.addWarnings(await syncedFieldWarnings(db, batch.rows, this.source.mapping, this.target.present));
    if (matched > 0 && !options.updateExisting) await markUnchangedElsewhere(db, { ...this.target, ...batch.rows }, [...batch.pins.keys()]);
    progress("checking", 1, 2, "conflicts");
    const scope = { workspaceId: ctx.workspace.id, sourceName: this.sourceName, updateExisting: options.updateExisting, users: this.hadUsers, entraGroups: targets.entraGroups };
    const dropped = await dropClashing(db, batch.rows, scope, { mapping: this.source.mapping, sourceName: this.sourceName, findings: this.findings });
    if (matched > 0 && byId && targets.entraGroups && this.target.present.has("groups")) this.findings.addWarnings(keptEntraGroupWarnings(await keptEntraGroups(db, batch.rows), this.source.mapping));
    if (batch.last) dropped.push(...(await this.checkManagers(db, batch.rows)));
    if (matched === 0) batch.planned = { create: batch.staged - unnamed.length - dropped.length };
    for (const row of this.findings.invalidRows) batch.pins.delete(row);
    progress("checking", 2, 2);
    lap("check");
    await preparePins(db, this.runId, batch.pins, options.dryRun, (done) => progress("hashing", done, batch.pins.size), this.options.signal);
    lap("pins");
    const target: ApplyTarget = { ...this.target, ...batch.rows };
    progress("planning", 0, 2, "changes");
    await classify(db, target, matched);
    // Earlier batches that were applied created theirs; an import that stops applying never resumes.
    batch.newGroups = await plannedGroups(db, target);
    for (const name of batch.newGroups) if (!this.newGroups.has(name.toLowerCase())) this.newGroups.set(name.toLowerCase(), name);
    // Before the batch is applied: "before" is the user as it is now. Only matched rows can be updates.
    if (matched > 0 && this.updated.length < this.limit) this.updated.push(...(await previewUpdated(db, target, this.limit - this.updated.length)));
    if (!batch.last) return lap("plan");
    progress("planning", 1, 2, "report");
    const report = await this.report(db);
    progress("planning", 2, 2);
    lap("plan");
    return report;
  }

  /** Writes a planned batch (inside the import's transaction). */
  async apply(db: Db, batch: StagedBatch, sourceId: string): Promise<void> {
    const progress = this.progressOf(batch);
    const onStep = (done: number, total: number, step?: string) => progress("applying", done, total, step);
    const lap = this.timings.stopwatch();
    const { actor } = this;
    let planned: Record<string, number>;
    if (batch.newUsers) {
      // Another import created the source since start: this one's users were encoded with another id.
      if (sourceId !== this.sourceId) throw new RollcallError("conflict", "This source name is already another source's (changed at the same time?); try again", { field: "source" });
      planned = { create: batch.newUsers.created };
      await insertImportGroups(db, { ...this.target, sourceId, actor }, batch.newUsers.newGroups);
      await writeNewUsers(this.store, db, batch.newUsers.rows, onStep);
    } else {
      planned = batch.planned ?? (await countActions(db, batch.rows));
      await applyStaged(db, { ...this.target, ...batch.rows }, { sourceId, actor, newGroups: batch.newGroups ?? [], planned }, onStep);
      // As a change by hand: the next sync sets back what Entra ID owns of a synced user (enabled, mapped cards…).
      if ((planned.update ?? 0) > 0 && this.target.present.has("rollcallId")) await markDirtyOutsideRun(db, updatedSyncedUsers(batch.rows));
    }
    if (!batch.last && !this.analyzedApplied && (planned.create ?? 0) > 0) {
      await analyzeApplied(db);
      this.analyzedApplied = true;
    }
    if (batch.last) await this.managers?.apply(db, { workspaceId: this.ctx.workspace.id, actor });
    lap("apply");
    if (batch.last) this.timings.sinceStart("total");
  }

  /**
   * Checks the Manager column once every row is read; drops the refused rows of the last batch (`rows`), so that a
   * partial import leaves them out. Returns the rows dropped.
   */
  private async checkManagers(db: Db, rows?: Required<StagedRows>): Promise<number[]> {
    if (!this.managers) return [];
    const { workspace } = this.ctx;
    const { problems, warnings } = await this.managers.check(db, { workspaceId: workspace.id, workspaceName: workspace.name, runId: this.runId, invalid: this.findings.invalidRows, partial: this.options.partial });
    this.findings.addProblems(problems);
    this.findings.addWarnings(warnings);
    if (!rows) return [];
    const refused = [...new Set(problems.map((p) => p.row))].filter((row) => row >= rows.from && row <= rows.to);
    await dropRows(db, this.runId, refused);
    return refused;
  }

  private async report(db: Db): Promise<ImportReport> {
    const { options, source, limit, newUsers, findings } = this;
    this.timings.sinceStart("total");
    const counts = newUsers ? { create: newUsers.created } : await countActions(db, { runId: this.runId });
    const managers = newUsers ? [] : ((await this.managers?.changes(db, this.runId)) ?? []);
    const managerOnly = managers.filter((m) => m.action === "unchanged").map((m) => m.row);
    if (managerOnly.length) Object.assign(counts, { update: (counts.update ?? 0) + managerOnly.length, unchanged: (counts.unchanged ?? 0) - managerOnly.length });
    return buildReport({
      options, sourceName: this.sourceName, table: source.table, mapping: source.mapping, rows: this.rows, limit, applied: this.applies && this.anyValidRow, timings: this.timings.steps,
      counts,
      newGroups: [...this.newGroups.values()],
      problems: findings.problems, problemCount: findings.problemCount, invalidRows: findings.invalidRows.size, syncedRows: findings.syncedRows, warnings: findings.warnings, warningCount: findings.warningCount,
      columnWarnings: findings.columnWarnings(this.ctx.workspace.defaultCountry),
      created: newUsers ? newUsers.preview : await previewCreated(db, this.runId, limit),
      updated: withManagerChanges(this.updated, managers, limit),
      unchanged: newUsers ? [] : await previewUnchanged(db, this.runId, limit, managerOnly),
    });
  }

  /** Who the change log names for this import's changes. */
  private get actor(): string {
    return `${this.ctx.actor} (import ${this.sourceName})`;
  }

  /** Reports where the import is; also where an aborted import stops (its caller rolls the transaction back). */
  private progress(phase: ImportProgress["phase"], done: number, total: number, step?: string): void {
    this.options.signal?.throwIfAborted();
    this.options.onProgress?.({ phase, step, rows: this.rows, done, total });
  }

  /** Batches before the last are planned and applied while the file is still being read: progress shows the reading then. */
  private progressOf(batch: StagedBatch): ImportPass["progress"] {
    return batch.last ? (...args) => this.progress(...args) : () => {};
  }
}

function presentFields(fields: (string | null)[]): Set<string> {
  const present = new Set<string>(["displayName"]);
  for (const field of fields) {
    if (!field) continue;
    present.add(field.startsWith("customAttributes.") ? "customAttributes" : field === "blockSignIn" ? "enabled" : field);
  }
  return present;
}
