import type { ImportCounts, ImportTimings } from "../domain/run-counts.ts";
import { RollcallError } from "../errors.ts";
import type { Clash, HolderRow, KeptEntraGroup, KeptSyncedRow } from "../storage/queries/imports.ts";
import { columnsInFile, type ColumnMapping } from "../sources/import/mapping.ts";
import type { ImportProblem } from "../sources/import/row.ts";
import type { ColumnWarning } from "../sources/import/number-cells.ts";
import type { TableFile } from "../sources/import/table.ts";
import type { CsvDelimiter } from "../sources/import/csv.ts";

/** What an import did (or, in a dry run, would do). Counts are exact; lists stop at `limit` entries each. */
export interface ImportReport {
  file: { name: string; format: "csv" | "xlsx"; encoding?: string; delimiter?: CsvDelimiter; sheet?: string; sheets?: string[]; layout: ColumnMapping["layout"] };
  source: string;
  dryRun: boolean;
  partial: boolean;
  updateExisting: boolean;
  /**
   * True when the changes were written. False for a dry run, when problems stopped an all-or-nothing import, and
   * when a partial import found no valid row (nothing was imported).
   */
  applied: boolean;
  columns: {
    mapped: { column: string; field: string }[];
    unknown: string[];
    ignored: { column: string; reason: string }[];
    /** Every headed column in file order: two of one heading told apart by letter. */
    inFile: { column: string; letter: string; field: string | null }[];
  };
  counts: ImportCounts;
  created: { row: number; email: string | null; userPrincipalName: string | null; displayName: string }[];
  updated: { row: number; id: string; email: string | null; displayName: string; changes: Record<string, { before: unknown; after: unknown }> }[];
  unchanged: { row: number; id: string; email: string | null; displayName: string }[];
  groupsCreated: string[];
  problems: ImportProblem[];
  /** Rows imported with a value that lost something on the way (a phone number's extension, which E.164 cannot hold), at the cell. */
  warnings: ImportProblem[];
  /**
   * Warnings about a whole column, each summing up its rows (never cut short): an .xlsx column of card numbers,
   * employee IDs, PINs or phone numbers holding numbers, whose leading zeros (or 0, or +) Excel drops.
   */
  columnWarnings: ColumnWarning[];
  /** True when some list above was cut at the limit. */
  truncated: boolean;
  timings: ImportTimings;
}

/**
 * Whether the import failed to do what was asked: problems stopped an all-or-nothing import, or a partial one found
 * no valid row, and nothing was imported. A dry run fails when it finds a problem (what a script checks before it commits).
 */
export function importFailed(report: ImportReport): boolean {
  return report.dryRun ? report.counts.problems > 0 : !report.applied;
}

/** The error of a commit that imported nothing (importFailed), with its report. */
export function nothingImported(report: ImportReport): RollcallError {
  const problems = `${report.counts.problems} problem(s) in ${report.counts.invalid} row(s)`;
  // With partial, no valid row means nothing to apply: as much a failure as an all-or-nothing import stopped by problems.
  const message = report.partial ? `Nothing was imported: no row was valid (${problems}); fix them and commit again` : `Nothing was imported: ${problems}; fix them or commit with partial=true`;
  return new RollcallError("import_invalid", message, { report });
}

interface Matched {
  row: number;
  id: string;
  email: string | null;
  displayName: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

export function buildReport(input: {
  options: { fileName: string; dryRun: boolean; partial: boolean; updateExisting: boolean };
  sourceName: string;
  table: TableFile;
  mapping: ColumnMapping;
  rows: number;
  counts: Record<string, number>;
  newGroups: string[];
  problems: ImportProblem[];
  problemCount: number;
  invalidRows: number;
  /** Rows of users synced from Entra ID, skipped with a warning. */
  syncedRows: number;
  warnings: ImportProblem[];
  /** Row warnings, listed or not (columnWarnings count one each). */
  warningCount: number;
  columnWarnings: ColumnWarning[];
  limit: number;
  created: ImportReport["created"];
  updated: Matched[];
  unchanged: ImportReport["unchanged"];
  applied: boolean;
  timings: ImportTimings;
}): ImportReport {
  const { table, mapping, counts, limit } = input;
  const created = counts.create ?? 0;
  const updated = counts.update ?? 0;
  const unchanged = counts.unchanged ?? 0;
  return {
    file: {
      name: input.options.fileName,
      format: table.format,
      ...(table.encoding && { encoding: table.encoding }),
      ...(table.delimiter && { delimiter: table.delimiter }),
      ...(table.sheet !== undefined && { sheet: table.sheet, sheets: table.sheets ?? [] }),
      layout: mapping.layout,
    },
    source: input.sourceName,
    dryRun: input.options.dryRun,
    partial: input.options.partial,
    updateExisting: input.options.updateExisting,
    applied: input.applied,
    columns: {
      mapped: mapping.fields.flatMap((field, i) => (field ? [{ column: mapping.headers[i]!, field }] : [])),
      unknown: mapping.unknown,
      ignored: mapping.ignored,
      inFile: columnsInFile(mapping.headers, mapping.fields),
    },
    counts: {
      rows: input.rows,
      invalid: input.invalidRows,
      problems: input.problemCount,
      warnings: input.warningCount + input.columnWarnings.length,
      created,
      updated,
      unchanged,
      skipped: input.invalidRows + input.syncedRows + unchanged,
      synced: input.syncedRows,
      groupsCreated: input.newGroups.length,
    },
    created: input.created,
    updated: input.updated.map((m) => ({ row: m.row, id: m.id, email: m.email, displayName: m.displayName, changes: diff(m.before, m.after) })),
    unchanged: input.unchanged,
    groupsCreated: input.newGroups,
    problems: [...input.problems].sort((a, b) => a.row - b.row),
    warnings: input.warnings,
    columnWarnings: input.columnWarnings,
    timings: input.timings,
    truncated: created > limit || updated > limit || unchanged > limit || input.problemCount > input.problems.length || input.warningCount > input.warnings.length,
  };
}

/** Only the fields that change. Pure. */
export function diff(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const key of Object.keys(after)) {
    if (JSON.stringify(before[key] ?? null) !== JSON.stringify(after[key] ?? null)) changes[key] = { before: before[key] ?? null, after: after[key] ?? null };
  }
  return changes;
}

/**
 * Sets apart the clashes on a card or alias that its holder gives up in this same import: the holder's own row
 * leaves it without that value (a swap, or a move to another user), so once the import is applied the value is
 * the row's alone. A value is released only if every row describing its holder gives it up. `releasing`: the rows
 * that release one; should one of them be dropped after all, the value stays where it is. Pure.
 */
export function releasedClashes(clashes: Clash[], holders: HolderRow[]): { stopping: Clash[]; releasing: Set<number> } {
  const rowsOf = new Map<string, HolderRow[]>();
  for (const row of holders) rowsOf.set(row.user_id, [...(rowsOf.get(row.user_id) ?? []), row]);
  const stopping: Clash[] = [];
  const releasing = new Set<number>();
  for (const clash of clashes) {
    const rows = releasable(clash) ? rowsOf.get(clash.holder_id!) : undefined;
    if (rows?.every((row) => !keeps(row, clash))) rows.forEach((row) => releasing.add(row.row_no));
    else stopping.push(clash);
  }
  return { stopping, releasing };
}

/** The users holding a card or alias that a row claims: those that might give it up. */
export function releasableHolders(clashes: Clash[]): string[] {
  return [...new Set(clashes.filter(releasable).map((c) => c.holder_id!))];
}

function releasable(clash: Clash): boolean {
  return clash.kind === "holder" && clash.holder_id !== null && (clash.field === "cardNumbers" || clash.field === "aliases");
}

/** Whether the row leaves its user holding the clash's value (aliases compare without case, as their key does). */
function keeps(row: HolderRow, clash: Clash): boolean {
  if (clash.field === "cardNumbers") return (row.card_numbers ?? []).includes(clash.value);
  const key = clash.value.toLowerCase();
  return (row.aliases ?? []).some((alias) => alias.toLowerCase() === key);
}

/** The row describes a user synced from Entra ID (the import matched it by address). */
export function isSyncedOwner(clash: Clash): boolean {
  return clash.kind === "owner" && (clash.holder_source_type === "entra" || clash.holder_source_type === "scim");
}

export function syncedRowWarning(clash: Clash, mapping: ColumnMapping): ImportProblem {
  const index = mapping.fields.findIndex((f) => f === clash.field);
  const who = `${clash.holder_name ?? "a user"}${clash.holder_email ? ` <${clash.holder_email}>` : ""}`;
  return {
    row: clash.row_no, column: index < 0 ? null : mapping.headers[index]!, field: clash.field, value: clash.value,
    message: `skipped: ${who} is synced from Entra ID source "${clash.holder_source_name}", which owns the user (an import never changes a synced user; set a card or PIN with users update)`,
  };
}

/** A row matched by id to a synced user that gave other values for fields the sync owns: kept, the rest imported. */
export function keptSyncedWarning(kept: KeptSyncedRow, mapping: ColumnMapping): ImportProblem {
  const index = mapping.fields.findIndex((f) => f === kept.fields[0]);
  const who = `${kept.holder_name}${kept.holder_email ? ` <${kept.holder_email}>` : ""}`;
  const fields = kept.fields.map((field) => mapping.headers[mapping.fields.indexOf(field as never)] ?? field);
  return {
    row: kept.row_no, column: index < 0 ? null : mapping.headers[index]!, field: kept.fields[0]!,
    // The warning is shown after its first field ("row 3, department: not changed …"): the others are named in it.
    message: `not changed${fields.length > 1 ? ` (nor ${fields.slice(1).join(", ")})` : ""}: ${who} is synced from Entra ID source "${kept.source_name}", which owns ${fields.length > 1 ? "them" : "it"} (change ${fields.length > 1 ? "them" : "it"} in Entra ID); the row's other columns are imported`,
  };
}

/**
 * Warnings for rows matched by their id whose `groups` cell leaves out groups synced from Entra ID that their user is
 * a member of: the sync owns those memberships, so the user stays in them. One warning per row. Pure.
 */
export function keptEntraGroupWarnings(kept: KeptEntraGroup[], mapping: ColumnMapping): ImportProblem[] {
  const byRow = new Map<number, KeptEntraGroup[]>();
  for (const group of kept) byRow.set(group.row_no, [...(byRow.get(group.row_no) ?? []), group]);
  const column = mapping.headers[mapping.fields.indexOf("groups")] ?? null;
  return [...byRow].map(([row, groups]) => {
    const sources = [...new Set(groups.map((g) => g.source_name))];
    const names = groups.map((g) => (sources.length > 1 ? `"${g.group_name}" (Entra ID source "${g.source_name}")` : `"${g.group_name}"`));
    const from = sources.length > 1 ? "Entra ID" : `Entra ID source "${sources[0]}"`;
    return {
      row, column, field: "groups", value: groups.map((g) => g.group_name).join("; "),
      message: `not changed for ${names.join(", ")}: ${groups.length > 1 ? "those memberships come" : "that membership comes"} from ${from}, not from this file (change ${groups.length > 1 ? "them" : "it"} there); the row's other groups are imported`,
    };
  });
}

/**
 * A row that gives no name and matches no user, so would add one without a name (an export whose Display name column
 * was deleted): rows that match a user keep that user's name. Pure.
 */
export function unnamedNewUserProblem(row: number, mapping: ColumnMapping): ImportProblem {
  const keys = mapping.fields.includes("rollcallId") ? "its rollcallId, email or userPrincipalName" : "its email or userPrincipalName";
  const parts = mapping.fields.some((f) => f === "givenName" || f === "surname");
  const none = parts ? "the file has no Display name column and the row's first and last name are blank" : "the file has no name column (Display name, or First name and Last name)";
  return {
    row, column: null, field: "displayName",
    message: `is missing, and this row would add a new user: ${none}, and the row matches no user by ${keys}. Give this user's name (in a Display name column, or as a first and last name), or delete the row; rows that match a user keep that user's name`,
  };
}

export function clashProblem(clash: Clash, mapping: ColumnMapping, sourceName: string): ImportProblem {
  const index = mapping.fields.findIndex((f) => f === clash.field);
  const column = index < 0 ? null : mapping.headers[index]!;
  const who = `${clash.holder_name ?? "another user"}${clash.holder_email ? ` <${clash.holder_email}>` : ""}`;
  let message: string;
  if (clash.kind === "group") {
    message = `group "${clash.value}" is synced from Entra ID source "${clash.holder_source_name}"; an import cannot add members to it`;
  } else if (clash.kind === "holder") {
    message = `"${clash.value}" already belongs to ${who} (user ${clash.holder_id})`;
  } else if (clash.holder_source_type === "manual") {
    // A source's name is never "manual": any other name is the Entra ID source a manual user was kept from (removed,
    // or the person left its scope under on-remove keep).
    const origin = clash.holder_source_name === "manual" ? "who was added by hand" : `kept from Entra ID source "${clash.holder_source_name}"`;
    message = `"${clash.value}" belongs to ${who}, ${origin}; import with --update-existing to take the user over`;
  } else {
    message = `"${clash.value}" belongs to ${who}, imported from "${clash.holder_source_name}" (not "${sourceName}"); import with --source "${clash.holder_source_name}", or --update-existing to take the user over`;
  }
  return { row: clash.row_no, column, field: clash.field, value: clash.value, message };
}
