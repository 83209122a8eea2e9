import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RollcallError } from "../errors.ts";

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it.
 * A lock file names the holder so the second process can say who holds it and what to do.
 */
export interface LockHolder {
  pid: number;
  command: string;
  url?: string;
  startedAt: string;
}

export function acquireDataDirLock(dataDir: string, command: string): { release(): void; update(extra: Partial<LockHolder>): void } {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "rollcall.lock");
  const holder = readHolder(file);
  if (holder && holder.pid !== process.pid && isAlive(holder.pid)) {
    const where = holder.url ? ` at ${holder.url}` : "";
    throw new RollcallError(
      "database_locked",
      `The embedded database in ${dataDir} is in use by \`rollcall ${holder.command}\` (pid ${holder.pid}${where}). ` +
        `Stop that process first, or work through its API${where ? ` (${holder.url}/api/v1)` : ""} instead, ` +
        `or set DATABASE_URL to a PostgreSQL server that several processes can share.`,
      { holder },
    );
  }
  let current: LockHolder = { pid: process.pid, command, startedAt: new Date().toISOString() };
  writeFileSync(file, JSON.stringify(current));
  return {
    release: () => {
      if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
    },
    update: (extra) => {
      current = { ...current, ...extra };
      writeFileSync(file, JSON.stringify(current));
    },
  };
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
