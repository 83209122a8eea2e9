import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";

/**
 * The enterprise extension's manager as Entra ID's provisioning service sends it, over real HTTP: in a create, by PATCH
 * (the id alone or {value}, the older tutorial's core `manager` list, a remove or an empty value), by PUT, in filters.
 */
const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

type Scim = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

const scimClient = (base: string, token: string): Scim => async (method, path, body) => {
  const response = await fetch(`${base}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/scim+json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};

const user = (name: string, extra: Record<string, unknown> = {}) => ({
  schemas: [userSchema, enterprise], externalId: name, userName: `${name}@contoso.com`, active: true, displayName: name,
  emails: [{ primary: true, type: "work", value: `${name}@contoso.com` }], ...extra,
});

describe.each(engines)("SCIM managers (%s)", (engine) => {
  let api: TestApi;
  let base: string;
  let admin: Caller;
  let scim: Scim;
  let south: Scim;

  beforeAll(async () => {
    api = await testApi(engine);
    await api.app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    await createWorkspace(api.store.db, { name: "north", defaultCountry: "DE" });
    admin = await tokenCaller(api, "north", "admin");
    scim = scimClient(base, (await admin("POST", "workspaces/north/sources", { type: "scim", name: "Entra push" })).body.token);
    const other = await tokenCaller(api, "south", "admin");
    south = scimClient(base, (await other("POST", "workspaces/south/sources", { type: "scim", name: "South push" })).body.token);
  });
  afterAll(async () => api?.close());

  const create = async (name: string, extra?: Record<string, unknown>) => {
    const created = await scim("POST", "/Users", user(name, extra));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  };
  const patch = async (id: string, ...Operations: unknown[]) => {
    const answer = await scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body[enterprise]?.manager?.value ?? null;
  };
  const managerHere = async (id: string) => (await admin("GET", `workspaces/north/users/${id}`)).body.manager?.id ?? null;

  it("sets the manager a create names, answers it as RFC 7643 has it, and changes and clears it as Entra ID's PATCH does", async () => {
    const boss = await create("boss");
    const chief = await create("chief");
    const ada = await create("ada", { [enterprise]: { department: "Ops", manager: { value: boss.id } } });
    expect(ada[enterprise]).toEqual({ department: "Ops", manager: { value: boss.id, $ref: `${base}/scim/v2/Users/${boss.id}`, displayName: "boss" } });
    expect((await scim("GET", `/Users/${ada.id}`)).body[enterprise].manager.value).toBe(boss.id);
    expect(await managerHere(ada.id)).toBe(boss.id);

    // The path Entra ID maps manager to, with the id alone or as {value}; then removed by remove or by an empty value.
    expect(await patch(ada.id, { op: "Replace", path: `${enterprise}:manager`, value: chief.id })).toBe(chief.id);
    expect(await managerHere(ada.id)).toBe(chief.id);
    expect(await patch(ada.id, { op: "Remove", path: `${enterprise}:manager` })).toBeNull();
    expect(await managerHere(ada.id)).toBeNull();
    expect(await patch(ada.id, { op: "Add", path: `${enterprise}:manager`, value: { value: boss.id } })).toBe(boss.id);
    expect(await patch(ada.id, { op: "Replace", path: `${enterprise}:manager`, value: "" })).toBeNull();
    // Without a path (the value holds the path), by sub-attribute, and the older tutorial's core manager list.
    expect(await patch(ada.id, { op: "replace", value: { [`${enterprise}:manager`]: chief.id } })).toBe(chief.id);
    expect(await patch(ada.id, { op: "replace", path: `${enterprise}:manager.value`, value: boss.id })).toBe(boss.id);
    expect(await patch(ada.id, { op: "Add", path: "manager", value: [{ $ref: `${base}/scim/v2/Users/${chief.id}`, value: chief.id }] })).toBe(chief.id);
    expect(await patch(ada.id, { op: "Remove", path: "manager", value: [{ $ref: null, value: chief.id }] })).toBeNull();
    // Another attribute's PATCH keeps the manager; a PUT leaving it out clears it.
    await patch(ada.id, { op: "Replace", path: `${enterprise}:manager`, value: boss.id });
    expect(await patch(ada.id, { op: "Replace", path: "displayName", value: "Ada L" })).toBe(boss.id);
    const put = await scim("PUT", `/Users/${ada.id}`, user("ada"));
    expect([put.status, put.body[enterprise]?.manager]).toEqual([200, undefined]);

    const history = (await admin("GET", `workspaces/north/users/${ada.id}/changes?limit=50`)).body;
    const managers = history.items.filter((c: any) => c.action === "update" && "manager" in (c.after ?? {})).map((c: any) => c.after.manager?.id ?? null);
    expect(managers.slice(0, 3)).toEqual([null, boss.id, boss.id]);
  });

  it("lists users by their manager's id, as an older job checks it", async () => {
    const lead = await create("lead");
    const bob = await create("bob", { [enterprise]: { manager: { value: lead.id } } });
    const total = async (filter: string) => (await scim("GET", `/Users?filter=${encodeURIComponent(filter)}`)).body.totalResults;
    expect(await total(`id eq "${bob.id}" and manager eq "${lead.id}"`)).toBe(1);
    expect(await total(`${enterprise}:manager eq "${lead.id.toUpperCase()}"`)).toBe(1);
    expect(await total(`id eq "${bob.id}" and manager eq "${bob.id}"`)).toBe(0);
  });

  it("leaves out, with a warning in the history, a manager that is no user of the workspace, the user themselves or a loop", async () => {
    const top = await create("top");
    const mid = await create("mid", { [enterprise]: { manager: { value: top.id } } });
    const stranger = (await south("POST", "/Users", user("stranger"))).body;
    const cy = await create("cy", { [enterprise]: { manager: { value: "00000000-0000-4000-8000-000000000000" } } });
    expect([cy[enterprise]?.manager, await managerHere(cy.id)]).toEqual([undefined, null]);
    expect(await patch(cy.id, { op: "Replace", path: `${enterprise}:manager`, value: stranger.id })).toBeNull();
    expect(await patch(cy.id, { op: "Replace", path: `${enterprise}:manager`, value: "not-an-id" })).toBeNull();
    await patch(cy.id, { op: "Replace", path: `${enterprise}:manager`, value: mid.id });
    expect(await patch(cy.id, { op: "Replace", path: `${enterprise}:manager`, value: cy.id })).toBeNull();
    expect(await patch(top.id, { op: "Replace", path: `${enterprise}:manager`, value: mid.id })).toBeNull();
    expect(await managerHere(mid.id)).toBe(top.id);

    const messages = async (id: string) => (await admin("GET", `workspaces/north/users/${id}/changes?limit=50`)).body.items.filter((c: any) => c.action === "warning").flatMap((c: any) => c.after.messages);
    const cyWarnings = await messages(cy.id);
    expect(cyWarnings).toContainEqual(`${enterprise}:manager: "00000000-0000-4000-8000-000000000000" is no user of workspace "north" (Entra ID names a manager by the id Rollcall gave them, once provisioned); left out`);
    expect(cyWarnings).toContainEqual(expect.stringContaining("is the user themselves"));
    expect(await messages(top.id)).toEqual([expect.stringContaining("(mid) reports to the user (directly or through others): it would make a loop; left out")]);
    // Entra ID sends it again each cycle (GET shows no manager): logged once.
    expect(await patch(top.id, { op: "Replace", path: `${enterprise}:manager`, value: mid.id })).toBeNull();
    expect(await messages(top.id)).toHaveLength(1);
  });
});
