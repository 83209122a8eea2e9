import { composed, isValidEmail, type User } from "../../domain/user.ts";
import { droppedExtension, normalizePhone } from "../../domain/phone.ts";
import { effectiveMapping, type EntraConfig } from "./config.ts";

/**
 * A Graph user as the Rollcall fields it feeds. Pure. Unparseable phone numbers are dropped with a
 * warning on that user (never fatal); so are invalid emails, and a phone's extension (the number is kept).
 */
export type DesiredUser = Pick<
  User,
  | "userPrincipalName" | "email" | "displayName" | "givenName" | "surname" | "department" | "jobTitle" | "employeeId"
  | "mobilePhone" | "businessPhones" | "preferredLanguage" | "enabled" | "aliases" | "cardNumbers" | "customAttributes"
> & {
  externalId: string;
  /** Only when a PIN is mapped: the plain value, hashed by the applier and never stored as is. */
  pin?: string | null;
  warnings: string[];
};

/** A desired user's fields as a sync writes and logs them: no warnings, and a mapped PIN only as its hash. */
export type PlannedFields = Omit<DesiredUser, "warnings" | "pin"> & { pinHash?: string };

export function readPath(source: Record<string, unknown>, path: string): unknown {
  let value: unknown = source;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return null;
    value = (value as Record<string, unknown>)[part];
  }
  return value ?? null;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const s = (Array.isArray(value) ? value[0] : value)?.toString().trim() ?? "";
  return s === "" ? null : composed(s);
}

function list(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === null || value === undefined ? [] : String(value).split(/[;,]/);
  return [...new Set(items.map((v) => composed(String(v ?? "").trim())).filter(Boolean))];
}

export function isGuest(graphUser: Record<string, unknown>): boolean {
  return graphUser.userType === "Guest";
}

/**
 * The email of a user without `mail`, by default: the userPrincipalName, unless it is a guest's
 * (`ada_example.com#EXT#@contoso.onmicrosoft.com`: no mailbox answers it, and linking by email would never match it).
 * A guest's invited address is then `otherMails` (read when guests are synced: config.ts userSelect), else none.
 * https://learn.microsoft.com/entra/external-id/user-properties (the UPN of a guest, and its Email / otherMails)
 */
function fallbackEmail(graphUser: Record<string, unknown>, upn: string | null): string | null {
  if (upn && !/#EXT#/i.test(upn)) return upn;
  return list(graphUser.otherMails).find((m) => isValidEmail(m)) ?? null;
}

export function mapUser(graphUser: Record<string, unknown>, config: Pick<EntraConfig, "mapping" | "country">): DesiredUser {
  const mapping = effectiveMapping(config);
  const warnings: string[] = [];
  const get = (field: string) => (mapping[field] ? readPath(graphUser, mapping[field]) : null);
  const id = String(graphUser.id);

  const upn = text(get("userPrincipalName"));
  let email = text(get("email")) ?? (config.mapping.email ? null : fallbackEmail(graphUser, upn));
  // A mapped email replaces the default (mail, else userPrincipalName) outright: say so when it leaves someone without one.
  if (!email && config.mapping.email) warnings.push(`email: ${config.mapping.email} is empty in Entra, so this user has no email`);
  if (email && !isValidEmail(email)) {
    warnings.push(`email "${email}" is not a valid address and was left out`);
    email = null;
  }
  // A user's usage location (ISO country) reads their local numbers better than the source's default.
  const usage = typeof graphUser.usageLocation === "string" && /^[A-Z]{2}$/i.test(graphUser.usageLocation) ? graphUser.usageLocation : null;
  const phone = (raw: string, field: string): string | null => {
    const result = normalizePhone(raw, usage ?? config.country);
    if (result.ok) {
      if (result.extension) warnings.push(`${field}: ${droppedExtension(raw, result.e164, result.extension)}`);
      return result.e164;
    }
    warnings.push(`${field}: ${result.reason}; dropped`);
    return null;
  };
  const mobileRaw = text(get("mobilePhone"));
  const businessPhones = [...new Set(list(get("businessPhones")).map((p) => phone(p, "businessPhones")).filter((p): p is string => p !== null))];
  const enabledRaw = get("enabled");

  const customAttributes: Record<string, string> = {};
  for (const [field, path] of Object.entries(mapping)) {
    if (!field.startsWith("custom:")) continue;
    const value = text(readPath(graphUser, path));
    if (value !== null) customAttributes[field.slice("custom:".length)] = value;
  }

  const user: DesiredUser = {
    externalId: id,
    userPrincipalName: upn,
    email,
    displayName: text(get("displayName")) ?? upn ?? id,
    givenName: text(get("givenName")),
    surname: text(get("surname")),
    department: text(get("department")),
    jobTitle: text(get("jobTitle")),
    employeeId: text(get("employeeId")),
    mobilePhone: mobileRaw ? phone(mobileRaw, "mobilePhone") : null,
    businessPhones,
    preferredLanguage: text(get("preferredLanguage")),
    enabled: enabledRaw === null ? true : enabledRaw === true || enabledRaw === "true",
    aliases: list(get("aliases")).filter((a) => !/\s/.test(a)),
    cardNumbers: list(get("cardNumbers")),
    customAttributes,
    warnings,
  };
  if (mapping.pin) {
    const pin = text(get("pin"));
    user.pin = pin && /^\d{4,12}$/.test(pin) ? pin : null;
    if (pin && user.pin === null) warnings.push("pin: the mapped value is not 4 to 12 digits; ignored");
  }
  return user;
}
