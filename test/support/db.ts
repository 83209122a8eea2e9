import pg from "pg";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { openStore, type Store } from "../../src/storage/database.ts";

/**
 * The database engines a suite runs on: PGlite always; a real PostgreSQL server too when
 * ROLLCALL_TEST_DATABASE_URL names one (`.ci/run` starts one on loopback and sets it).
 */
export type EngineName = "pglite" | "postgres";
export const engines: EngineName[] = process.env.ROLLCALL_TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

export interface TestStore extends Store {
  /** Drop everything this test store created (the whole database on PostgreSQL). */
  dispose(): Promise<void>;
  url?: string;
}

/** A fresh, migrated, empty database on the named engine. */
export async function openTestStore(engine: EngineName, options: { migrate?: boolean } = {}): Promise<TestStore> {
  if (engine === "pglite") {
    // A copy of one of the run's template folders (global-setup.ts): a new database without initdb's 3 s.
    const template = inject("pgliteTemplates")[options.migrate === false ? "initialised" : "migrated"];
    const folder = mkdtempSync(join(tmpdir(), "rollcall-test-pglite-"));
    cpSync(join(template, "pgdata"), join(folder, "pgdata"), { recursive: true });
    const store = await openStore({ kind: "pglite", dataDir: folder }, options);
    return {
      ...store,
      async dispose() {
        await store.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  }
  const adminUrl = process.env.ROLLCALL_TEST_DATABASE_URL!;
  const name = `rollcall_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl, name);
  const store = await openStore({ kind: "postgres", url }, options);
  return {
    ...store,
    url,
    async dispose() {
      await store.close();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
