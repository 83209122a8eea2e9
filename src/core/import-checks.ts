import type { Db } from "../storage/database.ts";
import { currentPinHashes, dropRows, findClashes, holderRows, keepSyncedFields, restoreLeadingZeros, setPinHashes, type StagedRows } from "../storage/queries/imports.ts";
import type { ColumnMapping } from "../sources/import/mapping.ts";
import type { ImportField } from "../domain/import-fields.ts";
import type { ImportProblem } from "../sources/import/row.ts";
import { hashSecret, verifySecret } from "../security/hashing.ts";
import type { ImportFindings } from "./import-tally.ts";
import { clashProblem, isSyncedOwner, keptSyncedWarning, releasableHolders, releasedClashes, syncedRowWarning } from "./import-report.ts";
import { sourceOwnedFields } from "./users.ts";

// Steps of planning a staged batch (ImportPass.plan) that work on its rows in the database: card numbers and employee
// IDs that lost their leading zeros, the rows that clash with the directory, and the PINs, hashed only where they changed.

const pinConcurrency = 4;

/** A row's card number or employee ID that is a user's without its leading zeros: `warning` says the user keeps `kept`. */
export interface KeptZeros {
  warning: ImportProblem;
  given: string;
  kept: string;
}

/**
 * The rows whose card number or employee ID is a user's without its leading zeros: the user keeps them. In an .xlsx
 * file the cell held a number (summed up in its column's warning, ImportFindings) or text typed without them.
 */
export async function leadingZeroWarnings(db: Db, rows: StagedRows, mapping: ColumnMapping, format: "csv" | "xlsx"): Promise<KeptZeros[]> {
  const why = format === "csv" ? "a spreadsheet drops them when it opens a CSV" : "Excel drops them from a number typed into a cell";
  return (await restoreLeadingZeros(db, rows)).map((r) => ({
    given: r.given, kept: r.kept,
    warning: {
      row: r.row_no, column: mapping.headers[mapping.fields.indexOf(r.field as ImportField)] ?? null, field: r.field, value: r.given,
      message: `is ${restoredWhat(r.field)} ${r.kept} without its leading zeros (${why}): the user keeps ${r.kept}`,
    },
  }));
}

/**
 * Rows matched by their Rollcall id to a user synced from Entra ID keep what the sync owns (the user's name, addresses,
 * department…) and import the rest (cards, PIN, tags…): a warning names the fields such a row gave otherwise.
 */
export async function syncedFieldWarnings(db: Db, rows: StagedRows, mapping: ColumnMapping, present: Set<string>): Promise<ImportProblem[]> {
  return (await keepSyncedFields(db, rows, present, sourceOwnedFields)).map((kept) => keptSyncedWarning(kept, mapping));
}

function restoredWhat(field: string): string {
  if (field === "cardNumbers") return "card";
  if (field === "employeeId") return "employee ID";
  return `custom attribute “${field.slice("customAttributes.".length)}”`;
}

/**
 * Reports and drops the batch's rows that clash with the directory; returns their row numbers. A card or alias
 * whose holder's own row gives it up is no clash, unless that row is dropped too: then the rows are checked again.
 */
export async function dropClashing(
  db: Db,
  rows: Required<StagedRows>,
  scope: Parameters<typeof findClashes>[2],
  file: { mapping: ColumnMapping; sourceName: string; findings: ImportFindings },
): Promise<number[]> {
  const { findings } = file;
  const dropped: number[] = [];
  for (;;) {
    const clashes = await findClashes(db, rows, scope, 100_000);
    const { stopping, releasing } = releasedClashes(clashes, await holderRows(db, rows.runId, releasableHolders(clashes)));
    // A row of a user synced from Entra ID (linked by a sync, or in an export imported back) is left alone, not
    // a problem that stops the import: the source owns that user.
    const synced = new Map(stopping.filter(isSyncedOwner).map((c) => [c.row_no, c]));
    findings.addWarnings([...synced.values()].map((c) => syncedRowWarning(c, file.mapping)));
    findings.syncedRows += synced.size;
    findings.addProblems(stopping.filter((c) => !synced.has(c.row_no)).map((c) => clashProblem(c, file.mapping, file.sourceName)));
    const clashing = [...new Set(stopping.map((c) => c.row_no))];
    await dropRows(db, rows.runId, clashing);
    dropped.push(...clashing);
    if (!clashing.some((row) => releasing.has(row))) return dropped;
  }
}

/**
 * Hashes the rows' PINs, a few at a time; a PIN only when it differs from the one stored (checking costs one scrypt,
 * like hashing). `signal` stops it between two PINs: a server stopping mid-commit does not hash the rest first.
 */
export async function preparePins(db: Db, runId: string, pins: Map<number, string>, dryRun: boolean, onProgress: (done: number) => void, signal?: AbortSignal): Promise<void> {
  if (pins.size === 0) return;
  onProgress(0);
  const current = await currentPinHashes(db, runId, [...pins.keys()]);
  const hashes = new Map<number, string>();
  const queue = [...pins];
  let done = 0;
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      signal?.throwIfAborted();
      const [row, pin] = next;
      const existing = current.get(row);
      const same = existing ? await verifySecret(pin, existing) : false;
      if (!same) hashes.set(row, dryRun ? "pending" : await hashSecret(pin));
      if (++done % 100 === 0 && done < pins.size) onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: pinConcurrency }, worker));
  onProgress(done);
  await setPinHashes(db, runId, hashes);
}
