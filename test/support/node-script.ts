import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { join } from "node:path";

/** An import specifier for a file of the project, for a script's source. */
export function projectModule(path: string): string {
  return JSON.stringify(join(process.cwd(), path));
}

/**
 * Runs `source` (an ES module that may import the project's TypeScript) in a Node process of its own, through
 * `node --input-type=module -e`: what a process measures or leaves behind is then its own.
 */
export function runScript(source: string, timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", source], { encoding: "utf8", timeout: timeoutMs });
}
