import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createEntraSource, listSources, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";

/** A new source connects with a client secret or a certificate: the core refuses one without, whoever asks. */
describe.each(engines)("a new source's credential (%s)", (engine) => {
  let store: TestStore;
  let ctx: SourceContext;
  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test", secrets: secretBox(Buffer.alloc(32, 7)), entraCustomUrls: true };
  });
  afterAll(async () => store?.dispose());

  it("is required, in the API's words, and nothing is added without it", async () => {
    const config = { tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001" };
    await expect(createEntraSource(ctx, { name: "corp", config, credential: undefined })).rejects.toMatchObject({
      code: "invalid_input",
      details: { fields: [{ field: "clientSecret", message: "is required (or certificatePem and privateKeyPem)" }] },
    });
    expect(await listSources(ctx)).toEqual([]);
    await createEntraSource(ctx, { name: "corp", config, credential: { kind: "secret", secret: "s" } });
    expect((await listSources(ctx)).map((s) => [s.name, s.secret.set])).toEqual([["corp", true]]);
  });
});
