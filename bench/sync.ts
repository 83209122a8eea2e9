// Entra sync benchmark: full sync time ÷ (a minimal client paging the same Graph data + a bulk COPY of the
// same rows into the same database), delta sync after 1% of users changed ÷ full sync, peak RSS, and a full
// sync with 100 ms latency per Graph request ÷ (requests that must be sequential × 100 ms).
// The emulator and the baseline run in child processes (bench/sync-baseline.ts), so the syncing process
// opens an existing data folder, as `rollcall sync` does, and its RSS counts the syncs alone.
// CPU seconds (this process, the PostgreSQL server, the emulator) are reported beside the wall times: on a
// machine of two cores the sync is bound by the CPU work of all three.
// Run: node bin/run-ts.js bench/sync.ts [--users N] [--groups G] [--postgres URL] [--latency-ms 100 | --no-latency]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { sql } from "kysely";
import { openStore, type StoreTarget } from "../src/storage/database.ts";
import { httpFetch, trustExtraCa } from "../src/net/http.ts";
import { resolveWorkspace } from "../src/core/workspaces.ts";
import { createEntraSource, loadSourceForSync } from "../src/core/sources.ts";
import { secretBox } from "../src/security/encryption.ts";
import { runSync } from "../src/sync/runner.ts";
import { userSelect, entraConfigSchema } from "../src/sources/entra/config.ts";
import { cpuClock, cpuSince, pidCpuSeconds } from "./cpu.ts";
import { createScratchDatabase } from "../test/support/scratch-database.ts";
import { log } from "./measure.ts";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const USERS = Number(arg("users", "100000"));
const GROUPS = Number(arg("groups", String(Math.max(1, Math.round(USERS / 20)))));
const PG = process.argv.includes("--postgres") ? arg("postgres", "") : "";
const LATENCY_MS = process.argv.includes("--no-latency") ? 0 : Number(arg("latency-ms", "100"));
const dir = mkdtempSync(join(tmpdir(), "rollcall-sync-bench-"));

const rss = () => Math.round(process.memoryUsage().rss / 1048576);

log(`starting the emulator with ${USERS} users and ${GROUPS} groups (child process)`);
const child = spawn(process.execPath, ["bin/rollcall.js", "emulator", "--port", "0", "--users", String(USERS), "--groups", String(GROUPS), "--data-dir", join(dir, "emu")], { stdio: ["ignore", "pipe", "inherit"] });
// A failed run must not leave the emulator running (its stdout would keep a caller's pipe open).
process.on("exit", () => child.kill());
const emu = await new Promise<{ loginUrl: string; graphUrl: string; tenantId: string; clientId: string; clientSecret: string; caFile: string }>((resolve, reject) => {
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    if (line.startsWith("{")) resolve(JSON.parse(line));
  });
  child.on("exit", (code) => reject(new Error(`emulator exited with ${code}`)));
});
trustExtraCa(readFileSync(emu.caFile, "utf8"));

// On PostgreSQL, a database of the run's own, so that runs can follow each other on one server.
const scratch = PG ? await createScratchDatabase(PG, "rollcall_bench") : undefined;
const target: StoreTarget = scratch ? { kind: "postgres", url: scratch.url } : { kind: "pglite", dataDir: join(dir, "data") };
const configInput = { tenantId: emu.tenantId, clientId: emu.clientId, loginUrl: emu.loginUrl, graphUrl: emu.graphUrl, groupMode: "all" as const, country: "US", deletionThreshold: { percent: 100, count: 1_000_000 } };

// --- Baseline, in a process of its own (bench/sync-baseline.ts), which also creates the data folder.
type Cpu = ReturnType<typeof cpuSince> & { emulatorCpu: number };
const { baselineMs, pageChains, cpu: baselineCpu } = await new Promise<{ baselineMs: number; pageChains: number[]; cpu: Cpu }>((resolve, reject) => {
  const input = JSON.stringify({ target, emu, emulatorPid: child.pid, select: userSelect(entraConfigSchema.parse(configInput)).join(",") });
  const baseline = spawn(process.execPath, ["bin/run-ts.js", "bench/sync-baseline.ts", input], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  baseline.stdout!.on("data", (chunk) => (out += chunk));
  baseline.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`the baseline exited with ${code}`))));
});

const store = await openStore(target, { command: "bench" });
const workspace = await resolveWorkspace(store.db, "default");
const secrets = secretBox(Buffer.alloc(32, 1));
const ctx = { db: store.db, workspace, actor: "bench", secrets, entraCustomUrls: true };
const rssBeforeSync = rss();
log(`baseline (page + COPY): ${(baselineMs / 1000).toFixed(1)} s, pages per chain ${JSON.stringify(pageChains)}; syncing process: rss ${rssBeforeSync} MB with the store open`);

await createEntraSource(ctx, { name: "bench", config: configInput, credential: { kind: "secret", secret: emu.clientSecret } });
let peak = 0;
let heapPeak = 0;
const sample = setInterval(() => {
  peak = Math.max(peak, rss());
  heapPeak = Math.max(heapPeak, Math.round(process.memoryUsage().heapUsed / 1048576));
}, 100);
const clock = await cpuClock(store);
const cpuStart = clock();
const emulatorStart = pidCpuSeconds(child.pid!) ?? 0;
let t = performance.now();
const full = await runSync(store, { workspaceId: workspace.id, source: await loadSourceForSync(ctx, "bench"), trigger: "manual" }, { fetch: httpFetch });
const fullMs = performance.now() - t;
const fullCpu: Cpu = { ...cpuSince(clock, cpuStart), emulatorCpu: (pidCpuSeconds(child.pid!) ?? 0) - emulatorStart };
// All CPU seconds of a step: this process (PGlite's thread included), the PostgreSQL server, the emulator.
const allCpu = (c: Cpu) => c.totalCpu + c.emulatorCpu;
log(`CPU seconds (this process + server + emulator): baseline ${allCpu(baselineCpu).toFixed(1)} ${JSON.stringify(baselineCpu)}, full sync ${allCpu(fullCpu).toFixed(1)} ${JSON.stringify(fullCpu)}`);
log(`full sync: ${full.status} in ${(fullMs / 1000).toFixed(1)} s; ${JSON.stringify(full.counts)}; ${full.graphRequests} Graph requests`);
const timingsOf = async (id: string) => (await sql<{ progress: { timings?: unknown } }>`select progress from sync_runs where id = ${id}`.execute(store.db)).rows[0]?.progress.timings;
log(`full phases (ms): ${JSON.stringify(await timingsOf(full.runId))}`);
if (full.status !== "succeeded") throw new Error(JSON.stringify(full.error));

// --- 1% of users changed in Entra (through the emulator's control API).
const changed = (await sql<{ external_id: string }>`select external_id from users where source_name = 'bench' order by external_id limit ${Math.max(1, Math.round(USERS / 100))}`.execute(store.db)).rows;
const control = `${emu.graphUrl}/_emulator/tenants/${emu.tenantId}/users`;
for (let i = 0; i < changed.length; i += 20) {
  await Promise.all(changed.slice(i, i + 20).map(async (u, j) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await httpFetch(`${control}/${u.external_id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ jobTitle: `Changed ${i + j}` }) }).then((r) => r.text());
      } catch (error) {
        if (attempt >= 5) throw error; // a kept-alive socket the emulator closed: open a new one
      }
    }
  }));
}
t = performance.now();
const delta = await runSync(store, { workspaceId: workspace.id, source: await loadSourceForSync(ctx, "bench"), trigger: "manual" }, { fetch: httpFetch });
const deltaMs = performance.now() - t;
clearInterval(sample);
log(`delta sync: ${delta.status} (${delta.mode}) in ${(deltaMs / 1000).toFixed(2)} s; updated ${delta.counts.updated}; phases (ms): ${JSON.stringify(await timingsOf(delta.runId))}`);

// --- Latency: every Graph request (and the token request) takes LATENCY_MS more; a full run again. The
// requests that must be sequential: the token, then the longer of the two paging chains.
let latency: Record<string, number> = {};
if (LATENCY_MS > 0) {
  const knobs = (body: unknown) => httpFetch(`${emu.graphUrl}/_emulator/knobs`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.text());
  await knobs({ latencyMs: LATENCY_MS });
  t = performance.now();
  const slow = await runSync(store, { workspaceId: workspace.id, source: await loadSourceForSync(ctx, "bench"), trigger: "manual", full: true }, { fetch: httpFetch });
  const slowMs = performance.now() - t;
  await knobs({ latencyMs: 0 });
  const sequential = 1 + Math.max(...pageChains);
  log(`full sync with ${LATENCY_MS} ms latency: ${slow.status} in ${(slowMs / 1000).toFixed(1)} s; ${slow.graphRequests} Graph requests, ${sequential} sequential; phases (ms): ${JSON.stringify(await timingsOf(slow.runId))}`);
  latency = { latencyMs: LATENCY_MS, latencyFullSyncSeconds: +(slowMs / 1000).toFixed(2), sequentialRequests: sequential, latencyOverSequential: +(slowMs / (sequential * LATENCY_MS)).toFixed(2) };
}

const result = {
  engine: store.kind,
  users: USERS,
  groups: GROUPS,
  baselineSeconds: +(baselineMs / 1000).toFixed(2),
  fullSyncSeconds: +(fullMs / 1000).toFixed(2),
  fullOverBaseline: +(fullMs / baselineMs).toFixed(2),
  baselineCpuSeconds: +allCpu(baselineCpu).toFixed(2),
  fullSyncCpuSeconds: +allCpu(fullCpu).toFixed(2),
  fullOverBaselineCpu: +(allCpu(fullCpu) / allCpu(baselineCpu)).toFixed(2),
  deltaSyncSeconds: +(deltaMs / 1000).toFixed(2),
  deltaOverFull: +(deltaMs / fullMs).toFixed(3),
  rssBeforeSyncMb: rssBeforeSync,
  peakRssDuringSyncsMb: peak,
  peakHeapDuringSyncsMb: heapPeak,
  peakRssWholeProcessMb: Math.round(process.resourceUsage().maxRSS / 1024),
  ...latency,
  fullPhasesMs: await timingsOf(full.runId),
  deltaPhasesMs: await timingsOf(delta.runId),
};
process.stdout.write(JSON.stringify(result, null, 2) + "\n");
await store.close();
await scratch?.drop();
child.kill();
rmSync(dir, { recursive: true, force: true });
