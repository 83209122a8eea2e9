import { scimSchemas } from "./protocol.ts";
import { scimPhoneTypes } from "./resources.ts";

/** What /ServiceProviderConfig, /ResourceTypes and /Schemas say (RFC 7643 5-7): what this server supports. Pure. */
export const maxResults = 200;

export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: [scimSchemas.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [{ type: "oauthbearertoken", name: "Secret token", description: "The source's secret token, as Authorization: Bearer <token>", primary: true }],
    meta: { resourceType: "ServiceProviderConfig", location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceTypes(baseUrl: string) {
  return [
    { schemas: [scimSchemas.resourceType], id: "User", name: "User", endpoint: "/Users", schema: scimSchemas.user, schemaExtensions: [{ schema: scimSchemas.enterprise, required: false }], meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/User` } },
    { schemas: [scimSchemas.resourceType], id: "Group", name: "Group", endpoint: "/Groups", schema: scimSchemas.group, meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/Group` } },
  ];
}

/** The values the attribute definitions below take (RFC 7643 7), for the SCIM OpenAPI document. */
export const attributeTypes = ["string", "boolean", "complex", "reference", "dateTime"] as const;
export const attributeUniqueness = ["none", "server"] as const;
export const attributeMutability = ["readWrite", "readOnly"] as const;

type Attribute = {
  name: string;
  type?: (typeof attributeTypes)[number];
  multiValued?: boolean;
  required?: boolean;
  subAttributes?: Attribute[];
  uniqueness?: (typeof attributeUniqueness)[number];
  mutability?: (typeof attributeMutability)[number];
};

const attr = (a: Attribute): Record<string, unknown> => ({
  name: a.name,
  type: a.type ?? "string",
  multiValued: a.multiValued ?? false,
  required: a.required ?? false,
  caseExact: false,
  mutability: a.mutability ?? "readWrite",
  returned: "default",
  uniqueness: a.uniqueness ?? "none",
  ...(a.subAttributes && { subAttributes: a.subAttributes.map(attr) }),
});

const typedValue = (types: string[]) => [{ name: "value" }, { name: "type", canonicalValues: types } as Attribute, { name: "primary", type: "boolean" } as Attribute];

export function schemaDefinitions(baseUrl: string) {
  const schema = (id: string, name: string, attributes: Attribute[]) => ({ schemas: [scimSchemas.schema], id, name, attributes: attributes.map(attr), meta: { resourceType: "Schema", location: `${baseUrl}/Schemas/${id}` } });
  return [
    schema(scimSchemas.user, "User", [
      { name: "userName", required: true, uniqueness: "server" },
      { name: "name", type: "complex", subAttributes: [{ name: "givenName" }, { name: "familyName" }, { name: "formatted" }] },
      { name: "displayName" },
      { name: "title" },
      { name: "preferredLanguage" },
      { name: "active", type: "boolean" },
      { name: "emails", type: "complex", multiValued: true, subAttributes: typedValue(["work"]) },
      { name: "phoneNumbers", type: "complex", multiValued: true, subAttributes: typedValue([...scimPhoneTypes]) },
    ]),
    schema(scimSchemas.enterprise, "EnterpriseUser", [
      { name: "department" },
      { name: "employeeNumber" },
      { name: "manager", type: "complex", subAttributes: [{ name: "value" }, { name: "$ref", type: "reference", mutability: "readOnly" }, { name: "displayName", mutability: "readOnly" }] },
    ]),
    schema(scimSchemas.group, "Group", [
      { name: "displayName", required: true, uniqueness: "server" },
      { name: "members", type: "complex", multiValued: true, subAttributes: [{ name: "value" }, { name: "display", mutability: "readOnly" }, { name: "type" }] },
    ]),
  ];
}
