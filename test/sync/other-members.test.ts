import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { getGroup } from "../../src/core/groups.ts";
import type { GraphUser } from "../../src/emulator/directory-types.ts";
import type { TenantHandle } from "../../src/emulator/types.ts";

/**
 * Real groups hold organizational contacts (distribution and mail-enabled groups), service principals (security
 * groups) and devices besides users and groups; members@delta lists each with its own @odata.type [group-delta].
 * Rollcall syncs users and groups only: a group syncs with just its user and group members, whatever else it holds
 * or gains or loses, in a full and a delta run, and a user scope by groups takes only the users among them.
 */
describe.each(engines)("groups with contact, service principal and device members (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 3 });
  });
  afterAll(async () => h?.close());

  /** External ids of a held group's direct members (users and groups), sorted. */
  const heldMembers = async (source: string, groupExternalId: string) =>
    (await sql<{ id: string }>`select coalesce(mu.external_id, mg.external_id) as id from group_members m
      join groups g on g.id = m.group_id join sources s on s.id = g.source_id
      left join users mu on mu.id = m.member_user_id left join groups mg on mg.id = m.member_group_id
      where s.name = ${source} and g.external_id = ${groupExternalId} order by 1`.execute(h.store.db)).rows.map((r) => r.id);
  /** Rows naming these ids anywhere in the source's mirror of memberships. */
  const mirrored = async (source: string, ids: string[]) =>
    (await sql<{ n: number }>`select count(*)::int as n from entra_members m join sources s on s.id = m.source_id
      where s.name = ${source} and (m.member_id = any(${ids}::text[]) or m.group_id = any(${ids}::text[]))`.execute(h.store.db)).rows[0]!.n;
  const people = (t: TenantHandle): GraphUser[] => t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
  const sorted = (...ids: string[]) => [...ids].sort();

  it("all groups: a first, a full and delta runs hold just the user and group members", async () => {
    const t = h.emulator.tenants.get(h.emulator.tenantId);
    const [ann, bob, cat] = people(t);
    const list = t.createGroup({ displayName: "Partners DL", mailEnabled: true, securityEnabled: false, mail: "partners@rollcalldev.onmicrosoft.com" });
    const team = t.createGroup({ displayName: "Build Servers" });
    const contact = t.createContact({ displayName: "Adele Vance", mail: "adele@adatum.com" });
    const sp = t.servicePrincipal(h.emulator.clientId)!;
    const device = t.createDevice({ displayName: "Kiosk 1" });
    for (const id of [ann!.id, contact.id, sp.id, device.id, team.id]) t.addMember(list.id, id);
    for (const id of [bob!.id, sp.id, device.id, contact.id]) t.addMember(team.id, id);
    const others = [contact.id, sp.id, device.id];
    await h.addSource("corp", { groupMode: "all" });

    const first = await h.sync("corp");
    expect(first.error).toBeUndefined();
    expect(first.status).toBe("succeeded");
    expect(await differences(h, "corp")).toEqual([]);
    expect(await heldMembers("corp", list.id)).toEqual(sorted(ann!.id, team.id));
    expect(await heldMembers("corp", team.id)).toEqual([bob!.id]);
    expect(await mirrored("corp", others)).toBe(0);
    expect((await getGroup(h.ctx, "Partners DL")).memberCount).toBe(2);
    expect((await getGroup(h.ctx, "Build Servers")).memberCount).toBe(1);

    const full = await h.sync("corp", { full: true });
    expect(full.error).toBeUndefined();
    expect(full).toMatchObject({ mode: "full", status: "succeeded", counts: { membershipsAdded: 0, membershipsRemoved: 0 } });
    expect(await differences(h, "corp")).toEqual([]);
    expect(await heldMembers("corp", list.id)).toEqual(sorted(ann!.id, team.id));
    expect(await mirrored("corp", others)).toBe(0);

    // Only the other members change: a delta run has no membership to add or remove.
    const contact2 = t.createContact({ displayName: "Alex Wilber", mail: "alex@adatum.com" });
    t.removeMember(list.id, contact.id);
    t.removeMember(team.id, device.id);
    t.removeMember(list.id, sp.id);
    t.addMember(team.id, contact2.id);
    const quiet = await h.sync("corp");
    expect(quiet.error).toBeUndefined();
    expect(quiet).toMatchObject({ mode: "delta", status: "succeeded", counts: { membershipsAdded: 0, membershipsRemoved: 0 } });
    expect(await differences(h, "corp")).toEqual([]);

    // Mixed with user and group changes: just those count.
    t.addMember(list.id, cat!.id);
    t.removeMember(team.id, bob!.id);
    t.addMember(list.id, contact2.id);
    t.addMember(team.id, t.createDevice({ displayName: "Kiosk 2" }).id);
    const mixed = await h.sync("corp");
    expect(mixed.error).toBeUndefined();
    expect(mixed).toMatchObject({ mode: "delta", status: "succeeded", counts: { membershipsAdded: 1, membershipsRemoved: 1 } });
    expect(await differences(h, "corp")).toEqual([]);
    expect(await heldMembers("corp", list.id)).toEqual(sorted(ann!.id, cat!.id, team.id));
    expect(await heldMembers("corp", team.id)).toEqual([]);
    expect(await mirrored("corp", [...others, contact2.id])).toBe(0);
    expect((await getGroup(h.ctx, "Partners DL")).memberCount).toBe(3);
  });

  it("users scope by groups and selected groups: only the users among the members, nested ones included", async () => {
    const t = h.emulator.tenants.add({ users: 12, groups: 0 });
    const [ann, bob, cat, dan] = people(t);
    const parent = t.createGroup({ displayName: "Scope Parent" });
    const child = t.createGroup({ displayName: "Scope Child" });
    const onlyOthers = t.createGroup({ displayName: "No People" });
    const contact = t.createContact({ displayName: "Outside Contact" });
    const sp = t.servicePrincipal(t.defaultApp.clientId)!;
    const device = t.createDevice();
    for (const id of [ann!.id, contact.id, sp.id, device.id, child.id]) t.addMember(parent.id, id);
    for (const id of [bob!.id, contact.id, device.id]) t.addMember(child.id, id);
    for (const id of [contact.id, sp.id, device.id]) t.addMember(onlyOthers.id, id);
    const tenant = { tenantId: t.id, clientId: t.defaultApp.clientId, clientSecret: t.defaultApp.clientSecret };
    await h.addSource("scoped", { users: "groups", scopeGroups: ["Scope Parent"], groupMode: "selected", groups: ["Scope Parent", "Scope Child"] }, tenant);
    await h.addSource("no-people", { users: "groups", scopeGroups: ["No People"] }, tenant);
    const held = async (source: string) =>
      (await sql<{ external_id: string }>`select u.external_id from users u join sources s on s.id = u.source_id where s.name = ${source} and u.enabled order by 1`.execute(h.store.db)).rows.map((r) => r.external_id);

    const first = await h.sync("scoped");
    expect(first.error).toBeUndefined();
    expect(first).toMatchObject({ status: "succeeded", counts: { created: 2 } });
    expect(await held("scoped")).toEqual(sorted(ann!.id, bob!.id));
    expect(await heldMembers("scoped", parent.id)).toEqual(sorted(ann!.id, child.id));
    expect(await heldMembers("scoped", child.id)).toEqual([bob!.id]);
    const none = await h.sync("no-people");
    expect(none.error).toBeUndefined();
    expect(none).toMatchObject({ status: "succeeded", counts: { created: 0 } });
    expect(await held("no-people")).toEqual([]);

    t.addMember(child.id, cat!.id);
    t.addMember(child.id, sp.id);
    t.addMember(parent.id, t.createContact({ displayName: "Second Contact" }).id);
    t.removeMember(parent.id, device.id);
    t.addMember(onlyOthers.id, t.createContact({ displayName: "Third Contact" }).id);
    const delta = await h.sync("scoped");
    expect(delta.error).toBeUndefined();
    expect(delta).toMatchObject({ mode: "delta", status: "succeeded", counts: { created: 1, membershipsAdded: 1, membershipsRemoved: 0 } });
    expect(await held("scoped")).toEqual(sorted(ann!.id, bob!.id, cat!.id));
    expect(await heldMembers("scoped", child.id)).toEqual(sorted(bob!.id, cat!.id));
    expect(await held("scoped")).not.toContain(dan!.id);
    const noneAgain = await h.sync("no-people");
    expect(noneAgain).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await held("no-people")).toEqual([]);
  });
});
