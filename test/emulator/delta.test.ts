import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 450, groups: 10 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });

async function round(url: string): Promise<{ items: any[]; pages: number; deltaLink: string; first: any }> {
  const items: any[] = [];
  let pages = 0;
  let next: string | undefined = url;
  let first: any;
  for (;;) {
    const r = await t.graph(next!, token);
    expect(r.status).toBe(200);
    first ??= r.body;
    pages++;
    items.push(...r.body.value);
    if (r.body["@odata.nextLink"]) { expect(r.body["@odata.deltaLink"]).toBeUndefined(); next = r.body["@odata.nextLink"]; continue; }
    expect(r.body["@odata.deltaLink"]).toMatch(new RegExp(`^${t.emu.graphUrl}/v1\\.0/(users|groups)/delta\\?\\$deltatoken=`));
    return { items, pages, deltaLink: r.body["@odata.deltaLink"], first };
  }
}

describe("users delta", () => {
  it("a full round, then only the changes, with @removed changed/deleted; replays and latest", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const r1 = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName,department,accountEnabled`);
    expect(r1.first["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#users(displayName,department,accountEnabled,id)`);
    expect(r1.items).toHaveLength(450);
    expect(r1.pages).toBe(3); // 200 a page
    expect(Object.keys(r1.items[0]).sort()).toEqual(["accountEnabled", "department", "displayName", "id"]);

    const empty = await round(r1.deltaLink);
    expect(empty.items).toEqual([]);

    const [a, b, c] = tenant.listUsers();
    tenant.updateUser(a!.id, { department: "Changed Dept" });
    tenant.deleteUser(b!.id);
    tenant.deleteUser(c!.id, { permanent: true });
    const added = tenant.createUser({ displayName: "New Person", userPrincipalName: `new.person@${tenant.domain}` });
    const r2 = await round(r1.deltaLink);
    const byId = Object.fromEntries(r2.items.map((x) => [x.id, x]));
    expect(r2.items).toHaveLength(4);
    expect(byId[a!.id]).toMatchObject({ department: "Changed Dept" });
    expect(byId[b!.id]).toEqual({ id: b!.id, "@removed": { reason: "changed" } });
    expect(byId[c!.id]).toEqual({ id: c!.id, "@removed": { reason: "deleted" } });
    expect(byId[added.id]).toMatchObject({ displayName: "New Person" });

    // Replaying the same deltaLink gives the same changes again (idempotent processing is the client's job).
    const replay = await round(r1.deltaLink);
    expect(replay.items.map((x) => x.id).sort()).toEqual(r2.items.map((x) => x.id).sort());

    // A restored user comes back as a normal object.
    tenant.restoreUser(b!.id);
    const r3 = await round(r2.deltaLink);
    expect(r3.items).toEqual([expect.objectContaining({ id: b!.id, displayName: b!.displayName })]);

    // $deltatoken=latest: no data, a deltaLink from now on.
    const latest = await t.graph("/users/delta?$deltatoken=latest&$select=displayName", token);
    expect(latest.body.value).toEqual([]);
    tenant.updateUser(a!.id, { displayName: "Renamed" });
    const r4 = await round(latest.body["@odata.deltaLink"]);
    expect(r4.items).toEqual([{ id: a!.id, displayName: "Renamed" }]);
  });

  it("tracks only the selected properties; Prefer: return=minimal sends only what changed", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const r1 = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName,jobTitle,department`);
    const [a, b] = tenant.listUsers();
    tenant.updateUser(a!.id, { officeLocation: "Not selected 1/1" });
    tenant.updateUser(b!.id, { jobTitle: "Minimal Change" });
    const r2 = await round(r1.deltaLink);
    expect(r2.items.map((x) => x.id)).toEqual([b!.id]);
    expect(Object.keys(r2.items[0]).sort()).toEqual(["department", "displayName", "id", "jobTitle"]);
    const res = await t.graph(r1.deltaLink, token, { Prefer: "return=minimal" });
    expect(res.body.value).toEqual([{ id: b!.id, jobTitle: "Minimal Change" }]);
  });

  it("a property never set is left out of delta objects, one set and later cleared comes as null; the plain listing sends null for both", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const u = tenant.createUser({ displayName: "Sparse Person", userPrincipalName: `sparse.person@${tenant.domain}`, jobTitle: "Temp" });
    const select = "$select=displayName,jobTitle,department";
    const r1 = await round(`${t.emu.graphUrl}/v1.0/users/delta?${select}`);
    expect(r1.items.find((x) => x.id === u.id)).toEqual({ id: u.id, displayName: "Sparse Person", jobTitle: "Temp" });
    tenant.updateUser(u.id, { jobTitle: null });
    expect((await round(r1.deltaLink)).items).toEqual([{ id: u.id, displayName: "Sparse Person", jobTitle: null }]);
    const listed = await t.graph(`/users/${u.id}?${select}`, token);
    expect(listed.body).toMatchObject({ department: null, jobTitle: null });
  });

  it("$filter on ids only", async () => {
    const [a, b] = t.emu.tenants.get(t.emu.tenantId).listUsers();
    const r = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName&$filter=${encodeURIComponent(`id eq '${a!.id}' or id eq '${b!.id}'`)}`);
    expect(r.items.map((x) => x.id).sort()).toEqual([a!.id, b!.id].sort());
    t.emu.tenants.get(t.emu.tenantId).updateUser(a!.id, { displayName: "Filtered Change" });
    t.emu.tenants.get(t.emu.tenantId).updateUser(t.emu.tenants.get(t.emu.tenantId).listUsers()[9]!.id, { displayName: "Not Tracked" });
    expect((await round(r.deltaLink)).items).toEqual([{ id: a!.id, displayName: "Filtered Change" }]);
    expect((await t.graph("/users/delta?$filter=department eq 'x'", token)).status).toBe(400);
  });

  it("Prefer: odata.maxpagesize changes the page size; $top is refused", async () => {
    const r = await t.graph("/users/delta?$select=id", token, { Prefer: "odata.maxpagesize=50" });
    expect(r.body.value).toHaveLength(50);
    expect(r.headers.get("preference-applied")).toBe("odata.maxpagesize=50");
    expect((await t.graph("/users/delta?$top=5", token)).status).toBe(400);
  });

  it("an expired token is 400 syncStateNotFound; a reset is 410 Gone with a Location to restart", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const r1 = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName`);
    const mid = await t.graph("/users/delta?$select=displayName", token);
    const skipLink = mid.body["@odata.nextLink"];
    tenant.expireDeltaTokens();
    const expired = await t.graph(r1.deltaLink, token);
    expect(expired.status).toBe(400);
    expect(expired.body.error.code).toBe("syncStateNotFound");
    expect(expired.body.error.message).toBe("The sync state generation is not found. The delta token is expired and data must be synchronized again.");
    expect((await t.graph(skipLink, token)).status).toBe(400);
    const fresh = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName`);
    tenant.resetDeltaTokens();
    const reset = await t.graph(fresh.deltaLink, token);
    expect(reset.status).toBe(410);
    expect(reset.body.error.code).toBe("resyncRequired");
    const location = reset.headers.get("location")!;
    expect(location).toBe(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName,id&$deltatoken=`);
    const restarted = await round(location);
    expect(restarted.items).toHaveLength(tenant.counts().users + tenant.counts().deletedUsers);
    expect((await t.graph("/users/delta?$deltatoken=garbage", token)).status).toBe(400);
    // Directory delta tokens live seven days.
    const week = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName`);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 8 * 86400_000);
      const fresh2 = await t.appToken(); // the old access token expired meanwhile
      const old = await t.graph(week.deltaLink, fresh2);
      expect(old.status).toBe(400);
      expect(old.body.error.code).toBe("syncStateNotFound");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("groups delta", () => {
  it("members@delta split over pages, then membership changes with @removed", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    t.emu.setKnobs({ deltaMembersPerPage: 100 });
    try {
      const r1 = await round(`${t.emu.graphUrl}/v1.0/groups/delta?$select=displayName,members`);
      // Merge by group id across the round, as a client must.
      const merged = new Map<string, Set<string>>();
      const seen = new Map<string, number>();
      for (const g of r1.items) {
        seen.set(g.id, (seen.get(g.id) ?? 0) + 1);
        const s = merged.get(g.id) ?? new Set<string>();
        for (const m of g["members@delta"] ?? []) { expect(m["@odata.type"]).toMatch(/^#microsoft\.graph\.(user|group)$/); s.add(m.id); }
        merged.set(g.id, s);
      }
      expect(merged.size).toBe(10);
      const all = tenant.listGroups()[0]!; // "All Employees": every member user
      expect(seen.get(all.id)!).toBeGreaterThan(1); // appeared on several pages
      for (const g of tenant.listGroups()) expect([...merged.get(g.id)!].sort()).toEqual(tenant.listMembers(g.id).map((m) => m.id).sort());

      const g = tenant.listGroups()[3]!;
      const member = tenant.listMembers(g.id)[0]!;
      const outsider = tenant.listUsers().find((u) => !tenant.listMembers(g.id).some((m) => m.id === u.id))!;
      tenant.removeMember(g.id, member.id);
      tenant.addMember(g.id, outsider.id);
      const gone = tenant.createGroup({ displayName: "Short-lived" });
      const r2 = await round(r1.deltaLink);
      const changed = r2.items.find((x) => x.id === g.id);
      expect(changed["members@delta"]).toEqual(expect.arrayContaining([
        { "@odata.type": `#microsoft.graph.${member.kind}`, id: member.id, "@removed": { reason: "deleted" } },
        { "@odata.type": "#microsoft.graph.user", id: outsider.id },
      ]));
      expect(r2.items.find((x) => x.id === gone.id)).toMatchObject({ displayName: "Short-lived" });
      tenant.deleteGroup(gone.id, { permanent: true });
      const r3 = await round(r2.deltaLink);
      expect(r3.items).toEqual([{ id: gone.id, "@removed": { reason: "deleted" } }]);
    } finally {
      t.emu.setKnobs({ deltaMembersPerPage: 1000 });
    }
  });

  it("without members in $select there is no members@delta", async () => {
    const r = await round(`${t.emu.graphUrl}/v1.0/groups/delta?$select=displayName`);
    expect(r.items.every((g) => !("members@delta" in g))).toBe(true);
  });
});

describe("an object sent more than once in a round (splitInDelta)", () => {
  it("comes as occurrences in a row, each with its id and its part's properties, a group's members@delta shared out", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.listUsers()[5]!;
    const group = tenant.listGroups()[2]!;
    tenant.splitInDelta(user.id, [["displayName"], ["department"]]);
    tenant.splitInDelta(group.id, [["displayName"], ["description"]]);
    try {
      const users = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName,department,jobTitle`);
      const at = users.items.findIndex((x) => x.id === user.id);
      expect(users.items.filter((x) => x.id === user.id)).toHaveLength(2);
      expect(users.items[at]).toEqual({ id: user.id, displayName: user.displayName });
      expect(users.items[at + 1]).toEqual({ id: user.id, department: user.department, jobTitle: user.jobTitle });
      expect(users.items).toHaveLength(tenant.listUsers().length + 1);

      const groups = await round(`${t.emu.graphUrl}/v1.0/groups/delta?$select=displayName,description,members`);
      const [first, second] = groups.items.filter((x) => x.id === group.id);
      expect(first).toMatchObject({ id: group.id, displayName: group.displayName });
      expect(first).not.toHaveProperty("description");
      expect(second).not.toHaveProperty("displayName");
      const members = [...(first["members@delta"] ?? []), ...(second["members@delta"] ?? [])].map((m: { id: string }) => m.id);
      expect(members.sort()).toEqual(tenant.listMembers(group.id).map((m) => m.id).sort());
    } finally {
      tenant.splitInDelta(user.id, null);
      tenant.splitInDelta(group.id, null);
    }
  });
});

describe("empty pages (knob deltaEmptyPages)", () => {
  it("each page comes after an empty one that carries only a nextLink, as Graph may send; the round is unchanged", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const plain = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName`);
    t.emu.setKnobs({ deltaEmptyPages: true });
    try {
      const users = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName`);
      expect(users.first.value).toEqual([]);
      expect(users.first["@odata.nextLink"]).toBeDefined();
      expect(users.pages).toBe(plain.pages * 2);
      expect(users.items).toEqual(plain.items);
      const user = tenant.listUsers()[4]!;
      tenant.updateUser(user.id, { displayName: "Seen After An Empty Page" });
      const next = await round(users.deltaLink);
      expect(next.pages).toBe(2);
      expect(next.items).toEqual([{ id: user.id, displayName: "Seen After An Empty Page" }]);
      const groups = await round(`${t.emu.graphUrl}/v1.0/groups/delta?$select=displayName,members`);
      expect(groups.first.value).toEqual([]);
      expect(new Set(groups.items.map((g) => g.id)).size).toBe(tenant.listGroups().length);
    } finally {
      t.emu.setKnobs({ deltaEmptyPages: false });
    }
  });
});

describe("members that are neither users nor groups (devices)", () => {
  it("are listed with their own @odata.type in members, transitiveMembers and members@delta; casts leave them out", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const [parent, child] = tenant.listGroups().filter((g) => !tenant.listMembers(g.id).some((m) => m.kind === "group")).slice(0, 2);
    tenant.addMember(parent!.id, child!.id);
    const r1 = await round(`${t.emu.graphUrl}/v1.0/groups/delta?$select=displayName,members`);
    const device = tenant.createDevice({ displayName: "Kiosk 7" });
    tenant.addMember(child!.id, device.id);

    const members = await t.graph(`/groups/${child!.id}/members?$top=999`, token);
    expect(members.body.value).toContainEqual(expect.objectContaining({ "@odata.type": "#microsoft.graph.device", id: device.id, displayName: "Kiosk 7" }));
    const trans = await t.graph(`/groups/${parent!.id}/transitiveMembers?$top=999&$select=id`, token);
    expect(trans.body.value).toContainEqual({ "@odata.type": "#microsoft.graph.device", id: device.id });
    const users = await t.graph(`/groups/${child!.id}/members/microsoft.graph.user?$top=999&$select=id`, token);
    expect(users.body.value.map((m: any) => m.id)).not.toContain(device.id);

    const r2 = await round(r1.deltaLink);
    expect(r2.items.find((g) => g.id === child!.id)["members@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.device", id: device.id }]);
    tenant.removeMember(child!.id, device.id);
    const r3 = await round(r2.deltaLink);
    expect(r3.items.find((g) => g.id === child!.id)["members@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.device", id: device.id, "@removed": { reason: "deleted" } }]);
    tenant.removeMember(parent!.id, child!.id);
  });
});
