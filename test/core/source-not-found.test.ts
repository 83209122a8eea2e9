import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createEntraSource, getSource, updateEntraSource, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";

/** `rollcall sync crop`, `sources show crop`: a misspelt source name says which sources the workspace has. */
describe.each(engines)("an unknown source name (%s)", (engine) => {
  let store: TestStore;
  let ctx: SourceContext;
  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test", secrets: secretBox(Buffer.alloc(32, 7)), entraCustomUrls: true };
  });
  afterAll(async () => store?.dispose());

  it("names the workspace's sources, or says it has none", async () => {
    await expect(getSource(ctx, "corp")).rejects.toMatchObject({
      code: "not_found",
      message: 'no Entra ID source is named "corp" in workspace "default"; it has no Entra ID sources (add one with `rollcall sources add entra`)',
      details: { resource: "source", key: "corp" },
    });
    const config = { tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001" };
    for (const name of ["corp", "Contractors"]) await createEntraSource(ctx, { name, config, credential: { kind: "secret", secret: "s" } });
    await expect(updateEntraSource(ctx, "crop", { config: { country: "GB" } })).rejects.toMatchObject({
      code: "not_found",
      message: 'no Entra ID source is named "crop" in workspace "default"; its Entra ID sources are "Contractors", "corp"',
    });
    expect((await getSource(ctx, "CORP")).name).toBe("corp");
  });
});
