import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { Command, Option } from "commander";
import cliProgress from "cli-progress";
import { RollcallError, fileProblem, invalidInput } from "../../errors.ts";
import type { ImportProgress, ImportReport } from "../../core/imports.ts";
import { importFailed } from "../../core/import-report.ts";
import { writeTemplate, type ExportFormat } from "../../core/exports.ts";
import { joinList } from "../../domain/list-cell.ts";
import { directoryCommand, needsNoDatabase, output, runOn, standardOutput, withJson } from "../io.ts";
import { userFilterFromFlags, withUserFilter } from "./users.ts";

/** `rollcall import`, `rollcall export` and `rollcall template`. */
export function importCommand(): Command {
  return directoryCommand("import", "import users from a CSV or Excel (.xlsx) file; all or nothing unless --partial")
    .argument("[file]", "the CSV or .xlsx file")
    .option("--sheet <name>", "the worksheet to read (default: the first)")
    .option("--encoding <name>", "a CSV file's text encoding, e.g. windows-1257, iso-8859-2, cp850, shift_jis (default: detected: UTF-8, UTF-16, Windows 1250/1251/1252)")
    .option("--mapping <file>", 'JSON file mapping column headers to fields, e.g. {"Badge": "cardNumbers", "Notes": null}')
    .option("--source <name>", "source name for the imported users (default: the file name); re-import under the same name to update them")
    .option("--dry-run", "check the file and show who would be created, updated or skipped; change nothing")
    .option("--partial", "apply the valid rows and report the others (default: any problem stops the whole import)")
    .option("--update-existing", "also take over and update users added by hand or by another import with the same email")
    .option("--template <file>", "write an empty Rollcall template (.csv or .xlsx) instead of importing")
    .action(async (file: string | undefined, opts) => {
      if (opts.template) return templateAction(opts.template, opts);
      await runOn(
        opts,
        async (directory) => {
          if (!file) throw invalidInput([{ field: "file", message: "give the CSV or .xlsx file to import (or --template FILE to get an empty one)" }]);
          const mapping = opts.mapping ? await readJson(opts.mapping) : undefined;
          const bar = progressBar(opts.json);
          try {
            return await directory.importFile({
              path: file,
              fileName: basename(file),
              sourceName: opts.source,
              sheet: opts.sheet,
              encoding: opts.encoding,
              mapping,
              dryRun: Boolean(opts.dryRun),
              partial: Boolean(opts.partial),
              updateExisting: Boolean(opts.updateExisting),
              onProgress: bar?.update,
            });
          } finally {
            bar?.stop();
          }
        },
        { human: describeReport, ok: (r) => !importFailed(r) },
        "import",
      );
    });
}

export function exportCommand(): Command {
  return withUserFilter(directoryCommand("export", "export users (all, or those the filters match) to CSV or .xlsx with the columns import reads back"))
    .requiredOption("--out <file>", 'where to write the file; "-" is standard output (CSV unless --format xlsx)')
    .addOption(new Option("--format <format>", "csv or xlsx (default: from the --out extension)").choices(["csv", "xlsx"]))
    .action(async (opts) => {
      const toStdout = opts.out === "-";
      return runOn(opts, async (directory) => {
        const format = toStdout ? (opts.format ?? "csv") : formatOf(opts.format, opts.out);
        if (toStdout) assertStdoutFor(format, opts.json);
        return directory.exportUsers({ format, out: opts.out, stream: toStdout ? standardOutput() : undefined, filter: userFilterFromFlags(opts) });
      }, {
        human: (r) => {
          const summary = `exported ${r.users} user(s) to ${toStdout ? "standard output" : r.out} (${r.format}, ${r.columns.length} columns)`;
          if (!toStdout) return summary;
          process.stderr.write(`${summary}\n`); // standard output holds the file
          return "";
        },
      }, "export");
    });
}

/** The file is standard output: nothing else may be written there, and a workbook's bytes are no use on a terminal. */
function assertStdoutFor(format: ExportFormat, json: boolean | undefined): void {
  if (json) throw invalidInput([{ field: "json", message: "--json and --out - would both write to standard output; give --out a file name, or leave out --json" }]);
  if (format === "xlsx" && process.stdout.isTTY) throw invalidInput([{ field: "out", message: "an .xlsx workbook is binary: redirect standard output to a file (> users.xlsx), or give --out users.xlsx", value: "-" }]);
}

export function templateCommand(): Command {
  return needsNoDatabase(withJson(new Command("template").description("write an empty import template (.csv or .xlsx)")))
    .argument("<file>", "where to write it; the extension picks the format")
    .action(async (file: string, opts) => templateAction(file, opts));
}

async function templateAction(file: string, opts: { json?: boolean }): Promise<void> {
  await output(opts, async () => writeTemplate(formatOf(undefined, outputFile(file, "file"), false), file), { human: (r) => `wrote the import template to ${r.out} (${r.columns.join(", ")})` });
}

/** The format --format names, else the one the file name's extension says (a command without --format says only that). */
function formatOf(format: string | undefined, out: string, hasFormatFlag = true): ExportFormat {
  if (format === "csv" || format === "xlsx") return format;
  const ext = extname(out).toLowerCase();
  if (ext === ".csv" || ext === ".txt") return "csv";
  if (ext === ".xlsx") return "xlsx";
  throw invalidInput([{ field: "format", message: `cannot tell the format from "${out}"; use a .csv or .xlsx name${hasFormatFlag ? " or --format" : ""}`, value: out }]);
}

/** "-" is standard output to most tools, and would be written as a file named "-" here: a template is a file. */
function outputFile(path: string, field: string): string {
  if (path === "-") throw invalidInput([{ field, message: 'a template is written to a file, not standard output ("-"); give a file name, e.g. users.csv', value: path }]);
  return path;
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    throw new RollcallError("not_found", `Cannot read mapping file ${path}: ${fileProblem(error)}`, { resource: "file", key: path });
  });
  try {
    return JSON.parse(text.replace(/^\uFEFF/, "")); // Notepad and PowerShell 5 save UTF-8 with a BOM
  } catch (error) {
    throw invalidInput([{ field: "mapping", message: `${path} is not valid JSON: ${(error as Error).message}` }]);
  }
}

/** One bar per phase, in the phase's own units (bytes, PINs, steps), e.g. "applying memberships |███░░| 60% | 100000 rows". */
function progressBar(json: boolean | undefined): { update: (p: ImportProgress) => void; stop: () => void } | undefined {
  if (!process.stderr.isTTY || json) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: "{label} |{bar}| {percentage}% | {rows} rows", hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const label = (p: Pick<ImportProgress, "phase" | "step">) => `${p.phase}${p.step ? ` ${p.step}` : ""}`.padEnd(23);
  bar.start(1, 0, { label: label({ phase: "reading" }), rows: 0 });
  return {
    update: (p) => {
      bar.setTotal(Math.max(1, p.total));
      bar.update(p.done, { label: label(p), rows: p.rows });
      // Reports are few (per 1,000 rows, 100 PINs or step); drawing each means a step quicker than the redraw timer still shows.
      bar.render();
    },
    stop: () => bar.stop(),
  };
}

export function describeReport(r: ImportReport): string {
  const c = r.counts;
  const where = r.file.format === "xlsx" ? `sheet "${r.file.sheet}"` : `${r.file.encoding}, "${r.file.delimiter === "\t" ? "tab" : r.file.delimiter}"-separated`;
  const lines = [
    `${r.file.name} (${r.file.format}, ${where}${r.file.layout === "entra" ? ", Entra ID bulk-create template" : ""}) → source "${r.source}"`,
    `columns: ${r.columns.mapped.map((m) => `${m.column}→${m.field}`).join(", ")}`,
  ];
  if (r.columns.unknown.length) lines.push(`not imported (unknown columns): ${r.columns.unknown.join(", ")}`);
  for (const i of r.columns.ignored) lines.push(`not imported: ${i.column} (${i.reason})`);
  lines.push(`${c.rows} row(s): ${c.created} to create, ${c.updated} to update, ${c.unchanged} unchanged, ${c.synced ? `${c.synced} synced from Entra ID (skipped), ` : ""}${c.invalid} with problems${c.warnings ? `, ${c.warnings} warning(s)` : ""}${c.groupsCreated ? `; ${c.groupsCreated} new group(s): ${joinList(r.groupsCreated)}` : ""}`);
  if (r.dryRun) {
    for (const u of r.created.slice(0, 50)) lines.push(`  + row ${u.row}: ${u.displayName} <${u.email ?? u.userPrincipalName}>`);
    for (const u of r.updated.slice(0, 50)) {
      lines.push(`  ~ row ${u.row}: ${u.displayName}${u.email ? ` <${u.email}>` : ""}`);
      for (const [field, change] of Object.entries(u.changes)) lines.push(`      ${field}: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`);
    }
    if (c.created > 50 || c.updated > 50) lines.push(`  … (use --json for the first ${r.created.length + r.updated.length} entries)`);
  }
  for (const p of r.problems.slice(0, 200)) lines.push(`  ! row ${p.row}${p.column ? `, ${p.column}` : ""}: ${subject(p.field)}${p.message}`);
  if (c.problems > Math.min(200, r.problems.length)) lines.push(`  … ${c.problems - Math.min(200, r.problems.length)} more problem(s)`);
  for (const w of r.columnWarnings) lines.push(`  warning, column ${w.column} (${w.letter}): ${w.message}`);
  for (const w of r.warnings.slice(0, 200)) lines.push(`  warning, row ${w.row}${w.column ? `, ${w.column}` : ""}: ${subject(w.field)}${w.message}`);
  if (c.warnings > Math.min(200, r.warnings.length)) lines.push(`  … ${c.warnings - Math.min(200, r.warnings.length)} more warning(s)`);
  const noValidRow = r.partial && c.invalid === c.rows;
  if (r.applied) lines.push(`applied: ${c.created} created, ${c.updated} updated${c.invalid ? `; ${c.invalid} row(s) with problems skipped` : ""}`);
  else if (r.dryRun) lines.push(noValidRow ? "dry run: nothing was changed (and with --partial nothing would be: no row is valid)" : "dry run: nothing was changed");
  else if (noValidRow) lines.push(`nothing was imported: no row was valid; fix the ${c.problems} problem(s) above and retry`);
  else lines.push(`nothing was imported: fix the ${c.problems} problem(s) above and retry, or use --partial to import the valid rows`);
  return lines.join("\n");
}

/** A problem's message follows the field it is about; "row" problems are about the row, and say so. */
const subject = (field: string) => (field === "row" ? "" : `${field} `);
