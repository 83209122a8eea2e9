import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { getUser } from "../../src/core/users.ts";
import { updateEntraSource } from "../../src/core/sources.ts";
import type { GraphUser } from "../../src/emulator/index.ts";

/**
 * Guests (B2B, userType Guest) as an admin syncing a door-access or print directory expects them, with include-guests:
 * their real address as email (mail, else the invited address in otherMails), never the #EXT# UPN; a guest who has
 * not accepted the invitation yet synced all the same (invited on purpose; the invitation only concerns signing in at
 * Microsoft), markable through the mapping; and turning guests off later removes them as any user out of scope.
 */
describe.each(engines)("guests with include-guests (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const guests = () => tenant().listUsers().filter((u) => u.userType === "Guest");
  const invitedAddress = (g: GraphUser) => g.mail ?? (g.otherMails as string[])[0] ?? null;
  const held = async (enabled: boolean) => (await sql<{ external_id: string }>`
    select external_id from users where source_name = 'corp' and enabled = ${enabled} order by external_id`.execute(h.store.db)).rows.map((r) => r.external_id);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 300, groups: 0 });
    // Besides the generated guests (some pending, some without mail): one invited a moment ago, enabled, without mail.
    const t = tenant();
    t.createUser({
      userType: "Guest", creationType: "Invitation", externalUserState: "PendingAcceptance", externalUserStateChangeDateTime: "2026-12-01T08:00:00Z",
      userPrincipalName: `pia.park_fabrikam.com#EXT#@${t.domain}`, mail: null, otherMails: ["pia.park@fabrikam.com"], displayName: "Pia Park", accountEnabled: true,
    });
    await h.addSource("corp", { includeGuests: true, deletionThreshold: { percent: 1, count: 2 } });
  });
  afterAll(async () => h?.close());

  it("a full run syncs every guest with their real address, pending ones too, enabled as in Entra ID", async () => {
    const all = guests();
    expect(all.some((g) => g.externalUserState === "PendingAcceptance" && g.accountEnabled)).toBe(true);
    expect(all.some((g) => g.mail === null)).toBe(true);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "full", status: "succeeded" });
    for (const g of all) {
      expect(await getUser(h.ctx, g.userPrincipalName)).toMatchObject({ userPrincipalName: g.userPrincipalName, email: invitedAddress(g), enabled: g.accountEnabled });
    }
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users where email ilike '%#EXT#%'`.execute(h.store.db);
    expect(rows[0]!.n).toBe(0);
  });

  it("a delta run: an accepted invitation changes nothing, a mail set later wins over otherMails, a new invitee comes with their invited address", async () => {
    const t = tenant();
    const pending = guests().find((g) => g.externalUserState === "PendingAcceptance" && g.accountEnabled)!;
    t.updateUser(pending.id, { externalUserState: "Accepted", externalUserStateChangeDateTime: "2026-12-07T09:00:00Z", identities: [{ signInType: "federated", issuer: "MicrosoftAccount", issuerAssignedId: null }] });
    const noMail = guests().find((g) => g.mail === null && g.id !== pending.id)!;
    const local = (noMail.otherMails as string[])[0]!.split("@")[0]!;
    t.updateUser(noMail.id, { mail: `${local}@mail.partner.example` });
    const invitee = t.createUser({
      userType: "Guest", creationType: "Invitation", externalUserState: "PendingAcceptance", externalUserStateChangeDateTime: "2026-12-07T09:30:00Z",
      userPrincipalName: `dora.diaz_example.org#EXT#@${t.domain}`, mail: null, otherMails: ["dora.diaz@example.org"], displayName: "Dora Diaz",
    });
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { created: 1, updated: 1 } });
    expect(await getUser(h.ctx, pending.userPrincipalName)).toMatchObject({ email: invitedAddress(pending), enabled: true });
    expect((await getUser(h.ctx, noMail.userPrincipalName)).email).toBe(`${local}@mail.partner.example`);
    expect(await getUser(h.ctx, invitee.userPrincipalName)).toMatchObject({ email: "dora.diaz@example.org", displayName: "Dora Diaz", enabled: true });
  });

  it("the invitation state can mark guests: mapped to a custom attribute, kept up to date by delta runs", async () => {
    await updateEntraSource(h.ctx, "corp", { config: { mapping: { "custom:invitation": "externalUserState" } } });
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "full", status: "succeeded" });
    const pending = guests().find((g) => g.externalUserState === "PendingAcceptance")!;
    expect((await getUser(h.ctx, pending.userPrincipalName)).customAttributes).toEqual({ invitation: "PendingAcceptance" });
    const member = tenant().listUsers().find((u) => u.userType === "Member")!;
    expect((await getUser(h.ctx, member.userPrincipalName)).customAttributes).toEqual({});
    tenant().updateUser(pending.id, { externalUserState: "Accepted", externalUserStateChangeDateTime: "2026-12-07T11:00:00Z" });
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded", counts: { updated: 1 } });
    expect((await getUser(h.ctx, pending.userPrincipalName)).customAttributes).toEqual({ invitation: "Accepted" });
  });

  it("include-guests turned off: the guests leave the scope, counted by the deletion threshold, then go per on-remove (disable, then delete)", async () => {
    const all = guests().map((g) => g.id).sort();
    const enabledGuests = all.filter((id) => tenant().listUsers().find((u) => u.id === id)!.accountEnabled);
    await updateEntraSource(h.ctx, "corp", { config: { includeGuests: false } });
    const stopped = await h.sync("corp");
    expect(stopped).toMatchObject({ mode: "full", status: "stopped", error: { code: "sync_threshold_exceeded", details: { removals: enabledGuests.length } } });
    expect((await held(true)).filter((id) => all.includes(id))).toEqual(enabledGuests);

    const forced = await h.sync("corp", { force: true });
    expect(forced).toMatchObject({ status: "succeeded", counts: { disabled: enabledGuests.length, created: 0 } });
    expect((await held(false)).filter((id) => all.includes(id))).toEqual(all);
    const members = tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled).map((u) => u.id).sort();
    expect(await held(true)).toEqual(members);

    await updateEntraSource(h.ctx, "corp", { config: { onRemove: "delete" } });
    const deleting = await h.sync("corp", { force: true });
    expect(deleting).toMatchObject({ status: "succeeded", counts: { deleted: all.length } });
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users where external_id in (${sql.join(all)})`.execute(h.store.db);
    expect(rows[0]!.n).toBe(0);
    expect(await held(true)).toEqual(members);
  });
});
