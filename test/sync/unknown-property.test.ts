import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { loadSourceForSync, updateEntraSource } from "../../src/core/sources.ts";
import { testConnection } from "../../src/sources/entra/connect.ts";
import { httpFetch } from "../../src/net/http.ts";
import { RollcallError } from "../../src/errors.ts";

/**
 * A mapping or group attribute naming a user property Graph does not have makes Graph refuse every listing
 * (400 BadRequest, "Parsing OData Select and Expand failed: …"). The failed run says which setting asks for it and the command that changes it,
 * as `sources test` does, not only Graph's words.
 */
describe.each(engines)("a mapped property Graph does not have (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 6, groups: 1 });
  });
  afterAll(async () => h?.close());

  it("fails the run naming the setting and the fix, as the connection test does", async () => {
    await h.addSource("hr", { mapping: { email: "employeeNumber" } });
    const run = await h.sync("hr");
    expect(run).toMatchObject({ status: "failed", error: { code: "sync_failed", details: { graphCode: "BadRequest", status: 400, property: "employeeNumber" } } });
    expect(run.error!.message).toBe(
      "Graph refused to list the directory (400 BadRequest): Graph has no user property named 'employeeNumber', so every sync would fail. "
        + "Fix the source: the mapping reads email from it: change it with `rollcall sources update hr --map email=PROPERTY`. "
        + "Custom properties are read as onPremisesExtensionAttributes.extensionAttribute1…15.",
    );
    const source = await loadSourceForSync(h.ctx, "hr");
    const checks = await testConnection(source.config, source.credential, httpFetch, { name: "hr", workspace: "default" });
    expect(checks.checks.find((c) => c.name === "users")).toMatchObject({ ok: false, code: "BadRequest", message: expect.stringContaining("the mapping reads email from it") });

    await updateEntraSource(h.ctx, "hr", { config: { mapping: {}, groupMode: "attribute", groupAttribute: "costCentre" } });
    const byAttribute = await h.sync("hr");
    expect(byAttribute.error!.message).toContain("the group attribute is costCentre: set an existing user property with `rollcall sources update hr --group-attribute PROPERTY`");
  });

  it("refuses, when given, a property Graph gives only for one user (a listing answers 501, a delta query 400), and says what to map", async () => {
    const refused = await updateEntraSource(h.ctx, "hr", { config: { mapping: { "custom:hired": "hireDate" }, groupMode: "attribute", groupAttribute: "Skills" } }).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(RollcallError);
    expect((refused as RollcallError).details.fields).toEqual([
      { field: "mapping.custom:hired", value: "hireDate", message: "hireDate is given by Microsoft Graph only when reading one user, never in the listings a sync reads (every run would fail): map employeeHireDate, the directory's own hire date" },
      { field: "groupAttribute", value: "Skills", message: expect.stringMatching(/^Skills is given by Microsoft Graph only when reading one user, .*: map a directory property instead, e\.g\. employeeId/) },
    ]);
    await updateEntraSource(h.ctx, "hr", { config: { mapping: { "custom:hired": "employeeHireDate" }, groupMode: "none", groupAttribute: null } });
    expect((await h.sync("hr")).status).toBe("succeeded");
  });
});
