import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, directoryUser, openSignInHarness, signInAs, type SignInHarness } from "./support.ts";

/** Two sources of one workspace sync different parts of the same tenant with the same app registration: people of either sign in. */
const engine = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";

describe(`sign in with two sources of one tenant (${engine})`, () => {
  let h: SignInHarness;
  let staff: string[];
  let contractors: string[];

  beforeAll(async () => {
    h = await openSignInHarness(engine);
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const people = tenant.listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest");
    staff = people.slice(0, 2).map((u) => u.id);
    contractors = people.slice(2, 4).map((u) => u.id);
    const staffGroup = tenant.createGroup({ displayName: "Scope Staff" });
    const contractorGroup = tenant.createGroup({ displayName: "Scope Contractors" });
    for (const id of staff) tenant.addMember(staffGroup.id, id);
    for (const id of contractors) tenant.addMember(contractorGroup.id, id);
    await h.addSource("staff", { users: "groups", scopeGroups: [staffGroup.id], groupMode: "none" });
    await h.addSource("contractors", { users: "groups", scopeGroups: [contractorGroup.id], groupMode: "none" });
    await h.sync("staff");
    await h.sync("contractors");
  }, 120_000);

  afterAll(async () => h?.close());

  it("a person synced by either source signs in", async () => {
    for (const id of [staff[0]!, contractors[0]!]) {
      await directoryUser(h.store, id);
      const result = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: id });
      expect(result.stage).toBe("callback");
      expect(result.status, /data-reason="[^"]*"[^<]*/.exec(result.text)?.[0]).toBe(302);
      expect(result.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(true);
    }
  });
});
