import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { signIn, testApi, type Caller, type TestApi } from "./support.ts";

/**
 * A phone number given by hand with an extension keeps its E.164 number, and the save says the extension was
 * dropped: in the answer's `warnings`, and in the user's history as a "warning" entry, as a sync records it.
 */
describe.each(engines)("warnings of a user added or changed by hand, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const mobileWarning = 'mobilePhone: "+1 425 555 0100 ext. 123" has the extension 123, which a phone number in E.164 cannot hold: kept +14255550100 without it';

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
  });
  afterAll(() => api?.close());

  const history = async (id: string) => (await as("GET", `workspaces/acme/users/${id}/changes`)).body.items as { action: string; actor: string; after: unknown }[];

  it("says on create that an extension was dropped, and records it on the user", async () => {
    const created = await as("POST", "workspaces/acme/users", { email: "ada@example.com", displayName: "Ada", mobilePhone: "+1 425 555 0100 ext. 123" });
    expect(created.status).toBe(201);
    expect(created.body.mobilePhone).toBe("+14255550100");
    expect(created.body.warnings).toEqual([mobileWarning]);
    const [warning, create] = await history(created.body.id);
    expect(create!.action).toBe("create");
    expect(warning).toMatchObject({ action: "warning", actor: "owner@example.com", after: { messages: [mobileWarning] } });
    // The user as shown later has no warnings: they belong to the save.
    expect((await as("GET", `workspaces/acme/users/${created.body.id}`)).body).not.toHaveProperty("warnings");
  });

  it("says on update which business phone lost its extension; a save that loses nothing has none and logs none", async () => {
    const created = await as("POST", "workspaces/acme/users", { email: "bob@example.com", displayName: "Bob" });
    expect(created.body.warnings).toEqual([]);
    const updated = await as("PATCH", `workspaces/acme/users/${created.body.id}`, { businessPhones: ["+44 20 7946 0000", "+1 425 555 0199 x77"] });
    expect(updated.status).toBe(200);
    expect(updated.body.businessPhones).toEqual(["+442079460000", "+14255550199"]);
    expect(updated.body.warnings).toEqual([expect.stringMatching(/^businessPhones\[1\]: "\+1 425 555 0199 x77" has the extension 77, .* kept \+14255550199 without it$/)]);
    expect((await history(created.body.id)).map((c) => c.action)).toEqual(["warning", "update", "create"]);

    const plain = await as("PATCH", `workspaces/acme/users/${created.body.id}`, { department: "Ops" });
    expect(plain.body.warnings).toEqual([]);
    expect((await history(created.body.id)).map((c) => c.action)).toEqual(["update", "warning", "update", "create"]);
  });

  it("shows a refused save no warning and logs none", async () => {
    const refused = await as("POST", "workspaces/acme/users", { email: "eve@example.com", mobilePhone: "+1 425 555 0100 ext. 9" });
    expect(refused.status).toBe(400);
    const activity = await as("GET", "workspaces/acme/activity?action=warning");
    expect(activity.body.items.map((c: { subject: string }) => c.subject).sort()).toEqual(["ada@example.com", "bob@example.com"]);
  });

  it("documents the warnings in the OpenAPI document: SavedUser answers POST and PATCH, UserDetail GET, User the rest", async () => {
    const doc = (await api.app.inject({ method: "GET", url: "/api/v1/openapi.json" })).json();
    const saved = doc.components.schemas.SavedUser;
    expect(saved.properties.warnings).toMatchObject({ type: "array", items: { type: "string" } });
    expect(saved.required).toContain("warnings");
    expect(Object.keys(saved.properties).filter((k) => k !== "warnings")).toEqual(Object.keys(doc.components.schemas.User.properties));
    const answer = (path: string, method: string, status: string) => JSON.stringify(doc.paths[path][method].responses[status]);
    expect(answer("/api/v1/workspaces/{workspace}/users", "post", "201")).toContain("#/components/schemas/SavedUser");
    expect(answer("/api/v1/workspaces/{workspace}/users/{id}", "patch", "200")).toContain("#/components/schemas/SavedUser");
    expect(answer("/api/v1/workspaces/{workspace}/users/{id}", "delete", "200")).toContain("#/components/schemas/User\"");
    // A user's own answer: the user as lists show them, the groups they are in through nesting, their direct reports, why they have their status, an open conflict.
    expect(answer("/api/v1/workspaces/{workspace}/users/{id}", "get", "200")).toContain("#/components/schemas/UserDetail\"");
    const detail = doc.components.schemas.UserDetail;
    expect(Object.keys(detail.properties)).toEqual([...Object.keys(doc.components.schemas.User.properties), "nestedGroups", "directReports", "statusChange", "openConflict", "photoSource"]);
    expect(detail.properties.nestedGroups).toMatchObject({ type: "array", items: { type: "object", required: ["name", "through"] } });
  });
});
