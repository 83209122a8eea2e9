import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";

/**
 * Builds the console with Vite when `src/console/dist/index.html` is missing or older than any source
 * file (its own, or a shared one in `src/domain`). Safe to call from several processes at once (tests,
 * `rollcall serve`): one builds under a lock directory, into a temporary folder that is renamed into place,
 * and the others wait for it.
 */
export const consoleRoot = fileURLToPath(new URL(".", import.meta.url));
export const consoleDist = join(consoleRoot, "dist");

const ignored = new Set(["dist", "node_modules"]);

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (ignored.has(entry.name) || entry.name.startsWith("dist.") || entry.name.startsWith(".build")) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The console's own folder, and the domain modules it shares with the server (change-log wording). */
const sourceRoots = [consoleRoot, fileURLToPath(new URL("../domain", import.meta.url))];

export function consoleIsStale(): boolean {
  const index = join(consoleDist, "index.html");
  if (!existsSync(index)) return true;
  return statSync(index).mtimeMs < Math.max(...sourceRoots.map(newestSource));
}

let pending: Promise<{ built: boolean }> | null = null;

export function ensureConsoleBuilt(options: { force?: boolean; log?: (message: string) => void } = {}): Promise<{ built: boolean }> {
  pending ??= buildIfStale(options).finally(() => {
    pending = null;
  });
  return pending;
}

async function buildIfStale(options: { force?: boolean; log?: (message: string) => void }): Promise<{ built: boolean }> {
  if (!options.force && !consoleIsStale()) return { built: false };
  const lock = join(consoleRoot, ".build.lock");
  await acquire(lock);
  try {
    if (!options.force && !consoleIsStale()) return { built: false }; // another process built it meanwhile
    options.log?.("Building the web console…");
    const staging = join(consoleRoot, `dist.${process.pid}.tmp`);
    rmSync(staging, { recursive: true, force: true });
    await buildInChildProcess(join(consoleRoot, "vite.config.ts"), staging);
    const old = join(consoleRoot, `dist.${process.pid}.old`);
    if (existsSync(consoleDist)) renameSync(consoleDist, old);
    renameSync(staging, consoleDist);
    rmSync(old, { recursive: true, force: true });
    return { built: true };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Vite in a process that ends with the build. Built in the server's own process, it left the process 125-135 MB
 * larger (on a thread, part of that), and `npm start` on a fresh clone served at 805 MB of RSS instead of
 * about 510 MB.
 */
export async function buildInChildProcess(configFile: string, outDir: string): Promise<void> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./vite-build.js", import.meta.url)), configFile, outDir], { stdio: ["ignore", "inherit", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`the console build stopped with exit code ${code}`))));
  });
}

async function acquire(lock: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (holderIsGone(lock) || Date.now() > deadline) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function holderIsGone(lock: string): boolean {
  try {
    const pid = Number(readFileSync(join(lock, "pid"), "utf8"));
    if (!pid) return statSync(lock).mtimeMs < Date.now() - 10_000;
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH" || (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

// `node bin/run-ts.js src/console/build.ts` (what `npm run build:console` runs) always builds.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  await ensureConsoleBuilt({ force: true });
  console.error(`Console built into ${consoleDist} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
