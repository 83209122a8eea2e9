import { randomUUID } from "node:crypto";
import openapiTS, { astToString } from "openapi-typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance, InjectOptions } from "fastify";
import { engines } from "../support/db.ts";
import { runtimeOver, testApi, tokenCaller, type TestApi } from "./support.ts";
import { conformance, type Conformance } from "./openapi-conformance.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { buildApp } from "../../src/api/server.ts";

/**
 * /scim/v2 answers what its own OpenAPI document (/scim/v2/openapi.json) says, for every operation and every error
 * a provisioning client meets: each answer is checked against the document (status, application/scim+json, the body
 * against its schema, documented headers such as Location, WWW-Authenticate and Retry-After), as for /api/v1.
 */
const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const user = (suffix: string) => ({
  schemas: [userSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  externalId: `ext-${suffix}`,
  userName: `Test_User_${suffix}@testuser.com`,
  active: true,
  emails: [{ primary: true, type: "work", value: `Test_User_${suffix}@testuser.com` }],
  name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
  phoneNumbers: [{ type: "mobile", value: "+49 151 23456789" }, { type: "work", value: "+49 30 1234567" }],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "Flight", employeeNumber: "E-1" },
  meta: { resourceType: "User" },
});

describe.each(engines)("SCIM answers what its OpenAPI document says (%s)", (engine) => {
  let api: TestApi;
  let doc: any;
  let scim: Conformance;
  let token: string;
  /** Operation → the statuses it answered. */
  const seen = new Map<string, Set<number>>();
  const scimTypesSeen = new Set<string>();

  interface Sent {
    status: number;
    body: any;
    headers: Record<string, unknown>;
  }

  /** One request to /scim/v2 with `auth` (a token, or null for none), checked against the document. */
  async function send(auth: string | null, method: string, path: string, expected: number, options: { body?: unknown; payload?: string; type?: string; app?: FastifyInstance } = {}): Promise<Sent> {
    const inject: InjectOptions = {
      method: method as "GET",
      url: `/scim/v2${path}`,
      headers: {
        ...(auth !== null && { authorization: `Bearer ${auth}` }),
        ...((options.body !== undefined || options.payload !== undefined) && { "content-type": options.type ?? "application/scim+json; charset=utf-8" }),
      },
      ...(options.body !== undefined && { payload: JSON.stringify(options.body) }),
      ...(options.payload !== undefined && { payload: options.payload }),
    };
    const reply = await (options.app ?? api.app).inject(inject);
    const operation = scim.operationOf(method, path);
    expect(operation, `${method} ${path} is not a documented operation`).toBeDefined();
    expect.soft(scim.problems(operation!, { status: reply.statusCode, headers: reply.headers, text: reply.body }), `${method} ${path}`).toEqual([]);
    expect(reply.statusCode, `${method} ${path}: ${reply.body.slice(0, 500)}`).toBe(expected);
    seen.set(operation!, (seen.get(operation!) ?? new Set()).add(reply.statusCode));
    const body = reply.body ? JSON.parse(reply.body) : undefined;
    if (body?.scimType) scimTypesSeen.add(body.scimType);
    return { status: reply.statusCode, body, headers: reply.headers };
  }

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "north", defaultCountry: "DE" });
    const admin = await tokenCaller(api, "north", "admin");
    const created = await admin("POST", "workspaces/north/sources", { type: "scim", name: "Entra push" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    token = created.body.token;
    const served = await api.app.inject({ method: "GET", url: "/scim/v2/openapi.json" });
    expect(served.statusCode).toBe(200);
    doc = served.json();
    scim = conformance(doc);
  });
  afterAll(async () => api?.close());

  it("is an OpenAPI 3.1 document of its own: the Tenant URL as server, the Secret Token as bearer scheme, served without a token; a client compiles from it", async () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "/scim/v2", description: expect.any(String) }]);
    expect(doc.components.securitySchemes).toEqual({ scimToken: { type: "http", scheme: "bearer", description: expect.stringContaining("not a Rollcall API token") } });
    expect(doc.security).toEqual([{ scimToken: [] }]);
    expect(doc.paths["/openapi.json"].get.security).toEqual([]);
    expect(Object.keys(doc.paths).sort()).toEqual(["/Bulk", "/Groups", "/Groups/{id}", "/ResourceTypes", "/ResourceTypes/{id}", "/Schemas", "/Schemas/{id}", "/ServiceProviderConfig", "/Users", "/Users/{id}", "/openapi.json"]);
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
          if (path !== "/openapi.json" && response.content) expect(Object.keys(response.content), `${method} ${path} ${status}`).toEqual(["application/scim+json"]);
        }
      }
    }
    // The main document is Rollcall's REST API only: none of SCIM's operations, schemes or errors in it.
    const main = (await api.app.inject({ method: "GET", url: "/api/v1/openapi.json" })).json();
    expect(Object.keys(main.paths).filter((p) => p.startsWith("/scim"))).toEqual([]);
    expect(main.tags.find((t: { name: string }) => t.name === "Sources").description).toContain("/scim/v2/openapi.json");

    const types = astToString(await openapiTS(doc));
    expect(types).toContain('"/Users/{id}"');
    expect(types).toMatch(/scimType\?: "invalidFilter" \| "invalidPath"/);
    await send(null, "GET", "/openapi.json", 200);
  });

  it("users: Test Connection's query, create, read, filter, replace, patch, delete, and their SCIM errors", async () => {
    expect((await send(token, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`, 200)).body).toMatchObject({ totalResults: 0, Resources: [] });
    const created = await send(token, "POST", "/Users", 201, { body: user("ada") });
    const id = created.body.id as string;
    expect(created.headers.location).toBe(created.body.meta.location);
    expect(created.body.phoneNumbers.map((p: { type: string }) => p.type)).toEqual(["mobile", "work"]);
    expect((await send(token, "POST", "/Users", 409, { body: user("ada") })).body.scimType).toBe("uniqueness");
    // A manager, answered as the document's closed enterprise extension has it.
    const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const report = await send(token, "POST", "/Users", 201, { body: { ...user("bea"), [enterprise]: { manager: { value: id } } } });
    expect(report.body[enterprise].manager).toMatchObject({ value: id, $ref: created.body.meta.location });
    await send(token, "PATCH", `/Users/${report.body.id}`, 200, { body: { schemas: [patchOp], Operations: [{ op: "Replace", path: `${enterprise}:manager`, value: "" }] } });
    await send(token, "GET", `/Users/${id}`, 200);
    await send(token, "GET", `/Users?filter=${encodeURIComponent('userName eq "Test_User_ada@testuser.com"')}&startIndex=1&count=10`, 200);
    expect((await send(token, "GET", `/Users?filter=${encodeURIComponent('userName eq "a" or userName eq "b"')}`, 400)).body.scimType).toBe("invalidFilter");
    expect((await send(token, "GET", "/Users?startIndex=first", 400)).body.scimType).toBe("invalidValue");
    expect((await send(token, "POST", "/Users", 400, { payload: "{not json" })).body.scimType).toBe("invalidSyntax");
    expect((await send(token, "POST", "/Users", 400, { body: { displayName: "No userName" } })).body.scimType).toBe("invalidValue");
    await send(token, "POST", "/Users", 415, { payload: "<User/>", type: "application/xml" });
    await send(token, "POST", "/Users", 413, { payload: JSON.stringify({ userName: "big@testuser.com", displayName: "x".repeat(1024 * 1024) }) });

    await send(token, "PUT", `/Users/${id}`, 200, { body: { ...user("ada"), displayName: "Ada Lovelace", active: "False" } });
    await send(token, "PUT", "/Users/00000000-0000-4000-8000-000000000000", 404, { body: user("ghost") });
    const patched = await send(token, "PATCH", `/Users/${id}`, 200, { body: { schemas: [patchOp], Operations: [{ op: "Replace", path: "active", value: "True" }, { op: "Add", value: { "name.givenName": "Ada" } }] } });
    expect(patched.body).toMatchObject({ active: true, name: { givenName: "Ada" } });
    expect((await send(token, "PATCH", `/Users/${id}`, 400, { body: { Operations: [{ op: "Merge", path: "title", value: "x" }] } })).body.scimType).toBe("invalidSyntax");
    expect((await send(token, "PATCH", `/Users/${id}`, 400, { body: { Operations: [{ op: "Remove" }] } })).body.scimType).toBe("noTarget");
    await send(token, "PATCH", "/Users/00000000-0000-4000-8000-000000000000", 404, { body: { Operations: [{ op: "Replace", path: "active", value: false }] } });
    await send(token, "GET", "/Users/00000000-0000-4000-8000-000000000000", 404);

    for (const auth of [null, "rcscim_not-a-token"]) {
      const refused = await send(auth, "GET", "/Users", 401);
      expect(refused.headers["www-authenticate"]).toBe('Bearer realm="scim"');
    }
    await send(token, "DELETE", `/Users/${id}`, 204);
    await send(token, "DELETE", "/Users/00000000-0000-4000-8000-000000000000", 404);
  });

  it("groups: create with members, read with and without them, filter, replace, patch members, delete, and their SCIM errors", async () => {
    const member = (await send(token, "POST", "/Users", 201, { body: user("grace") })).body.id as string;
    const group = await send(token, "POST", "/Groups", 201, { body: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], externalId: "8aa1a0c0", displayName: "Pilots", members: [{ value: member }] } });
    const id = group.body.id as string;
    expect(group.body.members).toEqual([{ value: member, display: "givenName familyName", type: "User" }]);
    expect((await send(token, "POST", "/Groups", 409, { body: { displayName: "Pilots" } })).body.scimType).toBe("uniqueness");
    expect((await send(token, "POST", "/Groups", 400, { body: { displayName: "Strays", members: [{ value: "00000000-0000-4000-8000-000000000000" }] } })).status).toBe(400);
    expect((await send(token, "GET", `/Groups/${id}?excludedAttributes=members`, 200)).body).not.toHaveProperty("members");
    await send(token, "GET", `/Groups/${id}`, 200);
    await send(token, "GET", `/Groups?filter=${encodeURIComponent(`displayName eq "Pilots"`)}&excludedAttributes=members`, 200);
    await send(token, "GET", `/Groups?filter=${encodeURIComponent(`id eq "${id}" and members eq "${member}"`)}`, 200);
    expect((await send(token, "GET", `/Groups?filter=${encodeURIComponent("displayName co \"Pi\"")}`, 400)).body.scimType).toBe("invalidFilter");
    await send(token, "PUT", `/Groups/${id}`, 200, { body: { displayName: "Pilots", members: [] } });
    await send(token, "PUT", "/Groups/00000000-0000-4000-8000-000000000000", 404, { body: { displayName: "Ghosts" } });
    await send(token, "PATCH", `/Groups/${id}`, 204, { body: { schemas: [patchOp], Operations: [{ op: "Add", path: "members", value: [{ value: member }] }, { op: "Replace", path: "displayName", value: "Aviators" }] } });
    await send(token, "PATCH", `/Groups/${id}`, 204, { body: { Operations: [{ op: "Remove", path: `members[value eq "${member}"]` }] } });
    await send(token, "PATCH", `/Groups/${id}`, 400, { body: { Operations: [] } });
    await send(token, "GET", "/Groups/00000000-0000-4000-8000-000000000000", 404);
    await send(token, "DELETE", `/Groups/${id}`, 204);
    await send(token, "DELETE", `/Groups/${id}`, 404);
  });

  it("discovery takes the Secret Token like the rest (401 without it); /Bulk is a 501", async () => {
    for (const path of ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas", "/ResourceTypes/User", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group"]) {
      await send(token, "GET", path, 200);
      const refused = await send(null, "GET", path, 401);
      expect(refused.body.detail, path).toMatch(/^Send the SCIM source's secret token as Authorization: Bearer/);
      await send("rcscim_not-a-token", "GET", path, 401);
    }
    expect((await send(token, "GET", "/ResourceTypes/Device", 404)).body.detail).toBe('There is no resource type "Device": this server has User, Group');
    await send(token, "GET", "/Schemas/urn:example:Device", 404);
    expect((await send(token, "POST", "/Bulk", 501, { body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: [] } })).body.status).toBe("501");
    await send(null, "POST", "/Bulk", 401, { body: {} });
  });

  it("counts discovery in the token's requests a minute: a 429 with Retry-After, for discovery and the rest alike", async () => {
    // A token of its own: the count is kept in the database, per token, so this token's earlier requests would count.
    const admin = await tokenCaller(api, "north", "admin");
    const busy = (await admin("POST", "workspaces/north/sources", { type: "scim", name: "Busy push" })).body.token as string;
    const limited = await buildApp(runtimeOver(api.store, { scimRequestsPerMinute: 3 }));
    try {
      await send(busy, "GET", "/ServiceProviderConfig", 200, { app: limited });
      await send(busy, "GET", "/Schemas", 200, { app: limited });
      await send(busy, "GET", "/ResourceTypes", 200, { app: limited });
      const refused = await send(busy, "GET", "/ServiceProviderConfig", 429, { app: limited });
      expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
      await send(busy, "GET", "/Users", 429, { app: limited });
      await send(busy, "POST", "/Users", 429, { app: limited, body: user("late") });
      // Without a token: refused as such, counting against no one; the document itself is public.
      await send(null, "GET", "/Schemas", 401, { app: limited });
      await send(null, "GET", "/openapi.json", 200, { app: limited });
    } finally {
      await limited.close();
    }
  });

  it("would report an answer that is not as documented: an attribute not listed, a status sent as a number, an unknown scimType", () => {
    const answer = (operation: string, status: number, body: unknown) => scim.problems(operation, { status, headers: { "content-type": "application/scim+json; charset=utf-8" }, text: JSON.stringify(body) });
    const error = { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", scimType: "invalidFilter", detail: "x" };
    expect(answer("GET /Users", 400, error)).toEqual([]);
    expect(answer("GET /Users", 400, { ...error, status: 400 })).toEqual([expect.stringMatching(/\/status must be string/)]);
    expect(answer("GET /Users", 400, { ...error, scimType: "badFilter" })).toEqual([expect.stringMatching(/\/scimType must be equal to one of the allowed values/)]);
    const group = { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], id: "g", displayName: "G", members: [], meta: { resourceType: "Group", created: new Date().toISOString(), lastModified: new Date().toISOString(), location: "https://rollcall.example/scim/v2/Groups/g" } };
    expect(answer("GET /Groups/{id}", 200, group)).toEqual([]);
    expect(answer("GET /Groups/{id}", 200, { ...group, owner: "x" })).toEqual([expect.stringMatching(/must NOT have additional properties \{"additionalProperty":"owner"\}/)]);
    expect(answer("GET /Groups/{id}", 200, { ...group, members: [{ value: "u", display: "U", type: "Device" }] })).toEqual([expect.stringMatching(/\/members\/0\/type must be equal to one of the allowed values/)]);
  });

  it("drove every documented operation, and met each error a provisioning client meets", () => {
    const answered = (operation: string) => [...(seen.get(operation) ?? [])].some((status) => status < 400 || (operation === "POST /Bulk" && status === 501));
    expect(scim.operations.filter((o) => !answered(o))).toEqual([]);
    const statuses = new Set([...seen.values()].flatMap((s) => [...s]));
    for (const status of [400, 401, 404, 409, 413, 415, 429, 501]) expect(statuses, String(status)).toContain(status);
    for (const scimType of ["invalidFilter", "invalidSyntax", "invalidValue", "noTarget", "uniqueness"]) expect(scimTypesSeen, scimType).toContain(scimType);
  });
});
