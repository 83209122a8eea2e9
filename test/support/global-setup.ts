import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { openStore } from "../../src/storage/database.ts";
import { loadTls } from "../../src/emulator/tls.ts";
import { SigningKeys } from "../../src/emulator/identity/keys.ts";
import { openScratchStore } from "./scratch-database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** PGlite data folders that test stores start as copies of (db.ts): one just initialised, one migrated too. */
    pgliteTemplates: { initialised: string; migrated: string };
    /** With ROLLCALL_TEST_DATABASE_URL, a migrated database on that server that test stores there are copies of. */
    postgresTemplate: string | undefined;
    /** A folder holding an emulator's CA, server certificate and signing keys that test emulators' data folders start with (emulator.ts). */
    emulatorKeys: string;
  }
}

/**
 * Creating a PGlite database runs initdb (about 3 s); copying a created one and opening it takes under 1 s. On
 * PostgreSQL, copying a migrated database takes about 0.3 s less than migrating a new one. The migrated PGlite
 * template is the initialised one copied and migrated (one initdb, not two); PostgreSQL's template and the emulator
 * keys are made meanwhile, as they mostly wait on another process or the thread pool.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const templates = { initialised: mkdtempSync(join(tmpdir(), "rollcall-pglite-initialised-")), migrated: mkdtempSync(join(tmpdir(), "rollcall-pglite-migrated-")) };
  const emulatorKeys = mkdtempSync(join(tmpdir(), "rollcall-emulator-keys-"));
  const adminUrl = process.env.ROLLCALL_TEST_DATABASE_URL;
  const pglite = (async () => {
    await (await openStore({ kind: "pglite", dataDir: templates.initialised }, { migrate: false })).close();
    cpSync(join(templates.initialised, "pgdata"), join(templates.migrated, "pgdata"), { recursive: true });
    await (await openStore({ kind: "pglite", dataDir: templates.migrated }, { migrate: true })).close();
  })();
  const made = await Promise.allSettled([pglite, adminUrl ? openScratchStore(adminUrl, "rollcall_template") : undefined, loadTls(emulatorKeys, ["127.0.0.1"]), SigningKeys.load(emulatorKeys)]);
  const template = made[1].status === "fulfilled" ? made[1].value : undefined;
  const removeFolders = () => [...Object.values(templates), emulatorKeys].forEach((folder) => rmSync(folder, { recursive: true, force: true }));
  const failed = made.find((result) => result.status === "rejected");
  if (failed) {
    removeFolders();
    await template?.dispose();
    throw failed.reason;
  }
  await template?.close(); // a database is copied only while nobody is connected to it
  project.provide("pgliteTemplates", templates);
  project.provide("postgresTemplate", template && new URL(template.url).pathname.slice(1));
  project.provide("emulatorKeys", emulatorKeys);
  return async () => {
    removeFolders();
    await template?.dispose();
  };
}
