import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

/**
 * Generated guests look as Graph shows B2B guests (https://learn.microsoft.com/entra/external-id/user-properties):
 * an #EXT# userPrincipalName in the host's domain, the invited address in otherMails (and in mail for about half),
 * creationType Invitation, an invitation state with the time it last changed, and, once accepted, the identity
 * provider that signs them in. The invitation properties are not in the default set: only $select brings them.
 */
let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 400, groups: 0 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });

const INVITATION = ["userType", "creationType", "externalUserState", "externalUserStateChangeDateTime", "identities", "otherMails"];

describe("guests", () => {
  it("have an #EXT# UPN, their invited address, an invitation state with its time, and once accepted their home provider", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const r = await t.graph(`/users?$select=id,userPrincipalName,mail,${INVITATION.join(",")}&$filter=userType eq 'Guest'&$top=999`, token);
    expect(r.status).toBe(200);
    const guests = r.body.value as Record<string, any>[];
    expect(guests.length).toBeGreaterThan(5);
    for (const g of guests) {
      const invited = g.otherMails[0] as string;
      expect(g.otherMails).toEqual([invited]);
      expect(g.userPrincipalName).toBe(`${invited.replace("@", "_")}#EXT#@${tenant.domain}`);
      expect([invited, null]).toContain(g.mail);
      expect(g.creationType).toBe("Invitation");
      expect(["Accepted", "PendingAcceptance"]).toContain(g.externalUserState);
      expect(g.externalUserStateChangeDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      if (g.externalUserState === "PendingAcceptance") {
        expect(g.identities).toEqual([]);
      } else {
        const domain = invited.split("@")[1]!;
        const issuer = domain === "outlook.com" ? "MicrosoftAccount" : ["gmail.com", "yahoo.co.uk"].includes(domain) ? "mail" : domain;
        expect(g.identities).toEqual([{ signInType: "federated", issuer, issuerAssignedId: null }]);
      }
    }
    expect(guests.some((g) => g.mail === null)).toBe(true);
    expect(guests.some((g) => g.mail !== null)).toBe(true);
    expect(guests.some((g) => g.externalUserState === "PendingAcceptance")).toBe(true);
  });

  it("members have none of it; without $select no invitation property is served", async () => {
    const members = await t.graph(`/users?$select=id,${INVITATION.join(",")}&$filter=userType eq 'Member'&$top=5`, token);
    for (const m of members.body.value) {
      expect(m).toMatchObject({ userType: "Member", creationType: null, externalUserState: null, externalUserStateChangeDateTime: null, identities: [] });
    }
    const plain = await t.graph(`/users?$top=999`, token);
    for (const u of plain.body.value) for (const p of INVITATION) expect(u).not.toHaveProperty(p);
  });

  it("a guest's acceptance reaches users/delta as a change of the selected invitation properties", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const first = await t.graph(`/users/delta?$select=id,${INVITATION.join(",")}`, token);
    let link: string | undefined = first.body["@odata.nextLink"];
    let deltaLink = first.body["@odata.deltaLink"] as string | undefined;
    while (link) {
      const page = await t.graph(link, token);
      link = page.body["@odata.nextLink"];
      deltaLink = page.body["@odata.deltaLink"];
    }
    const pending = tenant.listUsers().find((u) => u.externalUserState === "PendingAcceptance")!;
    tenant.updateUser(pending.id, { externalUserState: "Accepted", externalUserStateChangeDateTime: "2026-12-07T10:00:00Z", identities: [{ signInType: "federated", issuer: "MicrosoftAccount", issuerAssignedId: null }] });
    const changes = await t.graph(deltaLink!, token);
    const seen = (changes.body.value as Record<string, any>[]).find((u) => u.id === pending.id);
    expect(seen).toMatchObject({ externalUserState: "Accepted", externalUserStateChangeDateTime: "2026-12-07T10:00:00Z" });
  });
});
