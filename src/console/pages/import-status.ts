// What the import page says of a check or an import, in one line: for a screen reader as each ends, and on the progress bar.
import type { ImportReport } from "../../core/import-report.ts";
import type { ImportProgress } from "../../core/imports.ts";
import { countOf } from "../format.ts";

/** "Checked: 4 to create, 1 row with problems", "Imported: 4 created". */
export function reportSummary(report: ImportReport): string {
  const c = report.counts;
  const [outcome, created, updated] = report.applied ? ["Imported", "created", "updated"] : report.dryRun ? ["Checked", "to create", "to update"] : ["Nothing was imported", "to create", "to update"];
  const parts = [
    ...(c.created ? [`${c.created.toLocaleString()} ${created}`] : []),
    ...(c.updated ? [`${c.updated.toLocaleString()} ${updated}`] : []),
    ...(c.created || c.updated ? [] : [report.applied ? "nothing changed" : "nothing to change"]),
    ...(c.invalid ? [`${countOf(c.invalid, "row")} with problems`] : []),
    ...(c.warnings ? [countOf(c.warnings, "warning")] : []),
  ];
  return `${outcome}: ${parts.join(", ")}`;
}

const phaseLabels: Record<ImportProgress["phase"], string> = {
  reading: "reading the file",
  checking: "checking rows against the directory",
  hashing: "hashing PINs",
  planning: "planning the changes",
  applying: "writing",
};

export function importingLabel(progress: ImportProgress | null): string {
  if (!progress) return "Importing";
  const step = progress.step && progress.phase !== "checking" ? ` ${progress.step}` : "";
  return `Importing: ${phaseLabels[progress.phase]}${step} (${progress.rows.toLocaleString()} rows)`;
}
