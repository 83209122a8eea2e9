// What an import pass keeps count of for its report: what it found in the file's rows, and how long each step took.
import type { ImportProblem } from "../sources/import/row.ts";
import { numberColumnWarning, type ColumnWarning, type NumberCell } from "../sources/import/number-cells.ts";

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

  /** Per column (by index): the rows whose cell holds a number where text was due, and the first such cell. */
  private readonly numberColumns = new Map<number, { first: NumberCell; firstRow: number; rows: number[] }>();
  /** "field:row" of the card numbers and employee IDs a matched user keeps with their leading zeros: their own warning says it. */
  private readonly restored = new Set<string>();

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
      else this.numberColumns.set(cell.index, { first: cell, firstRow: row, rows: [row] });
    }
  }

  /** Warnings of rows whose card number or employee ID a matched user keeps with its leading zeros: no column warning counts them again. */
  addRestored(list: ImportProblem[]): void {
    for (const w of list) this.restored.add(`${w.field}:${w.row}`);
    this.addWarnings(list);
  }

  /**
   * One warning per column of numbers, for the rows imported from it: rows with problems since (a clash) stay
   * counted, as the number is still the file's; rows whose user keeps the value with its zeros are left out.
   */
  columnWarnings(defaultCountry: string | null): ColumnWarning[] {
    const warnings: ColumnWarning[] = [];
    for (const { first, firstRow, rows } of [...this.numberColumns.values()].sort((a, b) => a.first.index - b.first.index)) {
      const left = this.restored.size ? rows.filter((row) => !this.restored.has(`${first.field}:${row}`)) : rows;
      if (!left.length) continue;
      warnings.push(numberColumnWarning(first, left.length, left.slice(0, 10), left[0] === firstRow ? first : undefined, defaultCountry));
    }
    return warnings;
  }
}

/** Milliseconds per step of an import ("read", "check", "pins", "plan", "apply", "total"). */
export class ImportTimings {
  readonly steps: Record<string, number> = {};
  private readonly started = performance.now();

  /** Sets the step to the time since the import started. */
  sinceStart(step: string): void {
    this.steps[step] = Math.round(performance.now() - this.started);
  }

  /** Adds the time since the last lap to the named step (the steps of several batches add up). */
  stopwatch(): (step: string) => undefined {
    let clock = performance.now();
    return (step) => {
      const now = performance.now();
      this.steps[step] = (this.steps[step] ?? 0) + Math.round(now - clock);
      clock = now;
      return undefined;
    };
  }
}
