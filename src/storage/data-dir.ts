import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RollcallError, fileProblem } from "../errors.ts";

/** What the check writes: some room for the database's first writes, not just a file's name. */
const probeBytes = 1024 * 1024;

/**
 * The embedded database writes its data folder all the time: one that is read-only, not ours to write, or on a full
 * disk is refused at start, saying which and what to do, rather than failing with a file system error on a first write.
 */
export function assertWritableDataDir(dataDir: string): void {
  const probe = join(dataDir, `.write-check-${process.pid}`);
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(probe, Buffer.alloc(probeBytes));
  } catch (error) {
    throw dataDirProblem(dataDir, error);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Emscripten's errno numbers (WASI's) for the file system problems PGlite meets in a data folder, as Node names them. */
const wasiErrno: Record<number, string> = { 2: "EACCES", 19: "EDQUOT", 51: "ENOSPC", 63: "EPERM", 69: "EROFS" };

/**
 * The data folder cannot be written (Node's error, or PGlite's Emscripten one): what is wrong and what to do.
 * undefined for an error that is not about the file system.
 */
export function dataDirProblem(dataDir: string, error: unknown): RollcallError;
export function dataDirProblem(dataDir: string, error: unknown, only: "file system"): RollcallError | undefined;
export function dataDirProblem(dataDir: string, error: unknown, only?: "file system"): RollcallError | undefined {
  const { code: nodeCode, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  // 53100: Postgres's own disk_full ("could not extend file …"), met by a statement rather than by opening the folder.
  const code = nodeCode === "53100" ? "ENOSPC" : typeof nodeCode === "string" ? nodeCode : typeof errno === "number" ? wasiErrno[errno] : undefined;
  if (only && !(code && Object.values(wasiErrno).includes(code))) return undefined;
  const todo =
    code === "ENOSPC" || code === "EDQUOT"
      ? "Free some space on its disk (or move the folder to a larger one), then start again."
      : code === "EROFS"
        ? "Mount it writable, or give a folder on a writable disk, or set DATABASE_URL."
        : "Give a folder this process can write, or set DATABASE_URL.";
  return new RollcallError("config_invalid", `Cannot use the data folder ${dataDir} (ROLLCALL_DATA_DIR): ${fileProblem({ ...(error as object), code })}. ${todo}`, { dataDir, problem: code ?? null }, { cause: error });
}
