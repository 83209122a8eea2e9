// What an import pass keeps count of for its report: what it found in the file's rows, and how long each step took.
import type { ImportProblem } from "../sources/import/row.ts";
import { firstRowsListed, numberColumnWarning, type ColumnWarning, type KeptInColumn, type NumberCell } from "../sources/import/number-cells.ts";
import type { KeptZeros } from "./import-checks.ts";
import type { ImportStep, ImportTimings } from "../domain/run-counts.ts";

/**
 * What an import found in the file's rows so far: problems and warnings, each listed up to the report's limit and
 * all counted, the rows that have problems, and the rows left alone because Entra ID owns their users.
 */
export class ImportFindings {
  readonly problems: ImportProblem[] = [];
  problemCount = 0;
  /** Warnings on rows read without problems (a phone's dropped extension), listed up to the limit, all counted. */
  readonly warnings: ImportProblem[] = [];
  warningCount = 0;
  readonly invalidRows = new Set<number>();
  /** Rows of users synced from Entra ID: skipped, each with a warning. */
  syncedRows = 0;

  /** Per column (by index): the rows whose cell holds a number where text was due, the first such cell, and the rows of those a user keeps with its zeros. */
  private readonly numberColumns = new Map<number, { first: NumberCell; rows: number[]; kept?: KeptInColumn }>();
  /** "field:row" of the card numbers and employee IDs held as numbers: a matched user's kept with its zeros is said in the column's warning. */
  private readonly numberCells = new Set<string>();

  constructor(private readonly limit: number) {}

  addProblems(list: ImportProblem[]): void {
    this.problemCount += list.length;
    for (const p of list) {
      this.invalidRows.add(p.row);
      if (this.problems.length < this.limit) this.problems.push(p);
    }
  }

  addWarnings(list: ImportProblem[]): void {
    this.warningCount += list.length;
    for (const w of list) if (this.warnings.length < this.limit) this.warnings.push(w);
  }

  /** A row read without problems whose cells hold numbers (NumberCell): summed up per column, not warned per row. */
  addNumberCells(row: number, cells: NumberCell[]): void {
    for (const cell of cells) {
      const column = this.numberColumns.get(cell.index);
      if (column) column.rows.push(row);
      else this.numberColumns.set(cell.index, { first: cell, rows: [row] });
      if (cell.field === "cardNumbers" || cell.field === "employeeId") this.numberCells.add(`${cell.field}:${row}`);
    }
  }

  /**
   * Rows whose card number or employee ID a matched user keeps with its leading zeros: a cell that held a number is
   * one more row of its column's warning (a re-imported column of numbers is one warning, not one per row); a CSV's
   * or a text cell's is the row's own warning.
   */
  addRestored(list: KeptZeros[]): void {
    const own: ImportProblem[] = [];
    for (const { warning, given, kept } of list) {
      const column = this.numberCells.has(`${warning.field}:${warning.row}`) ? [...this.numberColumns.values()].find((c) => c.first.field === warning.field) : undefined;
      if (!column) own.push(warning);
      else if (!column.kept) column.kept = { rows: 1, firstRows: [warning.row], example: { row: warning.row, given, kept } };
      else if (++column.kept.rows <= firstRowsListed) column.kept.firstRows.push(warning.row); // a cell holds one number: a row once
    }
    this.addWarnings(own);
  }

  /** One warning per column of numbers, for the rows imported from it: rows with problems since (a clash) stay counted, as the number is still the file's. */
  columnWarnings(defaultCountry: string | null): ColumnWarning[] {
    return [...this.numberColumns.values()]
      .sort((a, b) => a.first.index - b.first.index)
      .map(({ first, rows, kept }) => numberColumnWarning(first, rows.length, rows.slice(0, firstRowsListed), first, defaultCountry, kept));
  }
}

/** Milliseconds per step of an import ("read", "check", "pins", "plan", "apply", "total"). */
export class ImportStopwatch {
  readonly steps: ImportTimings = {};
  private readonly started = performance.now();

  /** Sets the step to the time since the import started. */
  sinceStart(step: ImportStep): void {
    this.steps[step] = Math.round(performance.now() - this.started);
  }

  /** Adds the time since the last lap to the named step (the steps of several batches add up). */
  stopwatch(): (step: ImportStep) => undefined {
    let clock = performance.now();
    return (step) => {
      const now = performance.now();
      this.steps[step] = (this.steps[step] ?? 0) + Math.round(now - clock);
      clock = now;
      return undefined;
    };
  }
}
