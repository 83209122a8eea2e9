import { afterAll, beforeAll } from "vitest";
import { openTestStore, type EngineName, type TestStore } from "./db.ts";
import type { SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";

/** For a describe of core source tests: a fresh database on `engine`, and `ctx` on its default workspace (set before the tests). */
export function sourceSuite(engine: EngineName): { ctx: SourceContext } {
  const suite = {} as { ctx: SourceContext };
  let store: TestStore | undefined;
  beforeAll(async () => {
    store = await openTestStore(engine);
    suite.ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test", secrets: secretBox(Buffer.alloc(32, 7)), entraCustomUrls: true };
  });
  afterAll(async () => store?.dispose());
  return suite;
}
