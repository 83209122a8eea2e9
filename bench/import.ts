/**
 * Import benchmark: `node bin/run-ts.js bench/import.ts [--rows 100000] [--engine pglite|postgres|both] [--pins N] [--rounds 3]`.
 *
 * For each engine, in one run and one database, rounds of: a plain PostgreSQL COPY of the rows into `users`
 * (the floor), `rollcall import` of the same rows as CSV into a fresh workspace, another COPY, the XLSX into
 * another fresh workspace. Each import is divided by the COPY just before it (target: import ÷ COPY ≤ 3), and
 * the median over the rounds is reported. The first round also re-imports the CSV (nothing changes) and
 * imports a CSV of as many other users into the CSV's workspace (a first import into an empty workspace
 * skips the lookups against users; this one pays them). Peak RSS and heap are sampled during each import.
 * PINs cost one scrypt each (~50 ms), so they are measured separately on --pins rows (default 200) rather
 * than mixed into the 100k run. A 1,000-row import runs first (not measured) so JIT compilation and first use are not charged
 * to the first measured import.
 * CPU seconds (this process, plus the server's processes when PostgreSQL runs on this machine) are
 * reported beside wall time: on a shared machine wall time stretches with the load, CPU time much less.
 * PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import ExcelJS from "exceljs";
import { openScratchStore } from "../test/support/scratch-database.ts";
import { openStore, sql, type Store } from "../src/storage/database.ts";
import { createWorkspace } from "../src/core/workspaces.ts";
import { runImport } from "../src/core/imports.ts";
import { csvLine } from "../src/core/exports.ts";
import { cpuClock, cpuSince, type CpuClock } from "./cpu.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "100000" }, engine: { type: "string" }, pins: { type: "string", default: "200" }, rounds: { type: "string", default: "3" } } });
const rows = Number(values.rows);
const pinRows = Number(values.pins);
const rounds = Number(values.rounds);
const pgUrl = process.env.ROLLCALL_BENCH_DATABASE_URL ?? process.env.ROLLCALL_TEST_DATABASE_URL;
type EngineName = "pglite" | "postgres";
type BenchStore = Store & { dispose(): Promise<void> };
if ((values.engine === "postgres" || values.engine === "both") && !pgUrl) throw new Error("set ROLLCALL_BENCH_DATABASE_URL to a PostgreSQL server where databases may be created");
const engineNames: EngineName[] = values.engine === "both" || (!values.engine && pgUrl) ? ["pglite", "postgres"] : [(values.engine as EngineName) ?? "pglite"];

const header = ["email", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId", "mobilePhone", "cardNumbers", "groups"];
const departments = ["Engineering", "Sales", "Finance", "Support", "Marketing", "Operations", "Legal", "HR"];

function person(i: number): string[] {
  const given = `Given${i}`;
  const surname = `Surname${i % 9973}`;
  const mobile = `+4479${String(11_000_000 + i).padStart(8, "0")}`;
  return [`user${i}@example.com`, `${given} ${surname}`, given, surname, departments[i % departments.length]!, `Title ${i % 40}`, `E${String(i).padStart(7, "0")}`, mobile, String(i).padStart(10, "0"), `Team ${i % 50}; Site ${i % 7}`];
}

async function writeCsv(path: string, n: number, withPin = false, first = 0): Promise<void> {
  const out = createWriteStream(path);
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, "drain");
  };
  await write(csvLine(withPin ? [...header, "pin"] : header));
  for (let i = first; i < first + n; i++) await write(csvLine(withPin ? [...person(i), String(1000 + (i % 9000))] : person(i)));
  out.end();
  await once(out, "finish");
}

async function writeXlsx(path: string, n: number): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: false, useStyles: false });
  const sheet = workbook.addWorksheet("Users");
  sheet.addRow(header).commit();
  for (let i = 0; i < n; i++) sheet.addRow(person(i)).commit();
  sheet.commit();
  await workbook.commit();
}

// Each import's peak RSS is its own, not the garbage of what ran before it (the COPY baseline's 100,000 rows).
v8.setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

function sampler() {
  const start = process.memoryUsage();
  let rss = start.rss;
  let heap = start.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, 25);
  return () => {
    clearInterval(timer);
    return { peakRssMB: Math.round(rss / 1048576), peakHeapMB: Math.round(heap / 1048576), rssGrowthMB: Math.round((rss - start.rss) / 1048576) };
  };
}

async function timed<T>(clock: CpuClock, body: () => Promise<T>) {
  collectGarbage();
  const stop = sampler();
  const cpuStart = clock();
  const started = performance.now();
  const value = await body();
  const seconds = (performance.now() - started) / 1000;
  return { seconds, value, cpu: cpuSince(clock, cpuStart), memory: stop() };
}

/**
 * Untimed, before each COPY and each import: neither pays for the work the one before it left. PostgreSQL's
 * autovacuum would otherwise work on a COPY's rows during the next import (and on an import's memberships,
 * cards and change log: the server's CPU for the same import ranged from 4.9 to 7.9 s when only `users` was
 * vacuumed here), and the pages an import dirtied would be written out during the next COPY.
 */
async function settle(engine: EngineName, store: BenchStore): Promise<void> {
  if (engine === "postgres") await sql`vacuum analyze users, user_identifiers, group_members, groups, change_log, sources`.execute(store.db);
  await sql`checkpoint`.execute(store.db);
}

async function dataFolderStore(dataDir: string): Promise<BenchStore> {
  const store = await openStore({ kind: "pglite", dataDir }, { command: "bench" });
  return { ...store, dispose: () => store.close() };
}

async function copyBaseline(store: BenchStore, clock: CpuClock, n: number) {
  const workspace = await createWorkspace(store.db, { name: `copy-baseline-${Date.now()}` });
  const columns = ["workspace_id", "email", "display_name", "given_name", "surname", "department", "job_title", "employee_id", "mobile_phone", "source_type", "source_name", "tags"];
  const data = Array.from({ length: n }, (_, i) => {
    const p = person(i);
    return [workspace.id, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, p[7]!, "import", "baseline.csv", "{Imported}"];
  });
  const run = await timed(clock, () => store.copyRows("users", columns, data));
  return { seconds: run.seconds, cpu: run.cpu.totalCpu };
}

const dir = await mkdtemp(join(tmpdir(), "rollcall-bench-import-"));
try {
  const csv = join(dir, "users.csv");
  const moreCsv = join(dir, "more-users.csv");
  const xlsx = join(dir, "users.xlsx");
  const pinCsv = join(dir, "pins.csv");
  await writeCsv(csv, rows);
  await writeCsv(moreCsv, rows, false, rows);
  await writeXlsx(xlsx, rows);
  await writeCsv(pinCsv, pinRows, true);
  const warmCsv = join(dir, "warm-up.csv");
  await writeCsv(warmCsv, 1000);
  console.log(`rows: ${rows}; CSV ${((await stat(csv)).size / 1048576).toFixed(1)} MB, XLSX ${((await stat(xlsx)).size / 1048576).toFixed(1)} MB`);

  for (const engine of engineNames) {
    // PGlite as `rollcall import` runs it by default: on a data folder. (An in-memory PGlite copies each
    // table file whenever it grows, which neither the default nor a server pays.)
    const store: BenchStore = engine === "pglite" ? await dataFolderStore(join(dir, "data")) : await openScratchStore(pgUrl!, "rollcall_bench");
    try {
      const clock = await cpuClock(store);
      const warmUp = await createWorkspace(store.db, { name: "warm-up", defaultCountry: "GB" });
      await runImport({ db: store.db, workspace: warmUp, actor: "bench" }, store, { path: warmCsv, fileName: "warm-up.csv", dryRun: false, partial: false, updateExisting: false });
      // Rounds of COPY, CSV import, COPY, XLSX import, each import divided by the COPY just before it, and the
      // median of the rounds reported: on the project's machine one PGlite COPY took from 2.75 s to 5.5 s in a run,
      // and the speed of the whole machine drifted by 30% within a run.
      const measured: { label: string; round: number; copy: Awaited<ReturnType<typeof copyBaseline>>; run: Awaited<ReturnType<typeof timed<Awaited<ReturnType<typeof runImport>>>>> }[] = [];
      for (let round = 1; round <= rounds; round++) {
        for (const [label, path, fileName] of [["csv", csv, "users.csv"], ["xlsx", xlsx, "users.xlsx"]] as const) {
          await settle(engine, store);
          const copy = await copyBaseline(store, clock, rows);
          await settle(engine, store);
          const workspace = await createWorkspace(store.db, { name: `bench-${label}-${round}`, defaultCountry: "GB" });
          const ctx = { db: store.db, workspace, actor: "bench" };
          const measure = async (label: string, path: string, fileName: string) => {
            const run = await timed(clock, () => runImport(ctx, store, { path, fileName, dryRun: false, partial: false, updateExisting: false }));
            measured.push({ label, round, copy, run });
            return run.value;
          };
          const report = await measure(label, path, fileName);
          if (report.counts.created !== rows) throw new Error(`${label}: created ${report.counts.created} of ${rows}: ${JSON.stringify(report.problems.slice(0, 3))}`);
          if (label === "csv" && round === 1) {
            await measure("csv re-import (unchanged)", path, fileName);
            // New users into a workspace that already holds some: every row is matched and checked against them.
            const more = await measure("csv, new users into the same workspace", moreCsv, "more-users.csv");
            if (more.counts.created !== rows) throw new Error(`more-users.csv: created ${more.counts.created} of ${rows}`);
          }
        }
      }
      const results: Record<string, unknown>[] = measured.map(({ label, round, copy, run }) => ({
        file: label, round, copySeconds: +copy.seconds.toFixed(2), seconds: +run.seconds.toFixed(2), ratioToCopy: +(run.seconds / copy.seconds).toFixed(2),
        cpuSeconds: run.cpu.totalCpu, cpuRatioToCopy: +(run.cpu.totalCpu / copy.cpu).toFixed(2), cpuProcessServer: `${run.cpu.processCpu}+${run.cpu.serverCpu ?? "?"}`, ...run.memory,
        ms: JSON.stringify(run.value.timings), ...(run.value.counts.unchanged > 0 && { unchanged: run.value.counts.unchanged }),
      }));
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const summary = (["csv", "xlsx"] as const).map((label) => {
        const runs = measured.filter((m) => m.label === label);
        const ratios = runs.map((m) => m.run.seconds / m.copy.seconds);
        return `${label} ÷ COPY: median ${median(ratios).toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(", ")}), CPU median ${median(runs.map((m) => m.run.cpu.totalCpu / m.copy.cpu)).toFixed(2)}`;
      });
      if (pinRows > 0) {
        const workspace = await createWorkspace(store.db, { name: "bench-pins", defaultCountry: "GB" });
        const ctx = { db: store.db, workspace, actor: "bench" };
        const first = await timed(clock, () => runImport(ctx, store, { path: pinCsv, fileName: "pins.csv", dryRun: false, partial: false, updateExisting: false }));
        const again = await timed(clock, () => runImport(ctx, store, { path: pinCsv, fileName: "pins.csv", dryRun: false, partial: false, updateExisting: false }));
        results.push({ file: `csv with ${pinRows} PINs`, seconds: +first.seconds.toFixed(2), perPinMs: +((first.seconds * 1000) / pinRows).toFixed(1) });
        results.push({ file: `csv with ${pinRows} PINs re-import`, seconds: +again.seconds.toFixed(2), perPinMs: +((again.seconds * 1000) / pinRows).toFixed(1) });
      }
      console.log(`\n${engine}: ${summary.join("; ")}`);
      console.table(results);
    } finally {
      await store.dispose();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
