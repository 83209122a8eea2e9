import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountCaller, multipartFile, testApi, tokenCaller, type TestApi } from "./support.ts";
import { routeModules } from "../../src/api/routes/index.ts";
import { servedAt, type Route } from "../../src/api/route.ts";
import { activityKinds, membershipActionPattern, runKinds } from "../../src/domain/change.ts";

const operationKey = (r: Route) => `${r.method} ${servedAt(r, "/api/v1").replace(/:(\w+)/g, "{$1}")}`;

describe("OpenAPI document", () => {
  let api: TestApi;
  let doc: any;

  beforeAll(async () => {
    api = await testApi("pglite");
    const reply = await api.app.inject({ method: "GET", url: "/api/v1/openapi.json" });
    expect(reply.statusCode).toBe(200);
    doc = reply.json();
  });
  afterAll(() => api?.close());

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
    );

  it("is OpenAPI 3.1 with cookie and bearer security schemes and a shared Error schema", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes).toMatchObject({
      cookieSession: { type: "apiKey", in: "cookie", name: "rollcall_session" },
      bearerToken: { type: "http", scheme: "bearer" },
    });
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message", "details"]);
    expect(doc.components.schemas.User.properties).toHaveProperty("displayName");
    expect(JSON.stringify(doc.components.schemas.User)).not.toMatch(/pin|password/i);
    expect(JSON.stringify(doc)).not.toContain("#/$defs/");
  });

  it("lists every registered route, and every documented route is served", () => {
    const registered = routeModules.flatMap((m) => m.routes.map(operationKey));
    const documented = operations().map((o) => `${o.method} ${o.path}`);
    expect(documented.sort()).toEqual([...registered, "GET /api/v1/openapi.json"].sort());
    for (const { method, path } of operations()) {
      expect(api.app.hasRoute({ method: method as "GET", url: path.replace(/\{(\w+)\}/g, ":$1") }), `${method} ${path}`).toBe(true);
    }
    // The routes the product promises, spelled out so a dropped one fails here.
    for (const expected of [
      "GET /api/v1/health", "GET /api/v1/health/live", "POST /api/v1/auth/login", "POST /api/v1/auth/logout", "GET /api/v1/auth/me",
      "GET /api/v1/workspaces", "POST /api/v1/workspaces", "GET /api/v1/workspaces/{workspace}", "PATCH /api/v1/workspaces/{workspace}",
      "GET /api/v1/workspaces/{workspace}/users", "POST /api/v1/workspaces/{workspace}/users",
      "GET /api/v1/workspaces/{workspace}/users/{id}", "PATCH /api/v1/workspaces/{workspace}/users/{id}", "DELETE /api/v1/workspaces/{workspace}/users/{id}",
      "POST /api/v1/workspaces/{workspace}/users/{id}/disable", "GET /api/v1/workspaces/{workspace}/users/{id}/changes",
      "GET /api/v1/workspaces/{workspace}/groups", "POST /api/v1/workspaces/{workspace}/groups",
      "GET /api/v1/workspaces/{workspace}/groups/{id}", "PATCH /api/v1/workspaces/{workspace}/groups/{id}", "DELETE /api/v1/workspaces/{workspace}/groups/{id}",
      "POST /api/v1/workspaces/{workspace}/groups/{id}/members", "DELETE /api/v1/workspaces/{workspace}/groups/{id}/members/{member}",
      "GET /api/v1/workspaces/{workspace}/groups/{id}/changes",
      "GET /api/v1/workspaces/{workspace}/tokens", "POST /api/v1/workspaces/{workspace}/tokens", "DELETE /api/v1/workspaces/{workspace}/tokens/{id}",
      "GET /metrics",
    ]) {
      expect(documented).toContain(expected);
    }
  });

  const publicRoutes = () =>
    new Set([
      "GET /api/v1/openapi.json",
      ...routeModules.flatMap((m) => m.routes.filter((r) => r.access === "public").map(operationKey)),
    ]);

  it("documents the change filters' actions from the code's own kinds: one of them, or one group's membership changes", async () => {
    const action = (path: string) => doc.paths[path].get.parameters.find((p: { name: string }) => p.name === "action").schema;
    for (const [path, kinds] of [["/api/v1/workspaces/{workspace}/activity", activityKinds], ["/api/v1/workspaces/{workspace}/runs/{id}/changes", runKinds]] as const) {
      expect(action(path).anyOf, path).toEqual([{ type: "string", enum: [...kinds] }, { type: "string", pattern: membershipActionPattern }]);
    }
    const admin = await tokenCaller(api, "default", "admin");
    for (const accepted of ["add to group", "add to group Pilots", "create token"]) expect((await admin("GET", `workspaces/default/activity?action=${encodeURIComponent(accepted)}`)).status, accepted).toBe(200);
    expect((await admin("GET", "workspaces/default/activity?action=created")).status).toBe(400);
  });

  it("describes each operation's path parameters, query, body, responses and security", () => {
    for (const open of ["GET /api/v1/health", "POST /api/v1/auth/login", "GET /api/v1/openapi.json"]) expect(publicRoutes()).toContain(open);
    expect(publicRoutes()).not.toContain("GET /api/v1/workspaces/{workspace}/users");
    for (const { path, method, operation } of operations()) {
      const where = `${method} ${path}`;
      expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(operation.parameters.filter((p: any) => p.in === "path").map((p: any) => p.name), where).toEqual(pathParams);
      expect(Object.keys(operation.responses).some((s) => /^[23]/.test(s)), where).toBe(true);
      // The sign-in redirects a browser opens answer errors with a page; every other route with the Error JSON.
      if (/\/auth\/microsoft\/(start|callback|frontchannel-logout)$/.test(path)) expect(Object.keys(operation.responses["500"].content), where).toEqual(["text/html"]);
      else expect(operation.responses["500"].content["application/json"].schema.$ref, where).toBe("#/components/schemas/Error");
      const isPublic = publicRoutes().has(`${method} ${path}`);
      // /metrics takes no session nor API token, but the scrape token of its own scheme.
      const security = path === "/metrics" ? [{ metricsToken: [] }] : isPublic ? [] : [{ cookieSession: [] }, { bearerToken: [] }];
      expect(operation.security, where).toEqual(security);
      if (!isPublic) expect(operation.responses["401"], where).toBeDefined();
    }
    const metrics = doc.paths["/metrics"].get;
    expect(Object.keys(metrics.responses["200"].content)).toEqual(["text/plain"]);
    expect(metrics.responses["401"].description).toContain("ROLLCALL_METRICS_TOKEN");
    expect(metrics.responses["404"].description).toContain("ROLLCALL_METRICS_TOKEN is not set");
    expect(doc.components.securitySchemes.metricsToken).toMatchObject({ type: "http", scheme: "bearer" });
    const users = doc.paths["/api/v1/workspaces/{workspace}/users"];
    const query = Object.fromEntries(users.get.parameters.filter((p: any) => p.in === "query").map((p: any) => [p.name, p.schema]));
    expect(Object.keys(query).sort()).toEqual(["after", "count", "department", "enabled", "group", "hasDepartment", "limit", "manager", "nested", "offset", "order", "q", "sort", "source", "sourceType", "tag"]);
    expect(query.limit).toMatchObject({ type: "integer", minimum: 1, maximum: 500, default: 50 });
    expect(query.sort.enum).toEqual(["displayName", "email", "createdAt", "updatedAt", "source"]);
    const list = users.get.responses["200"].content["application/json"].schema;
    expect(list.properties.items.items.$ref).toBe("#/components/schemas/ListedUser"); // a User with hasPhoto
    expect(doc.components.schemas.ListedUser.properties.hasPhoto).toMatchObject({ type: "boolean" });
    expect(users.post.requestBody.content["application/json"].schema.required).toEqual(["displayName"]);
    expect(users.post.requestBody.content["application/json"].schema.properties.manager.description).toContain("the user's manager");
    expect(users.post.responses["201"]).toBeDefined();
    for (const path of ["/api/v1/workspaces/{workspace}/users/{id}", "/api/v1/workspaces/{workspace}/groups/{id}", "/api/v1/workspaces/{workspace}"]) {
      expect(doc.paths[path].patch.requestBody.content["application/json"].schema.type).toBe("object");
    }
    expect(doc.paths["/api/v1/auth/login"].post.requestBody.content["application/json"].schema.required).toEqual(["email", "password"]);
    expect(doc.paths["/api/v1/auth/login"].post.responses["429"]).toBeDefined();

    // An upload's options are form fields beside the file (text; the mapping as JSON), and a mapping in a query is JSON.
    const upload = doc.paths["/api/v1/workspaces/{workspace}/imports"].post.requestBody.content["multipart/form-data"].schema;
    expect(Object.keys(upload.properties)).toEqual(["file", "sheet", "source", "encoding", "partial", "updateExisting", "mapping"]);
    expect(upload.properties.partial.type).toBe("string");
    const preview = doc.paths["/api/v1/workspaces/{workspace}/imports/{id}"].get;
    expect(preview.parameters.find((p: any) => p.name === "mapping")).toMatchObject({ in: "query", content: { "application/json": { schema: { type: "object" } } } });
    expect(Object.keys(preview.responses)).toEqual(expect.arrayContaining(["409", "422"]));
    // A commit's options that differ from the latest preview's are refused, and documented.
    expect(doc.paths["/api/v1/workspaces/{workspace}/imports/{id}/commit"].post.responses["409"].description).toContain("import_preview_changed");
    // Owner routes naming an account answer 404; every operation may meet 431, answered in JSON before any route (a browser flow's too).
    expect(doc.paths["/api/v1/accounts/{id}"].delete.responses["404"]).toBeDefined();
    for (const { path, method, operation } of operations()) expect(operation.responses["431"].content["application/json"].schema.$ref, `${method} ${path}`).toBe("#/components/schemas/Error");
  });

  it("documents what the routes that answer themselves send, and a body that may be left out as not required", async () => {
    const as = await tokenCaller(api, "default", "admin");
    const documented = (method: string, url: string, status: number) => doc.paths[`/api/v1/${url.split("?")[0]}`.replace(/\/default(?=\/|$)/, "/{workspace}")]?.[method.toLowerCase()]?.responses[String(status)];
    for (const url of ["workspaces/default/activity.csv", "workspaces/default/imports/template?format=xlsx", "workspaces/default/imports/template?format=csv", "workspaces/default/exports?format=xlsx", "auth/microsoft/start"]) {
      const reply = await as("GET", url);
      const type = String(reply.headers["content-type"]).split(";")[0]!;
      const answer = documented("GET", url, reply.status);
      expect(answer, `${url} answered ${reply.status}`).toBeDefined();
      expect(Object.keys(answer.content ?? {}), `${url} answered ${type}`).toContain(type);
    }
    expect(doc.paths["/api/v1/auth/microsoft/callback"].get.responses["302"].headers.Location).toBeDefined();
    expect(doc.paths["/api/v1/auth/microsoft/callback"].get.responses["200"]).toBeUndefined();

    const admin = await accountCaller(api, "openapi-admin@example.com", { workspace: "default", role: "admin" });
    const created = await admin("POST", "workspaces/default/tokens");
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(doc.paths["/api/v1/workspaces/{workspace}/tokens"].post.requestBody.required).toBe(false);
    expect(doc.paths["/api/v1/workspaces/{workspace}/sources/{name}/sync"].post.requestBody.required).toBe(false);
    expect(doc.paths["/api/v1/workspaces/{workspace}/users"].post.requestBody.required).toBe(true);
  });

  it("documents the errors the upload, the commit and the sign-in answer", async () => {
    const as = await tokenCaller(api, "default", "admin");
    const imports = "/api/v1/workspaces/{workspace}/imports";
    expect(doc.paths[imports].post.requestBody.content["multipart/form-data"].schema.required).toEqual(["file"]);
    const upload = async (fileName: string, content: string, part?: string) => {
      const { payload, headers } = multipartFile(fileName, content, part);
      const reply = await api.app.inject({ method: "POST", url: "/api/v1/workspaces/default/imports", payload, headers: { ...headers, authorization: `Bearer ${as.token}` } });
      return { status: reply.statusCode, code: reply.json().error?.code as string | undefined };
    };
    const answers = [await upload("empty.csv", ""), await upload("users.csv", "Email,Name\n", "attachment"), await upload("users.csv", "Email,Name\na@example.com,A\n")];
    expect(answers.map((a) => a.code)).toEqual(["import_invalid", "invalid_input", undefined]);
    for (const { status } of answers) expect(doc.paths[imports].post.responses[String(status)], String(status)).toBeDefined();
    expect(Object.keys(doc.paths[`${imports}/{id}/commit`].post.responses)).toEqual(expect.arrayContaining(["200", "409", "422", "503"]));
    expect(doc.paths["/api/v1/workspaces/{workspace}/sources/{name}/find-groups"].post.responses["502"]).toBeDefined();
    const refused = await api.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { email: "nobody@example.com", password: "not a password" } });
    expect(doc.paths["/api/v1/auth/login"].post.responses[String(refused.statusCode)]).toBeDefined();
    // Optimistic concurrency: the ETag a GET answers, the If-Match a PATCH takes and its 412, where a client generator sees them.
    for (const record of ["users/{id}", "groups/{id}", "sources/{name}"]) {
      const path = doc.paths[`/api/v1/workspaces/{workspace}/${record}`];
      expect(path.get.responses["200"].headers.ETag, record).toBeDefined();
      expect(path.patch.parameters.find((p: { name: string }) => p.name === "If-Match"), record).toMatchObject({ in: "header", required: false });
      expect(Object.keys(path.patch.responses), record).toEqual(expect.arrayContaining(["200", "412"]));
    }
  });
});

describe("OpenAPI for a file upload route", () => {
  it("documents a multipart/form-data body with the file part", async () => {
    const { openApiDocument } = await import("../../src/api/openapi.ts");
    const { route } = await import("../../src/api/route.ts");
    const doc: any = openApiDocument([
      { tag: "Uploads", routes: [route({ method: "POST", url: "/workspaces/:workspace/uploads", summary: "upload", access: "workspace", upload: { field: "file", description: "CSV or .xlsx" }, handler: async () => undefined })] },
    ]);
    const op = doc.paths["/api/v1/workspaces/{workspace}/uploads"].post;
    expect(op.requestBody.content["multipart/form-data"].schema).toEqual({
      type: "object",
      properties: { file: { type: "string", contentMediaType: "application/octet-stream", description: "CSV or .xlsx" } },
      required: ["file"],
    });
    expect(op.responses["413"]).toBeDefined();
    // Path parameters come from the URL even when the route has no params schema.
    expect(op.parameters).toEqual([{ name: "workspace", in: "path", required: true, schema: { type: "string" } }]);
  });
});
