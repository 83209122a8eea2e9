import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { openStore, type Store } from "../../src/storage/database.ts";
import { createScratchDatabase, openScratchStore } from "./scratch-database.ts";

export { createScratchDatabase };

/**
 * The database engines a suite runs on: PGlite always; a real PostgreSQL server too when
 * ROLLCALL_TEST_DATABASE_URL names one (`.ci/run` starts one on loopback and sets it).
 */
export type EngineName = "pglite" | "postgres";
export const engines: EngineName[] = process.env.ROLLCALL_TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

/**
 * The engine tests of the CLI's own behaviour (flags, output, exit codes) run their processes on: PostgreSQL when the
 * run has one, since a CLI process opens it in a fraction of the second of CPU PGlite's start takes.
 */
export const cliEngine: EngineName = engines.at(-1)!;

export interface TestStore extends Store {
  /** Drop everything this test store created (the whole database on PostgreSQL). */
  dispose(): Promise<void>;
  url?: string;
}

/** A fresh, migrated, empty database on the named engine. */
/**
 * A database of its own on PostgreSQL for CLI processes (they open their own connections: the test's is closed, and
 * dispose() drops it at the end); undefined on PGlite, where the CLI opens its data folder.
 */
export async function databaseForCli(engine: EngineName): Promise<TestStore | undefined> {
  if (engine !== "postgres") return undefined;
  const store = await openTestStore("postgres");
  await store.close();
  return store;
}

export async function openTestStore(engine: EngineName, options: { migrate?: boolean } = {}): Promise<TestStore> {
  if (engine === "pglite") {
    const folder = freshDataFolder("rollcall-test-pglite-", options.migrate === false ? "initialised" : "migrated");
    const store = await openStore({ kind: "pglite", dataDir: folder }, options);
    return {
      ...store,
      async dispose() {
        await store.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  }
  // A copy of the run's migrated database (global-setup.ts) instead of running every migration again: about 0.3 s less.
  const template = process.env.VITEST && options.migrate !== false ? inject("postgresTemplate") : undefined;
  return openScratchStore(process.env.ROLLCALL_TEST_DATABASE_URL!, "rollcall_test", options, template);
}

/**
 * A new temporary data folder (ROLLCALL_DATA_DIR) holding an empty embedded database: a copy of one of the
 * run's template folders (global-setup.ts), so that opening it skips initdb, which takes seconds on a busy machine.
 * Outside vitest (test/console/screenshots.ts) there are no templates: the folder is left empty.
 */
export function freshDataFolder(prefix: string, kind: "initialised" | "migrated" = "migrated"): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  return process.env.VITEST ? seedDataFolder(folder, kind) : folder;
}

/** Puts that empty embedded database in `folder` (created if missing), which must not hold one yet. */
export function seedDataFolder(folder: string, kind: "initialised" | "migrated" = "migrated"): string {
  cpSync(join(inject("pgliteTemplates")[kind], "pgdata"), join(folder, "pgdata"), { recursive: true });
  // A data folder holding a database holds its secret key too (Rollcall refuses to make one up beside a database).
  if (!existsSync(join(folder, "secret.key"))) writeFileSync(join(folder, "secret.key"), randomBytes(32).toString("hex"), { mode: 0o600 });
  return folder;
}

/**
 * A killed CLI process's database, opened by the test between CLI runs: PostgreSQL's kept-open store when there is
 * one, else the PGlite data folder on disk (one process at a time: opened for `fn` and closed, so one opening per step).
 */
export async function withProcessDb<T>(kept: Store | undefined, dataDir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  if (kept) return fn(kept);
  const store = await openStore({ kind: "pglite", dataDir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
