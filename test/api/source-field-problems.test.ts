import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { expectError, testApi, tokenCaller, type Caller, type Reply, type TestApi } from "./support.ts";

/**
 * Creating or changing a source answers every field problem of its body at once, each at its field: those the request
 * schema refuses and those the core's checks find in the other fields (sign-in's, a credential's, a schedule's…), so
 * an admin fixing one does not meet the next on the following try. Nothing is saved while any is left.
 */
describe.each(engines)("a source's every field problem at once (%s)", (engine) => {
  let api: TestApi;
  let as: Caller;
  const ws = "workspaces/default";
  const fields = (reply: Reply) => (reply.body.error.details.fields as { field: string }[]).map((f) => f.field).sort();
  const entra = { tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", clientId: "0f8fad5b-d9cb-469f-a165-70867728950e" };

  beforeAll(async () => {
    api = await testApi(engine);
    as = await tokenCaller(api, "default", "admin");
    expect((await as("POST", `${ws}/sources`, { type: "scim", name: "push" })).status).toBe(201);
    expect((await as("POST", `${ws}/sources`, { name: "corp", ...entra, clientSecret: "Q~a.secret" })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
  });

  it("adding a SCIM source with sign-in: a bad tenant ID, client ID and date, and the missing secret, in one answer", async () => {
    const reply = await as("POST", `${ws}/sources`, { type: "scim", name: "signs in", signIn: true, tenantId: "not a tenant!", clientId: "nope", secretExpiresOn: "soon" });
    expectError(reply, 400, "invalid_input");
    expect(fields(reply)).toEqual(["clientId", "clientSecret", "secretExpiresOn", "tenantId"]);
    expect(reply.body.error.details.fields.find((f: { field: string }) => f.field === "clientSecret").message).toContain("is required to sign the source's users in");
    // The core's check of a credential, beside the schema's refusal of the tenant ID.
    const guid = await as("POST", `${ws}/sources`, { type: "scim", name: "signs in", signIn: true, tenantId: "common", clientId: entra.clientId, clientSecret: "0f8fad5b-d9cb-469f-a165-70867728950e" });
    expectError(guid, 400, "invalid_input", ["tenantId", "clientSecret"]);
    expect(guid.body.error.details.fields[1].message).toContain("is a GUID: that is the secret's ID");
    expect((await as("GET", `${ws}/sources/signs in`)).status).toBe(404);
  });

  it("changing a SCIM source: the schema's problems and sign-in's together, and a name taken is one of them", async () => {
    const reply = await as("PATCH", `${ws}/sources/push`, { signIn: true, tenantId: "contoso", loginUrl: "http://login.example", colour: "blue", name: "corp" });
    expectError(reply, 400, "invalid_input");
    expect(fields(reply)).toEqual(["clientId", "clientSecret", "colour", "loginUrl", "name", "tenantId"]);
    expect(reply.body.error.details.fields.find((f: { field: string }) => f.field === "name").message).toContain('A source called "corp" already exists');
    // Alone, a name taken stays the conflict it is.
    expectError(await as("PATCH", `${ws}/sources/push`, { name: "corp" }), 409, "conflict");
    expect((await as("GET", `${ws}/sources/push`)).body.config).toMatchObject({ signIn: false, tenantId: null });
  });

  it("adding an Entra ID source: a bad tenant ID, no secret, a cron expression and a property a sync cannot read, in one answer", async () => {
    const reply = await as("POST", `${ws}/sources`, { name: "second", tenantId: "organizations", clientId: entra.clientId, schedule: { cron: "every day" }, mapping: { department: "birthday" } });
    expectError(reply, 400, "invalid_input");
    expect(fields(reply)).toEqual(["clientSecret", "mapping.department", "schedule.cron", "tenantId"]);
    const both = await as("POST", `${ws}/sources`, { name: "second", ...entra, tenantId: "x y", clientSecret: "s", certificatePem: "pem" });
    expectError(both, 400, "invalid_input", ["tenantId", "clientSecret"]);
    expect((await as("GET", `${ws}/sources/second`)).status).toBe(404);
  });

  it("changing an Entra ID source: the schema's problems, the route's and the core's together; nothing changes", async () => {
    const reply = await as("PATCH", `${ws}/sources/corp`, { tenantId: "common", newScimToken: true, groupMode: "selected", groups: ["Pilots"], ignoreGroups: ["Pilots"], users: "everyone" });
    expectError(reply, 400, "invalid_input");
    expect(fields(reply)).toEqual(["groups", "newScimToken", "tenantId", "users"]);
    expect((await as("GET", `${ws}/sources/corp`)).body.config).toMatchObject({ tenantId: entra.tenantId, groupMode: "none", ignoreGroups: [] });
  });

  it("each problem alone is still refused as before", async () => {
    expectError(await as("PATCH", `${ws}/sources/push`, { tenantId: "common" }), 400, "invalid_input", ["tenantId"]);
    expectError(await as("PATCH", `${ws}/sources/push`, { signIn: true, tenantId: entra.tenantId, clientId: entra.clientId }), 400, "invalid_input", ["clientSecret"]);
    expectError(await as("PATCH", `${ws}/sources/corp`, { schedule: { cron: "every day" } }), 400, "invalid_input", ["schedule.cron"]);
    expectError(await as("POST", `${ws}/sources`, { ...entra, clientSecret: "s" }), 400, "invalid_input", ["name"]);
  });
});
