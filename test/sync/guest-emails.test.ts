import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { createUser, getUser } from "../../src/core/users.ts";

/**
 * A guest's userPrincipalName is `ada_example.com#EXT#@tenant.onmicrosoft.com`: no mailbox answers it. A guest
 * without `mail` used to get it as its email (and be linked by it); it gets its invited address (otherMails), or none.
 */
describe.each(engines)("guests without mail (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 300, groups: 2 });
  });
  afterAll(async () => h?.close());

  it("are synced with their otherMails address, or none, never an #EXT# one; a manual user with the invited address is linked", async () => {
    const t = tenant();
    const generated = t.listUsers().filter((u) => u.userType === "Guest" && !u.mail);
    expect(generated.length).toBeGreaterThan(0); // the emulator makes some, as real guests often are
    expect(generated.every((u) => (u.otherMails as string[]).length === 1)).toBe(true);
    const bare = t.createUser({ userType: "Guest", userPrincipalName: `bo_example.org#EXT#@${t.domain}`, mail: null, otherMails: [], displayName: "Bo Guest", accountEnabled: true });
    const invited = t.createUser({ userType: "Guest", userPrincipalName: `cy_example.net#EXT#@${t.domain}`, mail: null, otherMails: ["cy@example.net"], displayName: "Cy Guest", accountEnabled: true });
    const manual = await createUser(h.ctx, { displayName: "Cy by hand", email: "cy@example.net" });
    await h.addSource("corp", { includeGuests: true });
    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run.status).toBe("succeeded");
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users where email ilike '%#EXT#%'`.execute(h.store.db);
    expect(rows[0]!.n).toBe(0);
    for (const g of generated) expect((await getUser(h.ctx, g.userPrincipalName)).email).toBe((g.otherMails as string[])[0]);
    expect(await getUser(h.ctx, bare.userPrincipalName)).toMatchObject({ email: null, displayName: "Bo Guest", enabled: true });
    expect(await getUser(h.ctx, manual.id)).toMatchObject({ email: "cy@example.net", source: { type: "entra", externalId: invited.id } });
  });
});
