import { z } from "zod";
import type { FieldProblem } from "../errors.ts";
import { normalizePhone } from "./phone.ts";

export type SourceType = "manual" | "import" | "entra";

export interface UserSource {
  type: SourceType;
  name: string;
  externalId: string | null;
}

/** A user as the API, the CLI's --json and exports show it. Field names are the public contract. */
export interface User {
  id: string;
  userPrincipalName: string | null;
  email: string | null;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  department: string | null;
  jobTitle: string | null;
  employeeId: string | null;
  mobilePhone: string | null;
  businessPhones: string[];
  preferredLanguage: string | null;
  enabled: boolean;
  aliases: string[];
  cardNumbers: string[];
  customAttributes: Record<string, string>;
  source: UserSource;
  tags: string[];
  groups: string[];
  createdAt: string;
  updatedAt: string;
}

export const systemTags = { entra: "ID synced", import: "Imported", manual: "Manual" } as const satisfies Record<SourceType, string>;

const limits = { name: 256, email: 254, text: 256, pin: { min: 4, max: 12 } };

/** The fields an admin (API, CLI, import) may set on a user. */
export const userFieldsSchema = z.object({
  userPrincipalName: z.string().trim().max(limits.email).nullable(),
  email: z.string().trim().max(limits.email).nullable(),
  displayName: z.string().trim().min(1, "is required").max(limits.name),
  givenName: z.string().trim().max(limits.name).nullable(),
  surname: z.string().trim().max(limits.name).nullable(),
  department: z.string().trim().max(limits.text).nullable(),
  jobTitle: z.string().trim().max(limits.text).nullable(),
  employeeId: z.string().trim().max(limits.text).nullable(),
  mobilePhone: z.string().trim().max(64).nullable(),
  businessPhones: z.array(z.string().trim().max(64)).max(10),
  preferredLanguage: z.string().trim().max(35).nullable(),
  enabled: z.boolean(),
  aliases: z.array(z.string().trim().min(1).max(limits.email)).max(50),
  cardNumbers: z.array(z.string().trim().min(1).max(128)).max(20),
  pin: z.string().nullable(),
  customAttributes: z.record(z.string().max(64), z.string().max(4096)),
  tags: z.array(z.string().trim().min(1).max(64)).max(50),
});

export type UserFields = z.infer<typeof userFieldsSchema>;
export const createUserSchema = userFieldsSchema.partial().required({ displayName: true }).strict();
export const updateUserSchema = userFieldsSchema.partial().strict();
export type CreateUserInput = z.infer<typeof createUserSchema>;
export type UpdateUserInput = z.infer<typeof updateUserSchema>;

// Deliberately simple: one @, a dot in the domain, no spaces. Real deliverability is not ours to judge.
const emailPattern = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]{2,}$/;

export function isValidEmail(value: string): boolean {
  return value.length <= limits.email && emailPattern.test(value);
}

export function pinProblem(pin: string): string | undefined {
  if (!/^\d+$/.test(pin)) return "must contain digits only";
  if (pin.length < limits.pin.min || pin.length > limits.pin.max) return `must be ${limits.pin.min} to ${limits.pin.max} digits long`;
  return undefined;
}

const textFields = ["userPrincipalName", "email", "givenName", "surname", "department", "jobTitle", "employeeId", "preferredLanguage", "mobilePhone"] as const;
const emailFields = ["email", "userPrincipalName"] as const;

function emptyToNull(s: string | null | undefined): string | null | undefined {
  return s === undefined ? undefined : s === null || s.trim() === "" ? null : s.trim();
}

/** Normalised values ready to store, or the list of field problems. Pure. */
export type NormalisedUser = Partial<Omit<UserFields, "pin">> & { pin?: string | null };

export function normaliseUserFields(
  input: Partial<UserFields>,
  defaultCountry: string | null,
): { value: NormalisedUser; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const value: NormalisedUser = { ...input };
  for (const key of textFields) {
    if (key in input) value[key] = emptyToNull(input[key]);
  }
  for (const key of emailFields) {
    const v = value[key];
    if (v && !isValidEmail(v)) problems.push({ field: key, message: `"${v}" is not a valid ${key === "email" ? "email address" : "user principal name (name@domain)"}`, value: v });
  }
  if (value.mobilePhone) {
    const phone = normalizePhone(value.mobilePhone, defaultCountry);
    if (phone.ok) value.mobilePhone = phone.e164;
    else problems.push({ field: "mobilePhone", message: phone.reason, value: input.mobilePhone });
  }
  if (input.businessPhones) {
    value.businessPhones = [];
    input.businessPhones.forEach((raw, index) => {
      const phone = normalizePhone(raw, defaultCountry);
      if (phone.ok) value.businessPhones!.push(phone.e164);
      else problems.push({ field: `businessPhones[${index}]`, message: phone.reason, value: raw });
    });
  }
  if (input.pin !== undefined && input.pin !== null && input.pin !== "") {
    const problem = pinProblem(input.pin);
    if (problem) problems.push({ field: "pin", message: problem });
  } else if (input.pin === "") value.pin = null;
  for (const key of ["aliases", "cardNumbers", "tags"] as const) {
    const list = input[key];
    if (!list) continue;
    const seen = new Set<string>();
    list.forEach((item, index) => {
      const k = key === "cardNumbers" ? item : item.toLowerCase();
      if (seen.has(k)) problems.push({ field: `${key}[${index}]`, message: `"${item}" is listed twice`, value: item });
      seen.add(k);
    });
  }
  if (input.aliases) {
    input.aliases.forEach((alias, index) => {
      if (/\s/.test(alias)) problems.push({ field: `aliases[${index}]`, message: `"${alias}" must not contain spaces`, value: alias });
    });
  }
  return { value, problems };
}
