import { readFileSync, readdirSync } from "node:fs";
import { sql, type Kysely } from "kysely";
import type { Db, Store } from "../src/storage/database.ts";

/**
 * CPU seconds spent by this process and, for a PostgreSQL server on this machine, by the server's
 * processes (live backends plus the backends that already exited, which the postmaster has reaped).
 * On a machine shared with other work, wall time stretches with the load; CPU time mostly does not,
 * so benchmarks report both. Returns null for the server part when /proc cannot tell (remote server).
 */
export type CpuClock = () => { process: number; server: number | null };

export async function cpuClock(store: Store): Promise<CpuClock> {
  const postmaster = store.kind === "postgres" ? await postmasterPid(store) : null;
  return () => ({ process: processSeconds(), server: postmaster === null ? null : serverSeconds(postmaster) });
}

export function cpuSince(clock: CpuClock, start: ReturnType<CpuClock>): { processCpu: number; serverCpu: number | null; totalCpu: number } {
  const now = clock();
  const serverCpu = now.server === null || start.server === null ? null : now.server - start.server;
  const processCpu = now.process - start.process;
  return { processCpu: round(processCpu), serverCpu: serverCpu === null ? null : round(serverCpu), totalCpu: round(processCpu + (serverCpu ?? 0)) };
}

const round = (n: number) => Math.round(n * 100) / 100;

function processSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function postmasterPid(store: Store): Promise<number | null> {
  try {
    const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(store.db);
    const backend = readStat(rows[0]!.pid);
    return backend ? backend.ppid : null;
  } catch {
    return null;
  }
}

/** CPU seconds a process on this machine has used so far (another benchmark process: the emulator), null when gone. */
export function pidCpuSeconds(pid: number): number | null {
  return readStat(pid)?.own ?? null;
}

const ticks = 100; // USER_HZ on Linux

interface Stat {
  ppid: number;
  own: number;
  reaped: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    return { ppid: Number(fields[1]), own: (Number(fields[11]) + Number(fields[12])) / ticks, reaped: (Number(fields[13]) + Number(fields[14])) / ticks };
  } catch {
    return null;
  }
}

function serverSeconds(postmaster: number): number | null {
  const root = readStat(postmaster);
  if (!root) return null;
  let total = root.own + root.reaped;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.ppid === postmaster) total += stat.own;
  }
  return total;
}

/** CPU seconds so far of whoever runs `conn`'s statements: this process (PGlite) or its backend (PostgreSQL). */
export async function connectionCpu(store: Store, conn: Db | Kysely<never>): Promise<() => number> {
  if (store.kind === "pglite") return () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
  return () => {
    const text = readFileSync(`/proc/${rows[0]!.pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
}
