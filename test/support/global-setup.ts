import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { openStore } from "../../src/storage/database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** PGlite data folders that test stores start as copies of (db.ts): one just initialised, one migrated too. */
    pgliteTemplates: { initialised: string; migrated: string };
  }
}

/** Creating a PGlite database runs initdb (about 3 s); copying a created one and opening it takes under 1 s. */
export default async function setup(project: TestProject): Promise<() => void> {
  const templates = { initialised: "", migrated: "" };
  for (const kind of ["initialised", "migrated"] as const) {
    templates[kind] = mkdtempSync(join(tmpdir(), `rollcall-pglite-${kind}-`));
    const store = await openStore({ kind: "pglite", dataDir: templates[kind] }, { migrate: kind === "migrated" });
    await store.close();
  }
  project.provide("pgliteTemplates", templates);
  return () => Object.values(templates).forEach((folder) => rmSync(folder, { recursive: true, force: true }));
}
