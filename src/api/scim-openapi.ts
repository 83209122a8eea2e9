import { attributeMutability, attributeTypes, attributeUniqueness, maxResults } from "../sources/scim/discovery.ts";
import { patchOps } from "../sources/scim/patch.ts";
import { scimMediaType, scimSchemas, scimTypes } from "../sources/scim/protocol.ts";
import { scimMemberTypes, scimPhoneTypes } from "../sources/scim/resources.ts";
import { scimDocumentPaths } from "./scim-openapi-paths.ts";

/**
 * The OpenAPI 3.1 document of /scim/v2, served apart from /api/v1's (at /scim/v2/openapi.json): its caller is a
 * provisioning client, not an application embedding Rollcall, with another credential (a SCIM source's secret
 * token), another error shape (SCIM's Error message) and another media type. Its schemas are the resources as this
 * server answers them (closed) and as it accepts them (open: attributes it does not keep are taken and ignored).
 */
type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const text = { type: "string" };
const orNull = (schema: Json) => ({ ...schema, type: [schema.type, "null"] });
const dateTime = { type: "string", format: "date-time" };
const closed = (properties: Record<string, unknown>, required: string[] = []): Json => ({ type: "object", additionalProperties: false, properties, ...(required.length && { required }) });
/** `words` in any case, as RFC 7644 3.5.2 asks of op values (Entra ID sends "Replace"). */
const anyCase = (words: readonly string[]) => `^\\s*(${words.map((w) => [...w].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join("")).join("|")})\\s*$`;
const urns = (...allowed: string[]) => ({ type: "array", items: { enum: allowed } });

const meta = (resourceType: string, timestamps: boolean) =>
  closed(
    { resourceType: { const: resourceType }, ...(timestamps && { created: dateTime, lastModified: dateTime }), location: { type: "string", format: "uri", description: "where the resource is read (the Location header of its creation)" } },
    ["resourceType", "location", ...(timestamps ? ["created", "lastModified"] : [])],
  );

const listOf = (item: string) =>
  closed(
    {
      schemas: urns(scimSchemas.listResponse),
      totalResults: { type: "integer", minimum: 0, description: "all that match, over every page" },
      startIndex: { type: "integer", minimum: 1 },
      itemsPerPage: { type: "integer", minimum: 0, description: "the resources on this page" },
      Resources: { type: "array", items: ref(item) },
    },
    ["schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"],
  );

const schemas: Record<string, Json> = {
  User: closed(
    {
      schemas: urns(scimSchemas.user, scimSchemas.enterprise),
      id: { ...text, description: "Rollcall's id of the user" },
      externalId: { ...text, description: "Entra ID's mailNickname by default" },
      userName: { ...text, description: "the user principal name, or the userName sent when it is no address" },
      name: closed({ givenName: text, familyName: text }),
      displayName: text,
      title: text,
      preferredLanguage: text,
      active: { type: "boolean", description: "false: the user is disabled in Rollcall" },
      emails: { type: "array", maxItems: 1, items: closed({ value: text, type: { const: "work" }, primary: { const: true } }, ["value", "type", "primary"]) },
      phoneNumbers: {
        type: "array",
        items: closed({ value: { ...text, description: "E.164" }, type: { enum: scimPhoneTypes } }, ["value", "type"]),
        description: "one entry of each type: the mobile phone, the first business phone as work, any others as other",
      },
      [scimSchemas.enterprise]: closed({
        department: text,
        employeeNumber: text,
        manager: closed({ value: { ...text, description: "the manager's id" }, $ref: { ...text, description: "the manager's resource" }, displayName: text }, ["value", "$ref", "displayName"]),
      }),
      meta: meta("User", true),
    },
    ["schemas", "id", "userName", "active", "meta"],
  ),
  UserInput: {
    type: "object",
    description:
      "A user as POST and PUT take it. Attribute names in any case (RFC 7643 2.1); null is as absent; attributes not listed (addresses, roles…) are accepted and not kept. The enterprise extension's manager names the manager by id (their SCIM id, a user of the workspace): one that is no such user (nor themselves, nor one reporting to them) is left out, with a warning in the user's history. The userName is the user principal name when it is an address (otherwise kept as the custom attribute scimUserName). Of emails, the primary entry (else the work one) is the email; of phoneNumbers, the mobile one and the others (a fax is left out), read as E.164 in the source's country (one that cannot be read is left out, with a warning in the user's history).",
    required: ["userName"],
    properties: {
      schemas: { type: "array", items: text },
      externalId: orNull(text),
      userName: { ...text, minLength: 1 },
      name: orNull({ type: "object", properties: { givenName: orNull(text), familyName: orNull(text), formatted: orNull({ ...text, description: "the display name when displayName is not sent" }) } }),
      displayName: orNull(text),
      title: orNull(text),
      preferredLanguage: orNull({ ...text, description: "a language tag (en-US); another is left out with a warning" }),
      active: { anyOf: [{ type: "boolean" }, { type: "string", pattern: anyCase(["true", "false"]), description: 'Entra ID\'s "True" and "False"' }, { type: "null" }], description: "absent or null: true" },
      emails: orNull({ type: "array", items: { type: "object", properties: { value: orNull(text), type: orNull(text), primary: { type: ["boolean", "string", "null"] } } } }),
      phoneNumbers: orNull({ type: "array", items: { type: "object", properties: { value: orNull(text), type: orNull(text), primary: { type: ["boolean", "string", "null"] } } } }),
      [scimSchemas.enterprise]: orNull({
        type: "object",
        properties: {
          department: orNull(text),
          employeeNumber: orNull(text),
          manager: { anyOf: [{ type: "object", properties: { value: orNull(text) } }, text, { type: "null" }], description: "the manager's id, as {value} or the id alone; empty or null: none" },
        },
      }),
    },
  },
  Group: closed(
    {
      schemas: urns(scimSchemas.group),
      id: { ...text, description: "Rollcall's id of the group" },
      externalId: { ...text, description: "Entra ID's objectId by default" },
      displayName: { ...text, description: "unique in the workspace" },
      members: {
        type: "array",
        items: closed({ value: { ...text, description: "the member's id" }, display: text, type: { enum: scimMemberTypes } }, ["value", "display", "type"]),
        description: "left out with excludedAttributes=members (or attributes not naming it)",
      },
      meta: meta("Group", true),
    },
    ["schemas", "id", "displayName", "meta"],
  ),
  GroupInput: {
    type: "object",
    description: "A group as POST and PUT take it: attribute names in any case; members must be users or groups of the same source (another is a 400 naming it).",
    required: ["displayName"],
    properties: {
      schemas: { type: "array", items: text },
      externalId: orNull(text),
      displayName: { ...text, minLength: 1 },
      members: orNull({ type: "array", items: { type: "object", required: ["value"], properties: { value: { ...text, minLength: 1 }, display: orNull(text), $ref: orNull(text) } } }),
    },
  },
  PatchOp: {
    type: "object",
    description:
      'RFC 7644 3.5.2, as Entra ID sends it: op in any case; a path with a value filter (emails[type eq "work"].value, members[value eq "…"]); no path, with a value whose keys are paths ("name.givenName"); members removed by a filter or by a value list.',
    required: ["Operations"],
    properties: {
      schemas: { type: "array", items: text, description: `["${scimSchemas.patchOp}"]` },
      Operations: {
        type: "array",
        minItems: 1,
        items: { type: "object", required: ["op"], properties: { op: { type: "string", pattern: anyCase(patchOps), description: patchOps.join(", ") + ", in any case" }, path: text, value: { description: "required but for remove" } } },
      },
    },
  },
  Error: closed(
    {
      schemas: urns(scimSchemas.error),
      status: { type: "string", pattern: "^[1-5][0-9]{2}$", description: "the HTTP status, as a string (RFC 7644 3.12)" },
      scimType: { enum: scimTypes, description: "what kind of 400 (or uniqueness, for a 409)" },
      detail: { ...text, description: "what is wrong and what to do, for a person reading Entra ID's provisioning logs" },
    },
    ["schemas", "status", "detail"],
  ),
  UserList: listOf("User"),
  GroupList: listOf("Group"),
  ServiceProviderConfig: closed(
    {
      schemas: urns(scimSchemas.serviceProviderConfig),
      patch: closed({ supported: { type: "boolean" } }, ["supported"]),
      bulk: closed({ supported: { type: "boolean" }, maxOperations: { type: "integer" }, maxPayloadSize: { type: "integer" } }, ["supported", "maxOperations", "maxPayloadSize"]),
      filter: closed({ supported: { type: "boolean" }, maxResults: { type: "integer", description: `${maxResults} here` } }, ["supported", "maxResults"]),
      changePassword: closed({ supported: { type: "boolean" } }, ["supported"]),
      sort: closed({ supported: { type: "boolean" } }, ["supported"]),
      etag: closed({ supported: { type: "boolean" } }, ["supported"]),
      authenticationSchemes: { type: "array", items: closed({ type: text, name: text, description: text, primary: { type: "boolean" } }, ["type", "name", "description"]) },
      meta: meta("ServiceProviderConfig", false),
    },
    ["schemas", "patch", "bulk", "filter", "changePassword", "sort", "etag", "authenticationSchemes", "meta"],
  ),
  ResourceType: closed(
    {
      schemas: urns(scimSchemas.resourceType),
      id: text,
      name: text,
      endpoint: text,
      schema: text,
      schemaExtensions: { type: "array", items: closed({ schema: text, required: { type: "boolean" } }, ["schema", "required"]) },
      meta: meta("ResourceType", false),
    },
    ["schemas", "id", "name", "endpoint", "schema", "meta"],
  ),
  ResourceTypeList: listOf("ResourceType"),
  SchemaAttribute: closed(
    {
      name: text,
      type: { enum: attributeTypes },
      multiValued: { type: "boolean" },
      required: { type: "boolean" },
      caseExact: { type: "boolean" },
      mutability: { enum: attributeMutability },
      returned: { const: "default" },
      uniqueness: { enum: attributeUniqueness },
      subAttributes: { type: "array", items: ref("SchemaAttribute") },
    },
    ["name", "type", "multiValued", "required", "caseExact", "mutability", "returned", "uniqueness"],
  ),
  Schema: closed({ schemas: urns(scimSchemas.schema), id: text, name: text, attributes: { type: "array", items: ref("SchemaAttribute") }, meta: meta("Schema", false) }, ["schemas", "id", "name", "attributes", "meta"]),
  SchemaList: listOf("Schema"),
};

export function scimOpenApiDocument(options: { serverUrl: string }): Json {
  return {
    openapi: "3.1.0",
    info: {
      title: "Rollcall SCIM 2.0",
      version: "2.0",
      description:
        "SCIM 2.0 (RFC 7643, RFC 7644) for Microsoft Entra ID's provisioning service: the Tenant URL and Secret Token of a Rollcall SCIM source. " +
        `Every request but this document's sends the Secret Token as Authorization: Bearer (discovery too: Entra ID sends it with each request). Answers and errors are ${scimMediaType}; an error is SCIM's Error message. ` +
        "The token names its workspace and source: it reaches no other, and Rollcall's REST API (/api/v1/openapi.json) does not take it.",
    },
    servers: [{ url: options.serverUrl, description: "the source's Tenant URL" }],
    tags: [
      { name: "Users", description: "the source's users" },
      { name: "Groups", description: "the source's groups and their members" },
      { name: "Discovery", description: "what this server supports (RFC 7644 4)" },
    ],
    paths: scimDocumentPaths(),
    components: {
      schemas,
      securitySchemes: { scimToken: { type: "http", scheme: "bearer", description: "The SCIM source's Secret Token (rcscim_…), from `rollcall sources add scim` or `--new-scim-token`: not a Rollcall API token" } },
    },
    security: [{ scimToken: [] }],
  };
}
