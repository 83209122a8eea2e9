import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { disableUser, showUser, userHistory } from "../../src/core/users.ts";
import { changeNotes } from "../../src/domain/change.ts";
import type { GraphUser } from "../../src/emulator/index.ts";

/**
 * A help desk reads a synced user's history to learn why they are disabled or enabled: a sync's entry says Entra ID
 * has the account so (it said "Disabled" alone), and a conflict between two sources of one tenant says so and what to
 * do (it said "two tenants claim the same person").
 */
describe.each(engines)("why a sync changed a user, in their history (%s)", (engine) => {
  let h: Harness;
  let anna: GraphUser;
  let synced = 0;
  const notesOfLatest = async (key: string) => {
    const { changes } = await userHistory(h.ctx, key, { limit: 1 });
    return { action: changes[0]!.action, notes: changeNotes(changes[0]!) };
  };
  beforeAll(async () => {
    h = await openHarness(engine, { users: 6, groups: 1 });
    anna = h.emulator.tenants.get(h.emulator.tenantId).createUser({ displayName: "Anna Kowalska", userPrincipalName: "anna@contoso.test", mail: "anna@contoso.test" });
    await h.addSource("contoso");
    const first = await h.sync("contoso");
    expect(first.status).toBe("succeeded");
    synced = first.counts.created!;
  });
  afterAll(async () => h?.close());

  it("says a user the sync disabled is disabled in Entra ID", async () => {
    h.emulator.tenants.get(h.emulator.tenantId).updateUser(anna.id, { accountEnabled: false });
    expect((await h.sync("contoso")).counts.disabled).toBe(1);
    expect(await notesOfLatest("anna@contoso.test")).toEqual({ action: "disable", notes: ["Entra ID has the account disabled (sign-in blocked there)"] });
    // What the user's page and `users show` say at a glance.
    expect((await showUser(h.ctx, "anna@contoso.test")).statusChange).toEqual({
      enabled: false, action: "disable", at: expect.any(String), actor: expect.any(String), runId: expect.any(String), syncSource: "contoso", reason: "Entra ID has the account disabled (sign-in blocked there)",
    });
  });

  it("says a user disabled here by hand and enabled by the next sync is enabled in Entra ID", async () => {
    h.emulator.tenants.get(h.emulator.tenantId).updateUser(anna.id, { accountEnabled: true });
    await h.sync("contoso");
    await disableUser({ ...h.ctx, actor: "helpdesk@contoso.test" }, "anna@contoso.test");
    await h.sync("contoso");
    expect(await notesOfLatest("anna@contoso.test")).toEqual({ action: "enable", notes: ["Entra ID has the account enabled: a sync sets the status Entra ID has"] });
    expect((await showUser(h.ctx, "anna@contoso.test")).statusChange).toMatchObject({ enabled: true, action: "enable", syncSource: "contoso" });
  });

  it("says a conflict between two sources of one tenant is one account, and how to resolve it", async () => {
    await h.addSource("contoso-again");
    const run = await h.sync("contoso-again");
    expect(run.counts.conflicts).toBe(synced); // every user of the tenant, each held by "contoso"
    const { notes } = await notesOfLatest("anna@contoso.test");
    expect(notes).toEqual([
      expect.stringMatching(/^"anna@contoso\.test" is already synced by Entra ID source "contoso" \(user [0-9a-f-]+\), which reads the same tenant: two sources claim one account\. Leave it to one of them: scope the other to groups it is not in, or remove that source$/),
    ]);
    // The user's page and `users show` say so at a glance, while the history ends with it.
    expect((await showUser(h.ctx, "anna@contoso.test")).openConflict).toEqual({ message: notes[0], at: expect.any(String), runId: run.runId, syncSource: "contoso-again" });
    await disableUser({ ...h.ctx, actor: "helpdesk@contoso.test" }, "anna@contoso.test");
    expect((await showUser(h.ctx, "anna@contoso.test")).openConflict).toBeNull();
  });
});
