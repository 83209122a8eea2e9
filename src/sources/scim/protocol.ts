import { RollcallError, type ErrorCode } from "../../errors.ts";

/** SCIM 2.0's fixed names (RFC 7643, RFC 7644) and its message shapes. Pure. */
export const scimSchemas = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  group: "urn:ietf:params:scim:schemas:core:2.0:Group",
  enterprise: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
  listResponse: "urn:ietf:params:scim:api:messages:2.0:ListResponse",
  patchOp: "urn:ietf:params:scim:api:messages:2.0:PatchOp",
  error: "urn:ietf:params:scim:api:messages:2.0:Error",
  serviceProviderConfig: "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
  resourceType: "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
  schema: "urn:ietf:params:scim:schemas:core:2.0:Schema",
} as const;

export const scimMediaType = "application/scim+json";

/** RFC 7644 3.12's scimType values this server answers with. */
export const scimTypes = ["invalidFilter", "invalidPath", "invalidValue", "invalidSyntax", "uniqueness", "mutability", "noTarget", "tooMany"] as const;
export type ScimType = (typeof scimTypes)[number];

/** A request SCIM refuses, with the scimType RFC 7644 3.12 names for it; `field`: the attribute (or path) at fault. */
export function scimInvalid(scimType: ScimType, detail: string, field?: string): RollcallError {
  return new RollcallError("invalid_input", detail, { scimType, ...(field && { fields: [{ field, message: detail }] }) });
}

const scimTypeOfCode: Partial<Record<ErrorCode, ScimType>> = { invalid_input: "invalidValue", conflict: "uniqueness" };

/** An error as SCIM's Error message (RFC 7644 3.12): status as a string, scimType for a 400 or a 409. */
export function scimErrorBody(error: RollcallError): { schemas: string[]; status: string; scimType?: ScimType; detail: string } {
  const scimType = (error.details.scimType as ScimType | undefined) ?? scimTypeOfCode[error.code];
  return { schemas: [scimSchemas.error], status: String(error.status), ...(scimType && { scimType }), detail: error.message };
}

/** A page of resources as SCIM lists them (RFC 7644 3.4.2). `startIndex` counts from 1. */
export function listResponse<T>(resources: T[], page: { total: number; startIndex: number }) {
  return { schemas: [scimSchemas.listResponse], totalResults: page.total, startIndex: page.startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** startIndex and count as RFC 7644 3.4.2.4 reads them: below 1 is 1, a negative count is 0; count at most `max`. */
export function pageOf(query: { startIndex?: unknown; count?: unknown }, max: number): { startIndex: number; count: number } {
  const number = (value: unknown, name: string): number | undefined => {
    if (value === undefined || value === "") return undefined;
    const n = Number(value);
    if (!Number.isInteger(n)) throw scimInvalid("invalidValue", `${name} must be a whole number, not "${String(value)}"`, name);
    return n;
  };
  const startIndex = Math.max(1, number(query.startIndex, "startIndex") ?? 1);
  const count = Math.min(max, Math.max(0, number(query.count, "count") ?? max));
  return { startIndex, count };
}

/** A SCIM boolean: true or false, or Entra ID's "True" and "False" strings (any case); undefined for anything else. */
export function scimBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === "true";
  return undefined;
}

/** `object`'s attribute named `name` without regard to case, as SCIM reads attribute names (RFC 7643 2.1). */
export function attribute(object: unknown, name: string): unknown {
  if (!object || typeof object !== "object" || Array.isArray(object)) return undefined;
  const key = attributeKey(object as Record<string, unknown>, name);
  return key === undefined ? undefined : (object as Record<string, unknown>)[key];
}

/** The key `object` holds `name` under, in whatever case it was written. */
export function attributeKey(object: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(object, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(object).find((key) => key.toLowerCase() === lower);
}
