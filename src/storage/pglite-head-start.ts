import { PGliteThread, type WarmThread } from "./pglite-thread.ts";

/**
 * A CLI process's head start on the embedded database. Loading PGlite and compiling its WebAssembly takes its
 * thread about 0.25 s, which needs no data folder and can overlap the 0.35 s the CLI takes to load its own code.
 * bin/rollcall.js starts a warm thread when the arguments look like a command on the embedded database
 * (cli/head-start.ts); openPGlite opens its database in it. A wrong guess touches no folder and costs only
 * that thread's work: it ends with the process.
 */
let warm: WarmThread | undefined;

/** `brief`: as PGliteThread.open's, for the command the thread is warmed up for. */
export function warmUpPGlite(brief: boolean): void {
  warm ??= PGliteThread.warmUp(brief);
}

/** The warm thread, for the first database opened in this process. */
export function takeWarmPGlite(): WarmThread | undefined {
  const thread = warm;
  warm = undefined;
  return thread;
}
