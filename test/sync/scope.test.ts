import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { createEntraSource, loadSourceForSync, updateEntraSource } from "../../src/core/sources.ts";
import { testConnection } from "../../src/sources/entra/connect.ts";
import { httpFetch } from "../../src/net/http.ts";
import { testCertificate as certificate } from "../emulator/helpers.ts";
import type { TenantHandle } from "../../src/emulator/types.ts";

/**
 * Source settings beyond "all users, all groups": a certificate instead of a secret, the user scope "transitive
 * members of selected groups", and attribute groups (one group per distinct department, with no group permission).
 * Each source reads its own emulated tenant, so the sources never claim the same people.
 */
describe.each(engines)("certificates, group scope and attribute groups (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 3 });
  });
  afterAll(async () => h?.close());

  /** external ids of the source's users, enabled or not. */
  const held = async (source: string, enabled = true) =>
    (await sql<{ external_id: string }>`select u.external_id from users u join sources s on s.id = u.source_id where s.name = ${source} and u.enabled = ${enabled} order by 1`.execute(h.store.db)).rows.map((r) => r.external_id);
  const tenantSource = (t: TenantHandle) => ({ tenantId: t.id, clientId: t.defaultApp.clientId, clientSecret: t.defaultApp.clientSecret });

  it("syncs with a certificate registered on the app, and names the missing upload when it is not", async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const registered = certificate("rollcall-sync");
    tenant.addCertificate(h.emulator.clientId, { certificatePem: registered.certificatePem });
    const config = { tenantId: h.emulator.tenantId, clientId: h.emulator.clientId, loginUrl: h.emulator.loginUrl, graphUrl: h.emulator.graphUrl, credential: "certificate" as const };
    await createEntraSource(h.ctx, { name: "by-certificate", config, credential: { kind: "certificate", ...registered } });
    await createEntraSource(h.ctx, { name: "unknown-certificate", config, credential: { kind: "certificate", ...certificate("not-uploaded") } });

    const source = await loadSourceForSync(h.ctx, "by-certificate");
    const checks = await testConnection(source.config, source.credential, httpFetch);
    expect(checks.ok, JSON.stringify(checks)).toBe(true);
    const run = await h.sync("by-certificate");
    expect(run.error).toBeUndefined();
    const members = tenant.listUsers().filter((u) => u.userType !== "Guest");
    expect(run).toMatchObject({ status: "succeeded", counts: { created: members.length } });
    expect(await held("by-certificate")).toEqual(members.filter((u) => u.accountEnabled).map((u) => u.id).sort());
    const tokenRequests = h.emulator.stats().requests.filter((r) => r.url.includes("/oauth2/v2.0/token") && r.status === 200);
    expect(tokenRequests.length).toBeGreaterThan(0);

    const refused = await h.sync("unknown-certificate");
    expect(refused).toMatchObject({ status: "failed", error: { code: "source_auth_failed", details: { aadsts: "AADSTS700027" } } });
    expect(refused.error!.message).toMatch(/Upload the certificate/);
    expect(await held("unknown-certificate")).toEqual([]);
  });

  it("--users groups syncs transitive members of the selected groups only, and follows membership changes", async () => {
    const t = h.emulator.tenants.add({ users: 20, groups: 0 });
    const people = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    const parent = t.createGroup({ displayName: "Scope Parent" });
    const child = t.createGroup({ displayName: "Scope Child" });
    const grandchild = t.createGroup({ displayName: "Scope Grandchild" });
    const outside = t.createGroup({ displayName: "Outside" });
    t.addMember(parent.id, people[0]!.id);
    t.addMember(parent.id, people[1]!.id);
    t.addMember(parent.id, child.id);
    t.addMember(child.id, people[2]!.id);
    t.addMember(child.id, grandchild.id);
    t.addMember(grandchild.id, people[3]!.id);
    t.addMember(outside.id, people[4]!.id);
    const guest = t.createUser({ displayName: "Guest Person", userPrincipalName: `guest_example.com#EXT#@${t.domain}`, userType: "Guest", accountEnabled: true });
    t.addMember(parent.id, guest.id);

    await h.addSource("scoped", { users: "groups", scopeGroups: ["scope parent"] }, tenantSource(t));
    const first = await h.sync("scoped");
    expect(first.error).toBeUndefined();
    expect(first).toMatchObject({ status: "succeeded", counts: { created: 4 } });
    expect(await held("scoped")).toEqual([people[0]!.id, people[1]!.id, people[2]!.id, people[3]!.id].sort());
    // Group mode none: the groups only choose the users.
    expect((await sql<{ n: number }>`select count(*)::int as n from groups g join sources s on s.id = g.source_id where s.name = 'scoped'`.execute(h.store.db)).rows[0]!.n).toBe(0);

    t.removeMember(parent.id, people[1]!.id); // leaves the scope
    t.addMember(grandchild.id, people[5]!.id); // joins it two levels down
    t.removeMember(outside.id, people[4]!.id);
    const second = await h.sync("scoped");
    expect(second).toMatchObject({ mode: "delta", status: "succeeded", counts: { created: 1, disabled: 1 } });
    expect(await held("scoped")).toEqual([people[0]!.id, people[2]!.id, people[3]!.id, people[5]!.id].sort());
    expect(await held("scoped", false)).toEqual([people[1]!.id]);

    // The scope group renamed in Entra ID: its name no longer matches, and the run stops before planning removals.
    t.updateGroup(parent.id, { displayName: "Scope Parent (2027)" });
    const renamed = await h.sync("scoped");
    expect(renamed).toMatchObject({ status: "failed", error: { code: "source_scope_invalid", details: { missingGroups: ["scope parent"] } } });
    expect(renamed.error!.message).toMatch(/^Nothing was applied: the source's user scope names groups that are not in Entra ID\. Entra ID has no group "scope parent"/);
    expect(await held("scoped")).toEqual([people[0]!.id, people[2]!.id, people[3]!.id, people[5]!.id].sort());
    // Named by its object ID, the group survives renames; the next run goes on from the same mirror.
    await updateEntraSource(h.ctx, "scoped", { config: { scopeGroups: [parent.id] } });
    const byId = await h.sync("scoped");
    expect(byId).toMatchObject({ status: "succeeded", counts: { created: 0, disabled: 0 } });
    expect(await held("scoped")).toEqual([people[0]!.id, people[2]!.id, people[3]!.id, people[5]!.id].sort());
  });

  it("--group-mode selected syncs the groups Entra ID has, with a warning naming each one it lacks", async () => {
    const t = h.emulator.tenants.add({ users: 6, groups: 0 });
    const pilots = t.createGroup({ displayName: "Pilots" });
    await h.addSource("selected", { groupMode: "selected", groups: ["PILOTS", "Pilotes"] }, tenantSource(t));
    for (const dryRun of [true, false]) {
      const run = await h.sync("selected", { dryRun });
      expect(run).toMatchObject({ status: "succeeded", counts: { groupsCreated: 1, warnings: 1 } });
      const { rows } = await sql<{ subject: string; after: { messages: string[] } }>`select subject, after from change_log where run_id = ${run.runId} and action = 'warning'`.execute(h.store.db);
      expect(rows).toEqual([{ subject: "Pilotes", after: { messages: [expect.stringMatching(/^Entra ID has no group "Pilotes"/)] } }]);
      // The run's advice names this source's command, ready to copy.
      expect(rows[0]!.after.messages[0]).toContain('(rollcall sources update selected --group-mode selected --groups "…" for the synced groups;');
    }
    const synced = await sql<{ name: string; external_id: string }>`select g.name, g.external_id from groups g join sources s on s.id = g.source_id where s.name = 'selected'`.execute(h.store.db);
    expect(synced.rows).toEqual([{ name: "Pilots", external_id: pilots.id }]);
  });

  it("--group-mode attribute makes one group per distinct department, with members, and needs no group permission", async () => {
    const t = h.emulator.tenants.add({ users: 25, groups: 0 });
    for (const permission of ["Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"]) t.revokePermission(t.defaultApp.clientId, permission);
    const people = t.listUsers().filter((u) => u.userType === "Member");
    t.updateUser(people[0]!.id, { department: "  Research  " });
    t.updateUser(people[1]!.id, { department: "Research" });
    t.updateUser(people[2]!.id, { department: "" });
    await h.addSource("by-department", { groupMode: "attribute", groupAttribute: "department" }, tenantSource(t));

    const source = await loadSourceForSync(h.ctx, "by-department");
    const checks = await testConnection(source.config, source.credential, httpFetch);
    expect(checks.ok, JSON.stringify(checks)).toBe(true);
    expect(checks.checks.map((c) => c.name)).not.toContain("groups");

    const expected = () => {
      const byValue = new Map<string, string[]>();
      for (const u of t.listUsers().filter((x) => x.userType === "Member")) {
        const value = u.department?.trim();
        if (value) byValue.set(value, [...(byValue.get(value) ?? []), u.id].sort());
      }
      return Object.fromEntries([...byValue].sort(([a], [b]) => (a < b ? -1 : 1)));
    };
    const actual = async () => {
      const { rows } = await sql<{ name: string; members: string[] }>`select g.name, coalesce(array_agg(u.external_id order by u.external_id) filter (where u.id is not null), '{}') as members
        from groups g join sources s on s.id = g.source_id left join group_members m on m.group_id = g.id left join users u on u.id = m.member_user_id
        where s.name = 'by-department' group by g.name order by g.name`.execute(h.store.db);
      return Object.fromEntries(rows.map((r) => [r.name, r.members]));
    };

    const first = await h.sync("by-department");
    expect(first.error).toBeUndefined();
    expect(first.status).toBe("succeeded");
    expect(Object.keys(expected())).toContain("Research");
    expect(await actual()).toEqual(expected());
    expect(h.emulator.stats().requests.filter((r) => r.tenantId === t.id && r.url.includes("/groups")).length).toBe(0);

    // A department renamed for everyone in it: the old group goes, a new one comes; members move.
    for (const u of t.listUsers().filter((x) => x.department?.trim() === "Research")) t.updateUser(u.id, { department: "R&D" });
    const second = await h.sync("by-department");
    expect(second).toMatchObject({ status: "succeeded", counts: { groupsCreated: 1, groupsDeleted: 1 } });
    expect(await actual()).toEqual(expected());
    expect(Object.keys(await actual())).not.toContain("Research");
  });
});
