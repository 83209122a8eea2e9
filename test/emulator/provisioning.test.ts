import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { testApi, tokenCaller, type TestApi } from "../api/support.ts";
import { startTestEmulator, type TestEmu } from "./helpers.ts";
import { createWorkspace, resolveWorkspace } from "../../src/core/workspaces.ts";
import { listUsers } from "../../src/core/users.ts";
import { listGroupsWithMembers } from "../../src/core/groups.ts";
import { activityPage } from "../../src/core/change-log.ts";
import type { CycleReport } from "../../src/emulator/index.ts";
import { userImage, userOperations } from "../../src/emulator/provisioning.ts";
import type { User } from "../../src/domain/user.ts";

/**
 * The emulator playing Entra ID's provisioning service against Rollcall's SCIM endpoint, both over real HTTP: an
 * initial cycle of a tenant of 40 users in nested groups, an incremental one after changes, and one with no change.
 */
describe.each(engines)("emulator provisioning service → Rollcall's SCIM source (%s)", (engine) => {
  let t: TestEmu;
  let api: TestApi;
  let tenantUrl: string;
  let secretToken: string;
  const groups: Record<string, string> = {};
  /** Users the cycles provisioned that still exist in the tenant (soft-deleted ones included): Rollcall keeps them. */
  const provisioned = new Set<string>();

  beforeAll(async () => {
    t = await startTestEmulator({ users: 40, groups: 0, seed: 7 });
    api = await testApi(engine);
    await api.app.listen({ host: "127.0.0.1", port: 0 });
    await createWorkspace(api.store.db, { name: "north", defaultCountry: "US" });
    const admin = await tokenCaller(api, "north", "admin");
    const created = await admin("POST", "workspaces/north/sources", { type: "scim", name: "Entra push", onRemove: "disable" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    tenantUrl = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}/scim/v2`;
    secretToken = created.body.token;

    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const users = tenant.listUsers().map((u) => u.id);
    for (const name of ["Pilots", "Crew", "Ground", "Interns"]) groups[name] = tenant.createGroup({ displayName: name, mailNickname: name.toLowerCase() }).id;
    users.slice(0, 10).forEach((id) => tenant.addMember(groups.Pilots!, id));
    users.slice(10, 18).forEach((id) => tenant.addMember(groups.Crew!, id));
    tenant.addMember(groups.Crew!, groups.Pilots!); // nested: Entra ID provisions the Crew's users, not the group in it
    users.slice(18, 26).forEach((id) => tenant.addMember(groups.Ground!, id));
    users.slice(26, 30).forEach((id) => tenant.addMember(groups.Interns!, id));
    tenant.addMember(groups.Ground!, groups.Interns!);
  });
  afterAll(async () => {
    await api?.close();
    await t?.stop();
  });

  const cycle = async (body: Record<string, unknown> = {}): Promise<CycleReport> => {
    const response = await t.call(`${t.emu.loginUrl}/_emulator/tenants/${t.emu.tenantId}/provisioning/cycles`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tenantUrl, secretToken, ...body }),
    });
    const report = (await response.json()) as CycleReport;
    expect(response.status, JSON.stringify(report)).toBe(200);
    expect(report.entries.filter((e) => e.status === "failure"), "failures in the provisioning logs").toEqual([]);
    return report;
  };
  const ctx = async () => ({ db: api.store.db, workspace: await resolveWorkspace(api.store.db, "north") });
  const history = async () => (await activityPage(api.store.db, (await ctx()).workspace.id, {}, { limit: 10_000 })).items.length;
  const lower = (s: string | null | undefined) => s?.toLowerCase() ?? null;

  /**
   * Rollcall's SCIM users and groups are the tenant's in scope: names, emails, enabled (false once disabled,
   * soft-deleted or out of scope), direct user members in scope. `scope`: the assigned users and groups, if not all.
   */
  async function expectRollcallMatchesTenant(scope?: { users: Set<string>; groups: Set<string> }): Promise<void> {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const { items } = await listUsers(await ctx(), { sourceType: "scim" }, { limit: 500, sort: "email", order: "asc" });
    const byUpn = new Map(items.map((u) => [lower(u.userPrincipalName ?? u.customAttributes.scimUserName), u]));
    const live = new Set(tenant.listUsers().map((u) => u.id).filter((id) => !scope || scope.users.has(id)));
    const expected = tenant.listUsers({ includeDeleted: true }).filter((u) => provisioned.has(u.id));
    expect([...byUpn.keys()].sort()).toEqual(expected.map((u) => lower(u.userPrincipalName)).sort());
    for (const u of expected) {
      const r = byUpn.get(lower(u.userPrincipalName))!;
      expect({ displayName: r.displayName, email: lower(r.email), enabled: r.enabled, jobTitle: r.jobTitle }, u.userPrincipalName)
        .toEqual({ displayName: u.displayName, email: lower(u.mail), enabled: live.has(u.id) && u.accountEnabled, jobTitle: u.jobTitle });
    }
    const label = (r: User) => r.email ?? r.userPrincipalName ?? r.displayName;
    const rollcallGroups = (await listGroupsWithMembers(await ctx(), { sourceType: ["scim"] }, { limit: null, offset: 0 })).items;
    const tenantGroups = tenant.listGroups().filter((g) => !scope || scope.groups.has(g.id));
    expect(rollcallGroups.map((g) => g.name).sort()).toEqual(tenantGroups.map((g) => g.displayName).sort());
    for (const g of tenantGroups) {
      const members = tenant.listMembers(g.id).filter((m) => m.kind === "user" && live.has(m.id) && provisioned.has(m.id)).map((m) => label(byUpn.get(lower(tenant.getUser(m.id)!.userPrincipalName))!));
      expect(rollcallGroups.find((r) => r.name === g.displayName)!.members.map(lower).sort(), g.displayName).toEqual(members.map(lower).sort());
    }
  }

  it("an initial cycle creates every enabled user and every group of the tenant, then the groups' user members", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const disabled = tenant.listUsers().filter((u) => !u.accountEnabled);
    expect(disabled.length, "the seeded tenant has a disabled user").toBeGreaterThan(0);
    const report = await cycle();
    // A disabled user is not provisioned ("They must be active in Microsoft Entra ID before they're provisioned").
    expect(report).toMatchObject({ cycle: "initial", counts: { Create: 44 - disabled.length, Update: 4, Delete: 0, failed: 0 } });
    expect(report.entries.filter((e) => disabled.some((u) => u.id === e.sourceId))).toEqual([]);
    tenant.listUsers().filter((u) => u.accountEnabled).forEach((u) => provisioned.add(u.id));
    await expectRollcallMatchesTenant();
  });

  it("an incremental cycle sends what changed: rename, disable, soft and hard delete, members, group rename and delete", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const [renamed, disabled, softDeleted, hardDeleted, moved] = tenant.listMembers(groups.Pilots!).filter((m) => m.kind === "user").map((m) => tenant.getUser(m.id)!);
    tenant.updateUser(renamed!.id, { displayName: "Renamed Person", jobTitle: "Chief Pilot" });
    tenant.updateUser(disabled!.id, { accountEnabled: false });
    tenant.deleteUser(softDeleted!.id);
    tenant.deleteUser(hardDeleted!.id, { permanent: true });
    provisioned.delete(hardDeleted!.id);
    tenant.removeMember(groups.Pilots!, moved!.id);
    tenant.addMember(groups.Ground!, moved!.id);
    tenant.updateGroup(groups.Crew!, { displayName: "Cabin crew" });
    tenant.deleteGroup(groups.Interns!, { permanent: true });
    const newcomer = tenant.createUser({ displayName: "New Comer", userPrincipalName: `new.comer@${tenant.domain}`, mail: `new.comer@${tenant.domain}` });
    tenant.addMember(groups.Ground!, newcomer.id);
    provisioned.add(newcomer.id);
    const before = await history();

    const report = await cycle();
    expect(report).toMatchObject({ cycle: "incremental", counts: { Create: 1, Disable: 2, Update: 1 + 3, Delete: 2, failed: 0 } });
    expect(report.entries.find((e) => e.sourceId === hardDeleted!.id)).toMatchObject({ objectType: "User", action: "Delete", status: "success" });
    expect(await history()).toBeGreaterThan(before);
    await expectRollcallMatchesTenant();
    const kept = (await listUsers(await ctx(), { q: hardDeleted!.userPrincipalName }, { limit: 5, sort: "email", order: "asc" })).items;
    expect(kept.map((u) => ({ enabled: u.enabled, source: u.source.type }))).toEqual([{ enabled: false, source: "manual" }]);
  });

  it("a cycle with nothing changed sends no write and leaves Rollcall's history as it was", async () => {
    const before = await history();
    const report = await cycle();
    expect(report).toMatchObject({ cycle: "incremental", requests: 0, counts: { Create: 0, Update: 0, Disable: 0, Delete: 0 }, entries: [] });
    expect(await history()).toBe(before);
    await expectRollcallMatchesTenant();
  });

  it("a restarted job matches what the endpoint holds (users by userName, groups by displayName) and creates nothing", async () => {
    const before = await history();
    const report = await cycle({ restart: true });
    expect(report).toMatchObject({ cycle: "initial", counts: { Create: 0, Delete: 0, failed: 0 } });
    await expectRollcallMatchesTenant();
    // Entra ID compares with what it reads back: phone numbers Rollcall stored in E.164 (or left out, unreadable)
    // differ and are sent again; those re-sent change nothing, and repeat no warning in the history.
    expect(await history()).toBe(before);
  });

  it("assigning only some users and groups disables the users left out and deletes the groups left out", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const assignedUser = tenant.listMembers(groups.Crew!).find((m) => m.kind === "user")!.id;
    const report = await cycle({ scope: { users: [assignedUser], groups: [groups.Ground] } });
    const users = new Set([assignedUser, ...tenant.listMembers(groups.Ground!).filter((m) => m.kind === "user").map((m) => m.id)]);
    expect(report.counts).toMatchObject({ Create: 0, Delete: 2, failed: 0 });
    expect(report.counts.Disable).toBe(tenant.listUsers().filter((u) => u.accountEnabled && !users.has(u.id)).length);
    await expectRollcallMatchesTenant({ users, groups: new Set([groups.Ground!]) });
  });

  it("takes the aadOptscim062020 wire form: several attributes in one replace without a path, members removed by a value filter", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const assignedUser = tenant.listMembers(groups.Crew!).find((m) => m.kind === "user")!.id;
    const [changed, leaving] = tenant.listMembers(groups.Ground!).filter((m) => m.kind === "user" && tenant.getUser(m.id)?.accountEnabled && provisioned.has(m.id)).map((m) => m.id);
    tenant.updateUser(changed!, { displayName: "Flag Person", jobTitle: "Flag Bearer", mail: `flag.person@${tenant.domain}` });
    tenant.removeMember(groups.Ground!, leaving!);
    const report = await cycle({ scope: { users: [assignedUser, leaving], groups: [groups.Ground] }, scimCompliant: true });
    expect(report.counts).toMatchObject({ Update: 2, failed: 0 });
    const users = new Set([assignedUser, leaving!, ...tenant.listMembers(groups.Ground!).filter((m) => m.kind === "user").map((m) => m.id)]);
    await expectRollcallMatchesTenant({ users, groups: new Set([groups.Ground!]) });
  });
});

describe("emulator provisioning service: throttling and per-object failures", () => {
  let t: TestEmu;
  let target: Server;
  let url = "";
  const seen: string[] = [];

  beforeAll(async () => {
    t = await startTestEmulator({ users: 5, groups: 0 });
    let throttled = false;
    // A SCIM endpoint that throttles once, then refuses one user with a SCIM error and creates the others.
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url?.split("?")[0]} ${req.headers.authorization}`);
        const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
        const send = (status: number, json?: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { "content-type": "application/scim+json", ...headers }).end(json === undefined ? undefined : JSON.stringify(json));
        if (req.method === "GET") return send(200, { schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 0, Resources: [] });
        if (!throttled) { throttled = true; return send(429, undefined, { "retry-after": "1" }); }
        if (body.userName.startsWith(refused)) return send(400, { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", scimType: "invalidValue", detail: "title: too long" });
        if (body.userName.startsWith(broken)) return send(500, { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "500", detail: "database down" });
        send(201, { ...body, id: `id-${body.userName}` });
      });
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/scim/v2`;
  });
  afterAll(async () => {
    await new Promise((resolve) => target.close(resolve));
    await t.stop();
  });
  let refused = "";
  let broken = "";

  it("waits out a 429's Retry-After, logs a refused user and a server error with the endpoint's reason, and goes on with the others", async () => {
    const [first, second, third, fourth] = t.emu.tenants.get(t.emu.tenantId).listUsers().filter((u) => u.accountEnabled);
    refused = second!.userPrincipalName;
    broken = fourth!.userPrincipalName;
    const scope = { users: [first!.id, second!.id, third!.id, fourth!.id] };
    const started = Date.now();
    const report = await t.emu.provisioning.runCycle(t.emu.tenantId, { tenantUrl: url, secretToken: "s3cret", scope });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(report.counts).toMatchObject({ Create: 2, failed: 2 });
    expect(report.entries.find((e) => e.sourceId === second!.id)).toEqual({
      objectType: "User", sourceId: second!.id, displayName: second!.displayName, action: "Create", status: "failure",
      statusCode: 400, errorCode: "SystemForCrossDomainIdentityManagementBadRequest", reason: "title: too long",
    });
    expect(report.entries.find((e) => e.sourceId === fourth!.id)).toMatchObject({ status: "failure", statusCode: 500, errorCode: "SystemForCrossDomainIdentityManagementServiceFailure", reason: "database down" });
    // The throttled one again, then one each: a 5xx is not sent again in the cycle ("retried in the next sync cycle").
    expect(seen.filter((s) => s.startsWith("POST")).length).toBe(5);
    expect(seen.every((s) => s.endsWith("Bearer s3cret"))).toBe(true);

    // The failed users are tried again next cycle (looked up, then created); the others are not sent again.
    seen.length = 0;
    refused = broken = "nobody";
    const next = await t.emu.provisioning.runCycle(t.emu.tenantId, { tenantUrl: url, secretToken: "s3cret", scope });
    expect(next).toMatchObject({ cycle: "incremental", counts: { Create: 2, failed: 0, unchanged: 2 } });
    expect(seen.map((s) => s.split(" ").slice(0, 2).join(" "))).toEqual(["GET /scim/v2/Users", "POST /scim/v2/Users", "GET /scim/v2/Users", "POST /scim/v2/Users"]);
  });

  it("sends nothing for an attribute emptied in Entra ID, as the provisioning service skips null values", () => {
    const before = userImage({ ...t.emu.tenants.get(t.emu.tenantId).listUsers()[0]!, jobTitle: "Pilot", department: "Flight" }, true);
    expect(userOperations(before, { ...before, title: null, department: null }, false)).toEqual([]);
    expect(userOperations({ ...before, title: null }, before, false)).toEqual([{ op: "Add", path: "title", value: "Pilot" }]);
    // With aadOptscim062020, as the Known issues page prints: one replace alone keeps its path, several go as one.
    expect(userOperations(before, { ...before, active: false }, true)).toEqual([{ op: "replace", path: "active", value: false }]);
    expect(userOperations(before, { ...before, title: "Chief", displayName: "Bjfe", email: "new@x.example" }, true)).toEqual([
      { op: "replace", path: 'emails[type eq "work"].value', value: "new@x.example" },
      { op: "replace", value: { displayName: "Bjfe", title: "Chief" } },
    ]);
  });

  it("refuses a cycle without a Tenant URL or with a bad scope, saying what to send", async () => {
    const post = async (body: unknown) => {
      const response = await t.call(`${t.emu.loginUrl}/_emulator/tenants/${t.emu.tenantId}/provisioning/cycles`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { error: string } };
    };
    expect(await post({ secretToken: "x" })).toEqual({ status: 400, body: { error: expect.stringContaining("tenantUrl") } });
    expect(await post({ tenantUrl: url, secretToken: "x", scope: "assigned" })).toEqual({ status: 400, body: { error: expect.stringContaining("scope must be") } });
  });
});
