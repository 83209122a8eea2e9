import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LockHolder } from "../../src/storage/lock.ts";

/**
 * Makes a data folder look held by `holder`: its lock directory (touched `ageMs` ago; a live holder touches it every
 * few seconds) and the file naming the holder. Returns what frees it again.
 */
export function pretendHeld(dataDir: string, holder: LockHolder, ageMs = 0): () => void {
  const lockDir = join(dataDir, "rollcall.lock.d");
  mkdirSync(lockDir, { recursive: true });
  const touched = new Date(Date.now() - ageMs);
  utimesSync(lockDir, touched, touched);
  writeFileSync(join(dataDir, "rollcall.lock"), JSON.stringify(holder));
  return () => {
    rmSync(lockDir, { recursive: true, force: true });
    rmSync(join(dataDir, "rollcall.lock"), { force: true });
  };
}
