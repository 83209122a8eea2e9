import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 80, groups: 3 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });

async function ctl(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await t.call(`${t.emu.loginUrl}/_emulator/tenants/${t.emu.tenantId}${path}`, {
    method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function round(url: string): Promise<{ items: any[]; deltaLink: string }> {
  const items: any[] = [];
  let next = url;
  for (;;) {
    const r = await t.graph(next, token);
    expect(r.status).toBe(200);
    items.push(...r.body.value);
    if (r.body["@odata.nextLink"]) { next = r.body["@odata.nextLink"]; continue; }
    return { items, deltaLink: r.body["@odata.deltaLink"] };
  }
}

describe("manager", () => {
  it("a generated tenant is an org tree: members have managers (a few none), guests none, no cycles", () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const users = tenant.listUsers();
    const members = users.filter((u) => u.userType === "Member");
    const withManager = members.filter((u) => tenant.getManager(u.id));
    expect(withManager.length).toBeGreaterThan(members.length * 0.8);
    expect(withManager.length).toBeLessThan(members.length);
    expect(users.filter((u) => u.userType === "Guest" && tenant.getManager(u.id))).toEqual([]);
    for (const u of members) {
      const seen = new Set<string>([u.id]);
      for (let m = tenant.getManager(u.id); m; m = tenant.getManager(m.id)) {
        expect(seen.has(m.id)).toBe(false);
        seen.add(m.id);
      }
    }
    const head = members[0]!;
    expect(tenant.getManager(head.id)).toBeUndefined();
    expect(tenant.listDirectReports(head.id).length).toBeGreaterThan(0);
  });

  it("GET /users/{id}/manager: the manager as a directoryObject, 404 Request_ResourceNotFound when none", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const [head, report] = [tenant.listUsers()[0]!, tenant.listUsers().find((u) => tenant.getManager(u.id))!];
    const mgr = tenant.getManager(report.id)!;
    const got = await t.graph(`/users/${report.id}/manager`, token);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ "@odata.context": `${t.emu.graphUrl}/v1.0/$metadata#directoryObjects/$entity`, "@odata.type": "#microsoft.graph.user", id: mgr.id, displayName: mgr.displayName });
    const byUpn = await t.graph(`/users/${encodeURIComponent(report.userPrincipalName)}/manager?$select=id,mail`, token);
    expect(Object.keys(byUpn.body).sort()).toEqual(["@odata.context", "@odata.type", "id", "mail"]);
    const none = await t.graph(`/users/${head.id}/manager`, token);
    expect(none.status).toBe(404);
    expect(none.body.error).toMatchObject({ code: "Request_ResourceNotFound", message: "Resource 'manager' does not exist or one of its queried reference-property objects are not present." });
    expect((await t.graph(`/users/00000000-0000-0000-0000-000000000000/manager`, token)).status).toBe(404);
  });

  it("$expand=manager($select=id) on list and get users: users without one have no manager property", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const list = await t.graph(`/users?$select=id,displayName&$expand=manager($select=id,displayName)&$top=999`, token);
    expect(list.status).toBe(200);
    for (const u of list.body.value) {
      const mgr = tenant.getManager(u.id);
      if (mgr) expect(u.manager).toEqual({ "@odata.type": "#microsoft.graph.user", id: mgr.id, displayName: mgr.displayName });
      else expect("manager" in u).toBe(false);
    }
    const report = tenant.listUsers().find((u) => tenant.getManager(u.id))!;
    const one = await t.graph(`/users/${report.id}?$select=id&$expand=manager`, token);
    expect(one.body.manager).toMatchObject({ "@odata.type": "#microsoft.graph.user", id: tenant.getManager(report.id)!.id, userPrincipalName: expect.any(String) });
    const bad = await t.graph(`/users?$expand=memberOf`, token);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("BadRequest");
  });

  it("control routes set, read and clear a manager; a deleted manager leaves its reports without one", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const [a, b, c] = tenant.listUsers().slice(-3);
    expect((await ctl("PUT", `/users/${a!.id}/manager`, { id: b!.userPrincipalName })).status).toBe(204);
    expect((await ctl("GET", `/users/${a!.id}/manager`)).body.id).toBe(b!.id);
    expect((await ctl("GET", `/users/${b!.id}/directReports`)).body.map((u: any) => u.id)).toContain(a!.id);
    expect((await ctl("PUT", `/users/${a!.id}/manager`, { id: a!.id })).status).toBe(400);
    expect((await ctl("PUT", `/users/${a!.id}/manager`, {})).status).toBe(400);
    expect((await ctl("PUT", `/users/${a!.id}/manager`, { id: "nobody@nowhere" })).status).toBe(404);
    expect((await ctl("DELETE", `/users/${a!.id}/manager`)).status).toBe(204);
    expect((await ctl("GET", `/users/${a!.id}/manager`)).status).toBe(404);
    tenant.setManager(c!.id, b!.id);
    tenant.deleteUser(b!.id);
    expect(tenant.getManager(c!.id)).toBeUndefined();
    tenant.restoreUser(b!.id);
    expect(tenant.getManager(c!.id)).toBeUndefined();
  });

  it("users/delta with $expand=manager: manager@delta in the first round, then changes and removals only", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const r1 = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName&$expand=manager($select=id)`);
    const report = tenant.listUsers().find((u) => tenant.getManager(u.id))!;
    const item = r1.items.find((x) => x.id === report.id);
    expect(item["manager@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.user", id: tenant.getManager(report.id)!.id }]);
    const head = tenant.listUsers()[0]!;
    expect("manager@delta" in r1.items.find((x) => x.id === head.id)).toBe(false);
    expect("manager" in item).toBe(false);

    const former = tenant.getManager(report.id)!.id;
    const [x, y] = tenant.listUsers().slice(-2);
    tenant.setManager(report.id, null);
    tenant.setManager(x!.id, y!.id);
    const r2 = await round(r1.deltaLink);
    expect(r2.items.map((i) => i.id).sort()).toEqual([report.id, x!.id].sort());
    expect(r2.items.find((i) => i.id === report.id)["manager@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.user", id: former, "@removed": { reason: "deleted" } }]);
    expect(r2.items.find((i) => i.id === x!.id)["manager@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.user", id: y!.id }]);

    // Not tracked without $select=manager or $expand=manager: a manager change alone is no change.
    const plain = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName`);
    tenant.setManager(x!.id, null);
    expect((await round(plain.deltaLink)).items).toEqual([]);
    // $select=manager tracks it too; with return=minimal only what changed.
    const sel = await round(`${t.emu.graphUrl}/v1.0/users/delta?$select=displayName,manager`);
    tenant.setManager(x!.id, y!.id);
    const r3 = await t.graph(sel.deltaLink, token, { prefer: "return=minimal" });
    expect(r3.body.value).toEqual([{ id: x!.id, "manager@delta": [{ "@odata.type": "#microsoft.graph.user", id: y!.id }] }]);
  });
});
