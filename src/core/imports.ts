import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import { sql } from "kysely";
import { RollcallError, invalidInput, toRollcallError } from "../errors.ts";
import type { Store } from "../storage/database.ts";
import { clearStaging, currentPinHashes, dropRows, findClashes, matchExisting, setPinHashes, stageRows, stagingRow, type Clash } from "../storage/queries/imports.ts";
import { applyStaged, classify, countActions, plannedGroups, previewCreated, previewUnchanged, previewUpdated, type ApplyTarget } from "../storage/queries/import-apply.ts";
import { openImportSource } from "../sources/import/source.ts";
import type { MappingFile } from "../sources/import/mapping.ts";
import type { ImportProblem } from "../sources/import/row.ts";
import { hashSecret, verifySecret } from "../security/hashing.ts";
import { translateDatabaseError, type WorkspaceContext } from "./context.ts";
import { buildReport, clashProblem, type ImportReport } from "./import-report.ts";
import { raiseImportFailed } from "./notifications.ts";

export type { ImportReport };

export interface ImportOptions {
  /** Where the file is on disk (an upload is saved to a temporary file first). */
  path: string;
  /** The name the admin knows the file by; the default source name. */
  fileName: string;
  /** Source name for the users (default: the file name). Re-importing under the same name updates them. */
  sourceName?: string | undefined;
  sheet?: string | undefined;
  mapping?: MappingFile | undefined;
  dryRun: boolean;
  partial: boolean;
  updateExisting: boolean;
  /** How many created/updated/unchanged users and problems the report lists (counts are always exact). */
  reportLimit?: number;
  onProgress?: (progress: ImportProgress) => void;
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

const batchSize = 5000;
const pinConcurrency = 4;

/**
 * Import users from a CSV or XLSX file: stream and check every row, stage the valid ones with COPY,
 * check them against the directory, then apply everything in one transaction (or, with `partial`,
 * the valid rows). A dry run stops after the plan. Re-importing the same file changes nothing.
 */
export async function runImport(ctx: WorkspaceContext, store: Store, options: ImportOptions): Promise<ImportReport> {
  if (options.dryRun) return importFile(ctx, store, options);
  try {
    const report = await importFile(ctx, store, options);
    if (!report.applied) {
      await notifyFailure(ctx, options, `${report.counts.problems} problem(s) in ${report.counts.invalid} row(s) stopped the import.`);
    }
    return report;
  } catch (error) {
    await notifyFailure(ctx, options, toRollcallError(error).message);
    throw error;
  }
}

/** Admins hear about a failed import (banner, e-mail, webhook); a failure to notify never hides the import's own error. */
async function notifyFailure(ctx: WorkspaceContext, options: ImportOptions, message: string): Promise<void> {
  await raiseImportFailed(ctx.db, { workspace: ctx.workspace, importId: randomUUID(), fileName: options.fileName, message }).catch(() => null);
}

async function importFile(ctx: WorkspaceContext, store: Store, options: ImportOptions): Promise<ImportReport> {
  const sourceName = (options.sourceName ?? basename(options.fileName)).trim();
  if (!sourceName || sourceName.length > 256) throw invalidInput([{ field: "source", message: "must be 1 to 256 characters", value: sourceName }]);
  await assertImportSourceName(ctx, sourceName);
  const limit = options.reportLimit ?? 1000;
  const source = await openImportSource(options.path, { sheet: options.sheet, mapping: options.mapping, defaultCountry: ctx.workspace.defaultCountry });
  const { table, mapping } = source;
  const runId = randomUUID();
  const problems: ImportProblem[] = [];
  let problemCount = 0;
  const invalidRows = new Set<number>();
  const addProblems = (list: ImportProblem[]) => {
    problemCount += list.length;
    for (const p of list) {
      invalidRows.add(p.row);
      if (problems.length < limit) problems.push(p);
    }
  };
  const pins = new Map<number, string>();
  let rows = 0;
  const progress = (phase: ImportProgress["phase"], done: number, total: number, step?: string) => options.onProgress?.({ phase, step, rows, done, total });
  const reading = () => progress("reading", table.bytesRead(), table.totalBytes);

  const timings: Record<string, number> = {};
  let clock = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    timings[phase] = Math.round(now - clock);
    clock = now;
  };
  try {
    let batch: ReturnType<typeof stagingRow>[] = [];
    // One COPY in flight while the next batch is read: on PostgreSQL the two run in parallel.
    let copying: Promise<void> = Promise.resolve();
    const flush = async () => {
      await copying;
      copying = stageRows(store, batch);
      copying.catch(() => {});
      batch = [];
    };
    for await (const result of source.rows) {
      rows++;
      if (result.user) {
        if (result.user.pin) pins.set(result.row, result.user.pin);
        batch.push(stagingRow(runId, result.user));
        if (batch.length >= batchSize) await flush();
      } else addProblems(result.problems);
      if (rows % 1000 === 0) reading();
    }
    await flush();
    await copying;
    reading();
    if (rows === 0) throw new RollcallError("import_invalid", "The file has a header row but no users.", { reason: "no_rows", headers: mapping.headers });

    lap("read");
    progress("checking", 0, 2, "existing users");
    const matched = await matchExisting(ctx.db, runId, ctx.workspace.id);
    progress("checking", 1, 2, "conflicts");
    const clashes = await findClashes(ctx.db, runId, ctx.workspace.id, sourceName, options.updateExisting, 100_000);
    addProblems(clashes.map((c: Clash) => clashProblem(c, mapping, sourceName)));
    await dropRows(ctx.db, runId, [...new Set(clashes.map((c) => c.row_no))]);
    for (const row of invalidRows) pins.delete(row);
    progress("checking", 2, 2);

    lap("check");
    await preparePins(ctx, runId, pins, options.dryRun, (done) => progress("hashing", done, pins.size));
    lap("pins");
    const target: ApplyTarget = { runId, workspaceId: ctx.workspace.id, sourceName, present: presentFields(mapping.fields) };
    progress("planning", 0, 2, "changes");
    await classify(ctx.db, target, matched);
    progress("planning", 1, 2, "report");
    const counts = await countActions(ctx.db, runId);
    const newGroups = await plannedGroups(ctx.db, target);
    const willApply = !options.dryRun && (options.partial || problemCount === 0);
    const report = buildReport({
      options, sourceName, table, mapping, rows, counts, newGroups, problems, problemCount, invalidRows: invalidRows.size, limit,
      created: await previewCreated(ctx.db, runId, limit),
      updated: await previewUpdated(ctx.db, target, limit),
      unchanged: await previewUnchanged(ctx.db, runId, limit),
      applied: willApply,
      timings,
    });
    progress("planning", 2, 2);
    lap("plan");
    if (willApply) {
      await ctx.db
        .transaction()
        .execute(async (trx) => {
          const sourceId = await upsertImportSource(trx, ctx.workspace.id, sourceName, options.fileName, rows);
          const actor = `${ctx.actor} (import ${sourceName})`;
          await applyStaged(trx, target, { sourceId, actor, newGroups, planned: counts }, (done, total, step) => progress("applying", done, total, step));
        })
        .catch(translateDatabaseError);
      // Updated users leave their old rows dead (and their replaced cards and memberships): without autovacuum
      // (PGlite) every re-import with changes would grow the tables by them.
      if ((counts.update ?? 0) > 0) await store.reclaim(["users", "user_identifiers", "group_members"]);
      lap("apply");
    }
    return report;
  } finally {
    await clearStaging(store, runId);
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

/** A PIN is hashed only when it differs from the one stored (checking costs one scrypt, like hashing). */
async function preparePins(ctx: WorkspaceContext, runId: string, pins: Map<number, string>, dryRun: boolean, onProgress: (done: number) => void): Promise<void> {
  if (pins.size === 0) return;
  onProgress(0);
  const current = await currentPinHashes(ctx.db, runId, [...pins.keys()]);
  const hashes = new Map<number, string>();
  const queue = [...pins];
  let done = 0;
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [row, pin] = next;
      const existing = current.get(row);
      const same = existing ? await verifySecret(pin, existing) : false;
      if (!same) hashes.set(row, dryRun ? "pending" : await hashSecret(pin));
      if (++done % 100 === 0 && done < pins.size) onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: pinConcurrency }, worker));
  onProgress(done);
  await setPinHashes(ctx.db, runId, hashes);
}

async function assertImportSourceName(ctx: WorkspaceContext, name: string): Promise<void> {
  const existing = await ctx.db.selectFrom("sources").select(["type", "name"]).where("workspace_id", "=", ctx.workspace.id).where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
  if (existing && existing.type !== "import") {
    throw new RollcallError("conflict", `Source name "${name}" is already used by the ${existing.type} source "${existing.name}"; import with --source to choose another name`, { field: "source", value: name });
  }
}

async function upsertImportSource(trx: WorkspaceContext["db"], workspaceId: string, name: string, fileName: string, rows: number): Promise<string> {
  const config = JSON.stringify({ lastFile: fileName, lastRows: rows, lastImportAt: new Date().toISOString() });
  const existing = await trx.selectFrom("sources").select("id").where("workspace_id", "=", workspaceId).where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
  if (existing) {
    await trx.updateTable("sources").set({ config, updated_at: sql`now()` }).where("id", "=", existing.id).execute();
    return existing.id;
  }
  const row = await trx.insertInto("sources").values({ workspace_id: workspaceId, type: "import", name, config, secret_ciphertext: null }).returning("id").executeTakeFirstOrThrow();
  return row.id;
}
