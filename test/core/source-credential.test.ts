import { describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { sourceSuite } from "../support/source-context.ts";
import { createEntraSource, listSources } from "../../src/core/sources.ts";

/** A new source connects with a client secret or a certificate: the core refuses one without, whoever asks. */
describe.each(engines)("a new source's credential (%s)", (engine) => {
  const suite = sourceSuite(engine);

  it("is required, in the API's words, and nothing is added without it", async () => {
    const config = { tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001" };
    await expect(createEntraSource(suite.ctx, { name: "corp", config, credential: undefined })).rejects.toMatchObject({
      code: "invalid_input",
      details: { fields: [{ field: "clientSecret", message: "is required (or certificatePem and privateKeyPem)" }] },
    });
    expect(await listSources(suite.ctx)).toEqual([]);
    await createEntraSource(suite.ctx, { name: "corp", config, credential: { kind: "secret", secret: "s" } });
    expect((await listSources(suite.ctx)).map((s) => [s.name, s.secret.set])).toEqual([["corp", true]]);
  });
});
