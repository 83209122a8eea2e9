import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import { sql } from "kysely";
import { RollcallError, invalidInput, toRollcallError } from "../errors.ts";
import type { Store } from "../storage/database.ts";
import { clearStaging } from "../storage/queries/imports.ts";
import { openImportSource } from "../sources/import/source.ts";
import type { MappingFile } from "../sources/import/mapping.ts";
import { translateDatabaseError, type WorkspaceContext } from "./context.ts";
import { ImportPass, type StagedBatch } from "./import-pass.ts";
import { importFailed, type ImportReport } from "./import-report.ts";
import { raiseImportFailed, resolveImportFailures } from "./notifications.ts";
import { manualSource } from "./users.ts";

export type { ImportReport };

export interface ImportOptions {
  /** Where the file is on disk (an upload is saved to a temporary file first). */
  path: string;
  /** The name the admin knows the file by; the default source name. */
  fileName: string;
  /** The upload's id when the file was uploaded (POST …/imports): a failed import's notification names it. */
  uploadId?: string | undefined;
  /** Source name for the users (default: the file name). Re-importing under the same name updates them. */
  sourceName?: string | undefined;
  sheet?: string | undefined;
  /** A CSV file's text encoding, any iconv-lite knows (default: detected). */
  encoding?: string | undefined;
  mapping?: MappingFile | undefined;
  dryRun: boolean;
  partial: boolean;
  updateExisting: boolean;
  /** How many created/updated/unchanged users and problems the report lists (counts are always exact). */
  reportLimit?: number;
  /** Rows per batch (tests make it small to import a short file in several batches). */
  batchRows?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Aborted (with a RollcallError as its reason): the import stops at its next step and rolls back. */
  signal?: AbortSignal | undefined;
}

/**
 * Where an import is. `done` of `total` counts in the phase's own units: bytes read (for an XLSX, of the
 * sheet's compressed data), PINs checked or hashed, steps finished (checking, planning and applying run a
 * few steps; `step` names the one under way). Each phase ends with a report where done === total.
 */
export interface ImportProgress {
  phase: "reading" | "checking" | "hashing" | "planning" | "applying";
  step?: string | undefined;
  /** Rows read from the file so far. */
  rows: number;
  done: number;
  total: number;
}

/**
 * Import users from a CSV or XLSX file, streaming: the rows are read and checked in batches, each batch
 * staged with COPY, checked against the directory and applied while the next one is read, all in one
 * transaction (with `partial`, the valid rows; without, a single problem rolls everything back). Into a
 * workspace without users, each batch is written as new users without staging (NewUsersBatches). A dry
 * run plans the same batches and applies none. Re-importing the same file changes nothing.
 */
export async function runImport(ctx: WorkspaceContext, store: Store, options: ImportOptions): Promise<ImportReport> {
  if (options.dryRun) return importFile(ctx, store, options);
  try {
    const report = await importFile(ctx, store, options);
    if (importFailed(report)) {
      const problems = `${report.counts.problems} problem(s) in ${report.counts.invalid} row(s)`;
      await notifyFailure(ctx, options, options.partial ? `No row was valid (${problems}): nothing was imported.` : `${problems} stopped the import.`);
    } else {
      await resolveImportFailures(ctx.db, { workspace: ctx.workspace, fileName: options.fileName }).catch(() => undefined);
    }
    return report;
  } catch (error) {
    await notifyFailure(ctx, options, toRollcallError(error).message);
    throw error;
  }
}

/** Admins hear about a failed import (banner, e-mail, webhook); a failure to notify never hides the import's own error. */
async function notifyFailure(ctx: WorkspaceContext, options: ImportOptions, message: string): Promise<void> {
  await raiseImportFailed(ctx.db, { workspace: ctx.workspace, importId: options.uploadId ?? randomUUID(), fileName: options.fileName, message }).catch(() => null);
}

/** Carries the report of an import that applies nothing out of its transaction, rolling back what its earlier batches wrote. */
class NothingApplied extends Error {
  constructor(readonly report: ImportReport) {
    super("import not applied");
  }
}

async function importFile(ctx: WorkspaceContext, store: Store, options: ImportOptions): Promise<ImportReport> {
  const sourceName = (options.sourceName ?? basename(options.fileName)).trim();
  if (!sourceName || sourceName.length > 256) throw invalidInput([{ field: "source", message: "must be 1 to 256 characters", value: sourceName }]);
  const sourceId = await importSourceId(ctx, sourceName);
  const source = await openImportSource(options.path, { sheet: options.sheet, encoding: options.encoding, mapping: options.mapping, defaultCountry: ctx.workspace.defaultCountry });
  const pass = new ImportPass(ctx, store, options, source, sourceName);
  await pass.start(ctx.db, sourceId);
  const batches = pass.stagedBatches();
  try {
    const first = (await batches.next()).value!;
    if (options.dryRun) return await pass.process(ctx.db, first, batches);
    const report = first.last
      ? await applyAfterPlanning(ctx, pass, first, options.fileName)
      : await applyWhileReading(ctx, pass, first, batches, options.fileName, sourceName);
    // Updated users leave their old rows dead (and their replaced cards and memberships): without autovacuum
    // (PGlite) every re-import with changes would grow the tables by them.
    if (report.applied && report.counts.updated > 0) await store.reclaim(["users", "user_identifiers", "group_members"]);
    return report;
  } finally {
    await batches.return(undefined);
    if (pass.stages) await clearStaging(store, pass.runId);
  }
}

/**
 * A file of one batch (most files) is checked and planned first; only the apply runs in the transaction.
 * On PGlite, whose one connection a transaction holds, the rest of the server waits for the apply only.
 */
async function applyAfterPlanning(ctx: WorkspaceContext, pass: ImportPass, only: StagedBatch, file: string): Promise<ImportReport> {
  const report = (await pass.plan(ctx.db, only))!;
  if (!report.applied) return report;
  await ctx.db
    .transaction()
    .execute(async (trx) => {
      await roomForLoggedRows(trx);
      await pass.apply(trx, only, await upsertImportSource(trx, ctx.workspace.id, { id: pass.sourceId, name: report.source }, file, report.counts.rows));
    })
    .catch(translateDatabaseError);
  return report;
}

/**
 * A bigger file is applied batch by batch while the rest is read, in one transaction: the database writes
 * one batch while this process parses the next. A problem found later rolls back what earlier batches wrote.
 * (On PGlite the rest of the server then waits for the whole import, not for its apply only.)
 */
async function applyWhileReading(ctx: WorkspaceContext, pass: ImportPass, first: StagedBatch, rest: AsyncGenerator<StagedBatch>, file: string, sourceName: string): Promise<ImportReport> {
  return ctx.db
    .transaction()
    .execute(async (trx) => {
      await roomForLoggedRows(trx);
      pass.reader = trx;
      const sourceId = await upsertImportSource(trx, ctx.workspace.id, { id: pass.sourceId, name: sourceName }, file, 0);
      const report = await pass.process(trx, first, rest, sourceId);
      if (!report.applied) throw new NothingApplied(report);
      await upsertImportSource(trx, ctx.workspace.id, { id: sourceId, name: sourceName }, file, report.counts.rows);
      return report;
    })
    .catch((error) => (error instanceof NothingApplied ? error.report : translateDatabaseError(error)));
}

/**
 * The change log's reference checks read each statement's inserted rows from a transition table, kept in
 * work_mem. A batch's 10,000 "create" entries with their fields take about 5 MB: past the default 4 MB they
 * went to a temporary file, which cost a quarter of the change log's time on PGlite.
 */
async function roomForLoggedRows(trx: WorkspaceContext["db"]): Promise<void> {
  await sql`SET LOCAL work_mem = '32MB'`.execute(trx);
}

/** The id of the import source called `name`, if there is one; another kind of source with that name is refused. */
async function importSourceId(ctx: WorkspaceContext, name: string): Promise<string | undefined> {
  // Users added by hand are listed under "manual": imported users there could not be told apart from them.
  if (name.toLowerCase() === manualSource.name) throw invalidInput([{ field: "source", message: `"${name}" is the name of users added by hand; give the import another --source name`, value: name }]);
  const existing = await ctx.db.selectFrom("sources").select(["id", "type", "name"]).where("workspace_id", "=", ctx.workspace.id).where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
  if (existing && existing.type !== "import") {
    throw new RollcallError("conflict", `Source name "${name}" is already used by the ${existing.type} source "${existing.name}"; import with --source to choose another name`, { field: "source", value: name });
  }
  return existing?.id;
}

/** The import source `name`, created with `id` when there is none yet (else updated); returns its id. */
async function upsertImportSource(trx: WorkspaceContext["db"], workspaceId: string, { id, name }: { id: string; name: string }, fileName: string, rows: number): Promise<string> {
  const config = JSON.stringify({ lastFile: fileName, lastRows: rows, lastImportAt: new Date().toISOString() });
  const existing = await trx.selectFrom("sources").select("id").where("workspace_id", "=", workspaceId).where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
  if (existing) {
    await trx.updateTable("sources").set({ config, updated_at: sql`now()` }).where("id", "=", existing.id).execute();
    return existing.id;
  }
  const row = await trx.insertInto("sources").values({ id, workspace_id: workspaceId, type: "import", name, config, secret_ciphertext: null }).returning("id").executeTakeFirstOrThrow();
  return row.id;
}
