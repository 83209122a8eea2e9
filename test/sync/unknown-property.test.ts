import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { loadSourceForSync, updateEntraSource } from "../../src/core/sources.ts";
import { testConnection } from "../../src/sources/entra/connect.ts";
import { httpFetch } from "../../src/net/http.ts";
import { RollcallError } from "../../src/errors.ts";
import { sql } from "kysely";

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
        + "Custom properties are read as onPremisesExtensionAttributes.extensionAttribute1…15 or as a directory extension, extension_APPID_NAME.",
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
    const delta = await updateEntraSource(h.ctx, "hr", { config: { mapping: { "custom:lastSignIn": "signInActivity" } } }).then(() => undefined, (error: unknown) => error);
    expect((delta as RollcallError).details.fields).toEqual([
      { field: "mapping.custom:lastSignIn", value: "signInActivity", message: expect.stringMatching(/^signInActivity \(the last sign-in\) is refused by the users delta query a sync reads .*so every run would fail; it also needs the AuditLog\.Read\.All permission/) },
    ]);
    await updateEntraSource(h.ctx, "hr", { config: { mapping: { "custom:hired": "employeeHireDate" }, groupMode: "none", groupAttribute: null } });
    expect((await h.sync("hr")).status).toBe("succeeded");
  });

  it("maps a directory extension registered in the tenant, follows its changes by delta, and explains a name not registered", async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const badge = tenant.defineUserExtension("badgeNumber");
    const [first, second] = tenant.listUsers();
    tenant.updateUser(first!.id, { [badge]: "00417" });
    tenant.updateUser(second!.id, { [badge]: 1234 }); // an Integer extension: a number on the wire
    await updateEntraSource(h.ctx, "hr", { config: { mapping: { cardNumbers: badge } } });
    const cards = async () => Object.fromEntries((await sql<{ external_id: string; cards: string[] }>`
      select u.external_id, coalesce((select array_agg(i.value) from user_identifiers i where i.user_id = u.id and i.kind = 'card'), '{}') as cards
      from users u where u.external_id in (${first!.id}, ${second!.id})`.execute(h.store.db)).rows.map((r) => [r.external_id, r.cards]));

    expect((await h.sync("hr", { full: true })).status).toBe("succeeded");
    expect(await cards()).toEqual({ [first!.id]: ["00417"], [second!.id]: ["1234"] });
    tenant.updateUser(first!.id, { [badge]: null });
    tenant.updateUser(second!.id, { [badge]: "5678" });
    const delta = await h.sync("hr");
    expect([delta.mode, delta.status]).toEqual(["delta", "succeeded"]);
    expect(await cards()).toEqual({ [first!.id]: [], [second!.id]: ["5678"] });

    const missing = badge.replace("badgeNumber", "badgeNo");
    await updateEntraSource(h.ctx, "hr", { config: { mapping: { cardNumbers: missing } } });
    const failed = await h.sync("hr");
    expect(failed.status).toBe("failed");
    expect(failed.error!.message).toContain(`Graph has no user property named '${missing}': no directory extension of that name is registered in this tenant`);
    expect(failed.error!.message).toContain("applications(appId='APP ID')/extensionProperties");
    expect(failed.error!.message).toContain("`rollcall sources update hr --map cardNumbers=PROPERTY`");
  });
});
