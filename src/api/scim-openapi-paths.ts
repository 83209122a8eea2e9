import { maxResults } from "../sources/scim/discovery.ts";
import { scimMediaType } from "../sources/scim/protocol.ts";

/** The operations of the SCIM document (scim-openapi.ts), each with every answer it may give. */
type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const scim = (schema: Json) => ({ [scimMediaType]: { schema } });
const header = (description: string) => ({ description, schema: { type: "string" } });

const error = (description: string, headers?: Record<string, Json>) => ({ description, ...(headers && { headers }), content: scim(ref("Error")) });
/** What every request with the token may answer, whatever it asks. */
const always = {
  "401": error("no Authorization: Bearer, or a token that is no SCIM source's (or one a newer token replaced)", { "WWW-Authenticate": header('Bearer realm="scim"') }),
  "429": error("the token's requests a minute (ROLLCALL_SCIM_REQUESTS_PER_MINUTE) are spent", { "Retry-After": header("seconds until the minute has passed") }),
  "500": error("logged on the server, never detailed here"),
  "503": error("the database cannot be reached; try again once it is back"),
};
const missing = (what: string) => ({ "404": error(`no ${what} of this source has that id`) });
const body = (schema: string, description: string) => ({
  requestBody: { required: true, description, content: { [scimMediaType]: { schema: ref(schema) }, "application/json": { schema: ref(schema) } } },
});
const bodyErrors = {
  "413": error("the body is larger than 1 MiB"),
  "415": error(`a body that is neither ${scimMediaType} nor application/json`),
};
const unique = { "409": error("uniqueness: the userName or email is another source's user, or the displayName is another group's") };

const path = (name: string, description: string) => ({ name, in: "path", required: true, description, schema: { type: "string" } });
const query = (name: string, description: string, schema: Json = { type: "string" }) => ({ name, in: "query", required: false, description, schema });
const paging = [
  query("startIndex", "the first resource of the page, counting from 1 (below 1 is 1)", { type: "string", pattern: "^-?[0-9]+$" }),
  query("count", `how many on the page, ${maxResults} at most (and by default)`, { type: "string", pattern: "^-?[0-9]+$" }),
];
const memberSelection = [
  query("excludedAttributes", "members: the groups without their members (how Entra ID looks groups up)"),
  query("attributes", "attributes to answer, comma-separated: members are left out unless named"),
];

const ok = (status: string, schema: string, description: string, headers?: Record<string, Json>) => ({ [status]: { description, ...(headers && { headers }), content: scim(ref(schema)) } });
const noContent = (description: string) => ({ "204": { description } });

function operation(tag: string, id: string, summary: string, spec: { parameters?: Json[]; requestBody?: Json; responses: Record<string, Json>; description?: string }): Json {
  return { operationId: id, summary, ...(spec.description && { description: spec.description }), tags: [tag], parameters: spec.parameters ?? [], ...(spec.requestBody && { requestBody: spec.requestBody }), responses: { ...spec.responses, ...always } };
}

const filterInvalid = { "400": error("invalidFilter: a filter this server does not take (or, or an operator but eq); invalidValue: startIndex or count not a whole number") };
const resourceInvalid = (what: string) => ({ "400": error(`invalidSyntax: no JSON, or not a ${what} object; invalidValue: an attribute Rollcall cannot take, named in detail`) });
const patchInvalid = { "400": error("invalidSyntax: no Operations or an op but add, replace or remove; invalidPath, noTarget, invalidValue: an operation's path or value, named in detail") };

export function scimDocumentPaths(): Record<string, Record<string, Json>> {
  const userId = [path("id", "the user's id (the id of its creation's answer)")];
  const groupId = [path("id", "the group's id")];
  return {
    "/Users": {
      get: operation("Users", "listUsers", "The source's users, a page at a time, filtered", {
        description: 'filter: eq comparisons joined by and, on userName, externalId, id, emails[type eq "work"].value or manager (the manager id). Test Connection sends a userName that matches no one and expects an empty list.',
        parameters: [query("filter", 'e.g. userName eq "ada@contoso.com"'), ...paging],
        responses: { ...ok("200", "UserList", "a page of users (Resources empty when none matches)"), ...filterInvalid },
      }),
      post: operation("Users", "createUser", "Provision a user (a user added by hand or imported with its email or UPN is linked)", {
        ...body("UserInput", "the user"),
        responses: { ...ok("201", "User", "the user as created", { Location: header("its meta.location") }), ...resourceInvalid("User"), ...unique, ...bodyErrors },
      }),
    },
    "/Users/{id}": {
      get: operation("Users", "getUser", "One of the source's users", { parameters: userId, responses: { ...ok("200", "User", "the user"), ...missing("user") } }),
      put: operation("Users", "replaceUser", "Replace a user: what it leaves out is cleared", {
        parameters: userId,
        ...body("UserInput", "the user"),
        responses: { ...ok("200", "User", "the user as replaced"), ...resourceInvalid("User"), ...missing("user"), ...unique, ...bodyErrors },
      }),
      patch: operation("Users", "patchUser", "Change a user's attributes (active false disables the user)", {
        parameters: userId,
        ...body("PatchOp", "the operations, applied together or not at all"),
        responses: { ...ok("200", "User", "the user as changed"), ...patchInvalid, ...missing("user"), ...unique, ...bodyErrors },
      }),
      delete: operation("Users", "deleteUser", "Deprovision a user: disabled, kept or deleted as the source's on-remove says", { parameters: userId, responses: { ...noContent("done"), ...missing("user") } }),
    },
    "/Groups": {
      get: operation("Groups", "listGroups", "The source's groups, a page at a time, filtered", {
        description: "filter: eq comparisons joined by and, on displayName, externalId, id or members (a member's id).",
        parameters: [query("filter", 'e.g. displayName eq "Pilots"'), ...paging, ...memberSelection],
        responses: { ...ok("200", "GroupList", "a page of groups"), ...filterInvalid },
      }),
      post: operation("Groups", "createGroup", "Provision a group", {
        ...body("GroupInput", "the group"),
        responses: { ...ok("201", "Group", "the group as created, with its members", { Location: header("its meta.location") }), ...resourceInvalid("Group"), ...unique, ...bodyErrors },
      }),
    },
    "/Groups/{id}": {
      get: operation("Groups", "getGroup", "One of the source's groups", { parameters: [...groupId, ...memberSelection], responses: { ...ok("200", "Group", "the group"), ...missing("group") } }),
      put: operation("Groups", "replaceGroup", "Replace a group, its members too", {
        parameters: groupId,
        ...body("GroupInput", "the group"),
        responses: { ...ok("200", "Group", "the group as replaced, with its members"), ...resourceInvalid("Group"), ...missing("group"), ...unique, ...bodyErrors },
      }),
      patch: operation("Groups", "patchGroup", "Rename a group, add or remove members", {
        parameters: groupId,
        ...body("PatchOp", "the operations, applied together or not at all"),
        responses: { ...noContent("done: no body (RFC 7644 3.5.2), a group of thousands is not listed back on each change"), ...patchInvalid, ...missing("group"), ...unique, ...bodyErrors },
      }),
      delete: operation("Groups", "deleteGroup", "Deprovision a group (its members stay)", { parameters: groupId, responses: { ...noContent("done"), ...missing("group") } }),
    },
    "/Bulk": {
      post: operation("Discovery", "bulk", "Bulk operations: not supported", {
        description: "ServiceProviderConfig says bulk.supported false: an operation a service provider does not support is a 501 (RFC 7644 3.12). Send each operation to /Users or /Groups.",
        requestBody: { required: false, content: { [scimMediaType]: { schema: {} }, "application/json": { schema: {} } } },
        responses: { "501": error("not supported: send each operation as its own request"), "400": error("invalidSyntax: a body that is no JSON"), ...bodyErrors },
      }),
    },
    "/ServiceProviderConfig": { get: operation("Discovery", "getServiceProviderConfig", "What this server supports", { responses: ok("200", "ServiceProviderConfig", "patch and filter supported; bulk, sort, etag and changePassword not") }) },
    "/ResourceTypes": { get: operation("Discovery", "listResourceTypes", "User and Group", { responses: ok("200", "ResourceTypeList", "both resource types") }) },
    "/ResourceTypes/{id}": {
      get: operation("Discovery", "getResourceType", "One resource type, at its meta.location", { parameters: [path("id", "User or Group, in any case")], responses: { ...ok("200", "ResourceType", "the resource type"), "404": error("no such resource type: detail lists those there are") } }),
    },
    "/Schemas": { get: operation("Discovery", "listSchemas", "The attributes Rollcall keeps of users (core and enterprise) and groups", { responses: ok("200", "SchemaList", "the three schemas") }) },
    "/Schemas/{id}": {
      get: operation("Discovery", "getSchema", "One schema, at its meta.location", { parameters: [path("id", "the schema's URN, in any case")], responses: { ...ok("200", "Schema", "the schema"), "404": error("no such schema: detail lists those there are") } }),
    },
    "/openapi.json": {
      get: {
        operationId: "getOpenApiDocument",
        summary: "This OpenAPI 3.1 document",
        tags: ["Discovery"],
        security: [],
        parameters: [],
        responses: { "200": { description: "this document", content: { "application/json": { schema: { type: "object", properties: { openapi: { const: "3.1.0" }, paths: { type: "object" } }, required: ["openapi", "paths"] } } } } },
      },
    },
  };
}
