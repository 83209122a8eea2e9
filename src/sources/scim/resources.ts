import type { FieldProblem } from "../../errors.ts";
import { isValidEmail, languageTag, updateUserSchema, type User, type UserFields } from "../../domain/user.ts";
import { droppedExtension, normalizePhone } from "../../domain/phone.ts";
import { attribute, scimBoolean, scimSchemas } from "./protocol.ts";

/**
 * Rollcall users and groups as SCIM resources (RFC 7643), and SCIM resources as Rollcall's fields: the attributes
 * Entra ID's provisioning service maps by default. Pure.
 */

/** A userName that is not an address (`userPrincipalName` holds one that is) is kept as this custom attribute. */
export const scimUserNameAttribute = "scimUserName";

/** Where each Rollcall field is in a SCIM user: an error about a field names the attribute Entra ID sent. */
export const scimAttributeOf: Record<string, string> = {
  userPrincipalName: "userName",
  email: 'emails[type eq "work"].value',
  displayName: "displayName",
  givenName: "name.givenName",
  surname: "name.familyName",
  jobTitle: "title",
  preferredLanguage: "preferredLanguage",
  enabled: "active",
  department: `${scimSchemas.enterprise}:department`,
  employeeId: `${scimSchemas.enterprise}:employeeNumber`,
  mobilePhone: 'phoneNumbers[type eq "mobile"].value',
  businessPhones: 'phoneNumbers[type eq "work"].value',
};

/** A problem about a Rollcall field, named as the SCIM attribute it came from. */
export const asScimProblem = (problem: FieldProblem): FieldProblem => {
  const [field, rest] = [problem.field.replace(/\[\d+\]$/, ""), problem.field.match(/\[\d+\]$/)?.[0] ?? ""];
  return { ...problem, field: (scimAttributeOf[field] ?? problem.field) + (scimAttributeOf[field] ? "" : rest) };
};

type Json = Record<string, unknown>;

/** The phone types scimUser answers: one of each (the mobile phone, the first business phone, the others). */
export const scimPhoneTypes = ["mobile", "work", "other"] as const;

export interface Meta {
  location: string;
}

const text = (value: unknown): string | null => (typeof value === "string" && value.trim() !== "" ? value.trim() : null);
const compact = (object: Json): Json => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)));

/** A user as GET /Users/{id} shows it: unassigned attributes left out (RFC 7643 2.5). */
export function scimUser(user: User, meta: Meta): Json {
  // One entry of each type (Entra ID matches multi-valued attributes by type): the first business phone is the work one,
  // the others "other", so Entra's `phoneNumbers[type eq "work"].value` changes that one and leaves the others.
  const phones = [
    ...(user.mobilePhone ? [{ value: user.mobilePhone, type: "mobile" }] : []),
    ...user.businessPhones.map((value, index) => ({ value, type: index === 0 ? "work" : "other" })),
  ];
  const name = compact({ givenName: user.givenName, familyName: user.surname });
  // The manager as RFC 7643 4.3 has it: their id (what Entra ID sends back), their resource and name.
  const manager = user.manager && { value: user.manager.id, $ref: meta.location.replace(/[^/]+$/, user.manager.id), displayName: user.manager.displayName };
  const enterprise = compact({ department: user.department, employeeNumber: user.employeeId, manager });
  return compact({
    schemas: [scimSchemas.user, scimSchemas.enterprise],
    id: user.id,
    externalId: user.source.externalId,
    userName: user.customAttributes[scimUserNameAttribute] ?? user.userPrincipalName ?? user.email,
    name: Object.keys(name).length ? name : null,
    displayName: user.displayName,
    title: user.jobTitle,
    preferredLanguage: user.preferredLanguage,
    active: user.enabled,
    emails: user.email ? [{ value: user.email, type: "work", primary: true }] : [],
    phoneNumbers: phones,
    [scimSchemas.enterprise]: Object.keys(enterprise).length ? enterprise : null,
    meta: { resourceType: "User", created: user.createdAt, lastModified: user.updatedAt, location: meta.location },
  });
}

/** What a SCIM user says of a Rollcall user: the fields to save, its userName and externalId, and what it could not take. */
export interface ScimUserInput {
  fields: Partial<UserFields>;
  /** The userName when it is not an address (kept as a custom attribute), else null. */
  otherUserName: string | null;
  externalId: string | null;
  /** The manager's id as given (checked against the workspace's users by the caller), or null for none. */
  managerId: string | null;
  problems: FieldProblem[];
  /** What was left out: a phone number that is none, a language that is no language tag. */
  warnings: FieldProblem[];
}

/** The entry of a multi-valued attribute Rollcall keeps: the primary one, else the one of `type`, else the first. */
function preferred(list: unknown, type: string): unknown {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.find((e) => scimBoolean(attribute(e, "primary")) === true) ?? list.find((e) => String(attribute(e, "type") ?? "").toLowerCase() === type) ?? list[0];
}

/**
 * A SCIM user body as Rollcall's fields. `country`: where local phone numbers are read (the source's, else the
 * workspace's); one that cannot be read is left out with a warning, as an Entra ID source does.
 */
export function userFromScim(body: unknown, country: string | null): ScimUserInput {
  const problems: FieldProblem[] = [];
  const warnings: FieldProblem[] = [];
  const userName = text(attribute(body, "userName"));
  if (!userName) problems.push({ field: "userName", message: "is required: Entra ID maps userPrincipalName to it by default" });
  const name = attribute(body, "name");
  const [givenName, surname] = [text(attribute(name, "givenName")), text(attribute(name, "familyName"))];
  const email = text(attribute(preferred(attribute(body, "emails"), "work"), "value"));
  const enterprise = attribute(body, scimSchemas.enterprise);
  const active = attribute(body, "active");
  const enabled = active === undefined || active === null ? true : scimBoolean(active);
  if (enabled === undefined) problems.push({ field: "active", message: `must be true or false, not ${JSON.stringify(active)}`, value: active });
  const upn = userName && isValidEmail(userName) ? userName : null;
  const displayName = text(attribute(body, "displayName")) ?? text(attribute(name, "formatted")) ?? ([givenName, surname].filter(Boolean).join(" ") || userName || email || "");
  let preferredLanguage = text(attribute(body, "preferredLanguage"));
  if (preferredLanguage) {
    const tag = languageTag(preferredLanguage);
    if ("problem" in tag) {
      warnings.push({ field: "preferredLanguage", message: `${tag.problem}; left out`, value: preferredLanguage });
      preferredLanguage = null;
    } else preferredLanguage = tag.tag;
  }
  const phones = phonesFromScim(attribute(body, "phoneNumbers"), country, warnings);
  const fields: Partial<UserFields> = {
    userPrincipalName: upn,
    email,
    displayName,
    givenName,
    surname,
    jobTitle: text(attribute(body, "title")),
    preferredLanguage,
    department: text(attribute(enterprise, "department")),
    employeeId: text(attribute(enterprise, "employeeNumber")),
    mobilePhone: phones.mobile,
    businessPhones: phones.business,
    ...(enabled !== undefined && { enabled }),
  };
  const checked = updateUserSchema.safeParse(fields);
  if (!checked.success) problems.push(...checked.error.issues.map((issue) => ({ field: String(issue.path[0] ?? "(body)"), message: issue.message })));
  const externalId = text(attribute(body, "externalId"));
  return { fields, otherUserName: userName && !upn ? userName : null, externalId, managerId: managerOf(body, enterprise), problems: problems.map(asScimProblem), warnings: warnings.map(asScimProblem) };
}

/**
 * The manager's id: the enterprise extension's `manager` (an object with `value`, or the id itself as Entra ID's PATCH
 * sends it), else a core `manager` as the older tutorial's requests send it (a list of {value, $ref}). An empty value
 * is none: Entra ID clears a reference with a remove, or with an empty value
 * (https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
 */
function managerOf(body: unknown, enterprise: unknown): string | null {
  const given = attribute(enterprise, "manager") ?? attribute(body, "manager");
  const entry = Array.isArray(given) ? given[0] : given;
  return typeof entry === "string" ? text(entry) : text(attribute(entry, "value"));
}

/**
 * The mobile number and the others (work, other…; a fax is no phone), in E.164: one that cannot be read is left out
 * with a warning. The work number comes first among the others, as scimUser answers it typed "work".
 */
function phonesFromScim(list: unknown, country: string | null, warnings: FieldProblem[]): { mobile: string | null; business: string[] } {
  let mobile: string | null = null;
  const business: string[] = [];
  const entries = Array.isArray(list) ? list : [];
  const isWork = (entry: unknown) => String(attribute(entry, "type") ?? "").toLowerCase() === "work";
  for (const entry of [...entries.filter(isWork), ...entries.filter((e) => !isWork(e))]) {
    const type = String(attribute(entry, "type") ?? "").toLowerCase();
    const raw = text(attribute(entry, "value"));
    if (!raw || type === "fax") continue;
    const field = type === "mobile" ? "mobilePhone" : "businessPhones";
    const phone = normalizePhone(raw, country);
    if (!phone.ok) {
      warnings.push({ field, message: `${phone.reason}; left out`, value: raw });
      continue;
    }
    if (phone.extension) warnings.push({ field, message: droppedExtension(raw, phone.e164, phone.extension), value: raw });
    if (type === "mobile" && mobile === null) mobile = phone.e164;
    else if (!business.includes(phone.e164)) business.push(phone.e164);
  }
  return { mobile, business: business.slice(0, 10) };
}

export const scimMemberTypes = ["User", "Group"] as const;

/** A group's member as SCIM lists it. */
export interface ScimMember {
  value: string;
  display: string;
  type: (typeof scimMemberTypes)[number];
}

export interface ScimGroupRecord {
  id: string;
  name: string;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A group as GET /Groups/{id} shows it; `members` null: left out (excludedAttributes=members). */
export function scimGroup(group: ScimGroupRecord, members: ScimMember[] | null, meta: Meta): Json {
  return {
    ...compact({ schemas: [scimSchemas.group], id: group.id, externalId: group.externalId, displayName: group.name }),
    ...(members && { members: members.map((m) => ({ value: m.value, display: m.display, type: m.type })) }),
    meta: { resourceType: "Group", created: group.createdAt, lastModified: group.updatedAt, location: meta.location },
  };
}

export interface ScimGroupInput {
  name: string | null;
  externalId: string | null;
  /** The members' ids, as given (each is checked against the source's users and groups). */
  members: string[];
  problems: FieldProblem[];
}

export function groupFromScim(body: unknown): ScimGroupInput {
  const problems: FieldProblem[] = [];
  const name = text(attribute(body, "displayName"));
  if (!name) problems.push({ field: "displayName", message: "is required" });
  const given = attribute(body, "members");
  if (given !== undefined && given !== null && !Array.isArray(given)) problems.push({ field: "members", message: "must be a list of {\"value\": id}" });
  const members: string[] = [];
  (Array.isArray(given) ? given : []).forEach((entry, index) => {
    const value = text(attribute(entry, "value"));
    if (!value) problems.push({ field: `members[${index}].value`, message: "is required: the id of a user or group of this source" });
    else if (!members.includes(value)) members.push(value);
  });
  return { name, externalId: text(attribute(body, "externalId")), members, problems };
}
