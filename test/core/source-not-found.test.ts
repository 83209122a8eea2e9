import { describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { sourceSuite } from "../support/source-context.ts";
import { createEntraSource, getSource, updateEntraSource } from "../../src/core/sources.ts";

/** `rollcall sync crop`, `sources show crop`: a misspelt source name says which sources the workspace has. */
describe.each(engines)("an unknown source name (%s)", (engine) => {
  const suite = sourceSuite(engine);

  it("names the workspace's sources, or says it has none", async () => {
    await expect(getSource(suite.ctx, "corp")).rejects.toMatchObject({
      code: "not_found",
      message: 'no Entra ID source is named "corp" in workspace "default"; it has no Entra ID sources (add one with `rollcall sources add entra`)',
      details: { resource: "source", key: "corp" },
    });
    const config = { tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001" };
    for (const name of ["corp", "Contractors"]) await createEntraSource(suite.ctx, { name, config, credential: { kind: "secret", secret: "s" } });
    await expect(updateEntraSource(suite.ctx, "crop", { config: { country: "GB" } })).rejects.toMatchObject({
      code: "not_found",
      message: 'no Entra ID source is named "crop" in workspace "default"; its Entra ID sources are "Contractors", "corp"',
    });
    expect((await getSource(suite.ctx, "CORP")).name).toBe("corp");
  });
});
