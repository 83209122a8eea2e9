import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { RollcallError, fileProblem } from "../errors.ts";

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it and lose what either
 * wrote. The lock is a directory created atomically and touched every few seconds while held (proper-lockfile), so
 * a holder in another container on the same volume, whose process IDs mean nothing here, holds it as surely as one
 * beside us. A holder that died (kill -9, a lost node) leaves it to go stale within `staleMs`; one that died in this
 * very PID namespace is known dead at once. rollcall.lock names the holder, for the message a second process gives.
 */
export const staleMs = 20_000;
const updateMs = 4_000;

export interface LockHolder {
  pid: number;
  command: string;
  url?: string;
  startedAt: string;
  host?: string;
  /** Linux's PID namespace of the holder ("pid:[4026531836]"): its pid means something only in the same one. */
  pidNamespace?: string;
}

export interface DataDirLock {
  release(): Promise<void>;
  update(extra: Partial<LockHolder>): void;
}

/** `onLost`: the lock was taken from this process (it stopped touching it for `staleMs`): it must stop writing. */
export async function acquireDataDirLock(dataDir: string, command: string, onLost: (error: Error) => void): Promise<DataDirLock> {
  const file = join(dataDir, "rollcall.lock");
  const lockDir = join(dataDir, "rollcall.lock.d");
  // proper-lockfile 4.1.2 reports a lock released while its periodic check was in flight as compromised (the check
  // finds the lock directory gone and does not look at `released`): a lock this process gave up is not lost.
  let releasing = false;
  const lost = (error: Error) => {
    if (!releasing) onLost(error);
  };
  const take = () => lockfile.lock(dataDir, { lockfilePath: lockDir, realpath: false, stale: staleMs, update: updateMs, retries: 0, onCompromised: lost });
  let release: () => Promise<void>;
  try {
    mkdirSync(dataDir, { recursive: true });
    release = await take().catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ELOCKED") throw error;
      const holder = readHolder(file);
      if (!holder || !diedHere(holder)) throw inUse(dataDir, holder);
      rmSync(lockDir, { recursive: true, force: true });
      return take();
    });
  } catch (error) {
    if (error instanceof RollcallError) throw error;
    throw new RollcallError("config_invalid", `Cannot use the data folder ${dataDir} (ROLLCALL_DATA_DIR): ${fileProblem(error)}. Give a folder this process can write, or set DATABASE_URL.`, { dataDir }, { cause: error });
  }
  let current: LockHolder = { pid: process.pid, command, startedAt: new Date().toISOString(), host: hostname(), ...(pidNamespace() && { pidNamespace: pidNamespace() }) };
  writeFileSync(file, JSON.stringify(current));
  return {
    release: async () => {
      releasing = true;
      if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
      await release().catch(() => undefined); // already lost: nothing left to release
    },
    update: (extra) => {
      current = { ...current, ...extra };
      writeFileSync(file, JSON.stringify(current));
    },
  };
}

function inUse(dataDir: string, holder: LockHolder | undefined): RollcallError {
  const where = holder?.url ? ` at ${holder.url}` : "";
  const who = holder ? `\`rollcall ${holder.command}\` (pid ${holder.pid}${holder.host && holder.host !== hostname() ? ` on ${holder.host}` : ""}${where})` : "another process";
  return new RollcallError(
    "database_locked",
    `The embedded database in ${dataDir} is in use by ${who}. ` +
      `Stop that process first, or work through its API${where ? ` (${holder!.url}/api/v1)` : ""} instead, ` +
      `or set DATABASE_URL to a PostgreSQL server that several processes can share. ` +
      `A holder that is gone (a stopped container, a killed process) frees it within ${staleMs / 1000} seconds.`,
    { holder },
  );
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Whether the holder ran in this host's PID namespace and its process is gone (its pid is meaningless elsewhere). */
function diedHere(holder: LockHolder): boolean {
  return holder.host === hostname() && holder.pidNamespace === pidNamespace() && holder.pid !== process.pid && !isAlive(holder.pid);
}

let namespace: string | null | undefined;
function pidNamespace(): string | undefined {
  if (namespace === undefined) {
    try {
      namespace = readlinkSync("/proc/self/ns/pid");
    } catch {
      namespace = null; // not Linux: one namespace per host
    }
  }
  return namespace ?? undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
