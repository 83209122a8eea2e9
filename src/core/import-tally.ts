// What an import pass keeps count of for its report: what it found in the file's rows, and how long each step took.
import type { ImportProblem } from "../sources/import/row.ts";

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
