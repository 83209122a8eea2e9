import { z } from "zod";
import type { FieldProblem } from "../errors.ts";
import { droppedExtension, normalizePhone } from "./phone.ts";
import type { NestedGroup } from "./group.ts";
import type { OpenConflict, StatusChange } from "./user-status.ts";

export const sourceTypes = ["manual", "import", "entra", "scim"] as const;
export type SourceType = (typeof sourceTypes)[number];

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
  /** Another user of the workspace: synced from Entra ID (a source with syncManagers), or set by hand on a manual or imported user. */
  manager: UserRef | null;
  createdAt: string;
  updatedAt: string;
}

/** Another user as a user names them (their manager, their direct reports). */
export interface UserRef {
  id: string;
  displayName: string;
  email: string | null;
}

/**
 * A user as their own page shows them (GET …/users/{id}, `users show`): `groups` are their direct groups, as lists
 * show them; `nestedGroups` the groups they are in only through those (lists leave it out: a walk up the groups a user);
 * `statusChange` who enabled or disabled them, when and why; `openConflict` a sync's conflict over them.
 */
/** A user as a list shows them: also whether they have a photo (the console's avatar asks for it only then). */
export type ListedUser = User & { hasPhoto: boolean };

export interface UserDetail extends User {
  nestedGroups: NestedGroup[];
  /** The users whose manager this user is, alphabetically. */
  directReports: UserRef[];
  statusChange: StatusChange | null;
  openConflict: OpenConflict | null;
  /** The Entra ID source that syncs the user's photo (its "Sync photos" on): null when an admin may set one by hand. */
  photoSource: string | null;
}

/** A source's own tag: users Entra ID provisions over SCIM are "ID synced" too. */
export const systemTags = { entra: "ID synced", scim: "ID synced", import: "Imported", manual: "Manual" } as const satisfies Record<SourceType, string>;
/** Whether a source of this type owns its users' fields (Entra ID, read by a sync or pushed over SCIM): a change made here would be undone. */
export const isSyncedSourceType = (type: SourceType): boolean => type === "entra" || type === "scim";
/** A linked user trades its old system tag ("Manual", "Imported") for its new source's ("ID synced") and keeps the rest. Pure. */
export function linkedTags(tags: string[], from: SourceType, to: SourceType = "entra"): string[] {
  return [...new Set([systemTags[to], ...tags.filter((t) => t !== systemTags[from])])];
}
const systemTagKeys = new Set(Object.values(systemTags).map((tag) => tag.toLowerCase()));
/** Whether `tag` is a source's own ("ID synced", "Imported", "Manual"), in any case: Rollcall sets and keeps those, never an admin. */
export const isSystemTag = (tag: string) => systemTagKeys.has(tag.toLowerCase());
/** A source's own tag as the source writes it (the only way it is stored), for `tag` in any case; undefined for any other tag. */
export const sourceTagNamed = (tag: string): string | undefined => Object.values(systemTags).find((t) => t.toLowerCase() === tag.toLowerCase());

const limits = { name: 256, email: 254, text: 256, pin: { min: 4, max: 12 } };

/** The longest (trimmed) value of each text field. */
const textLimits = {
  userPrincipalName: limits.email, email: limits.email, displayName: limits.name, givenName: limits.name, surname: limits.name,
  department: limits.text, jobTitle: limits.text, employeeId: limits.text, mobilePhone: 64, preferredLanguage: 35,
} as const;
/** How many entries each list field takes, and the longest entry. */
const listLimits = {
  businessPhones: { entries: 10, length: 64 }, aliases: { entries: 50, length: limits.email }, cardNumbers: { entries: 20, length: 128 }, tags: { entries: 50, length: 64 },
} as const;
const customAttributeLimits = { name: 64, value: 4096 };
/** A custom attribute's name, as every way in checks it. */
export const customAttributeName = z
  .string()
  .min(1, "a custom attribute needs a name")
  .max(customAttributeLimits.name, `a custom attribute's name is at most ${customAttributeLimits.name} characters`);

const text = (field: keyof typeof textLimits) => z.string().trim().max(textLimits[field]);
/** Missing, null or blank, a display name is said to be required in words (zod's own text names the type it expected). */
const displayNameRequired = "display name is required";
const displayName = z
  .string({ error: (issue) => (issue.input === undefined || issue.input === null ? displayNameRequired : undefined) })
  .trim()
  .min(1, displayNameRequired)
  .max(textLimits.displayName);
const list = (field: keyof typeof listLimits, entry: z.ZodString) => z.array(entry.max(listLimits[field].length)).max(listLimits[field].entries);
/** One tag, as a user's tags take each: trimmed, not empty, at most 64 characters. */
export const userTag = z.string().trim().min(1).max(listLimits.tags.length);
/** The most tags an admin may give a user (besides the source's own). */
export const maxUserTags = listLimits.tags.entries;

/** The fields an admin (API, CLI, import) may set on a user. */
export const userFieldsSchema = z.object({
  userPrincipalName: text("userPrincipalName").nullable(),
  email: text("email").nullable(),
  displayName,
  givenName: text("givenName").nullable(),
  surname: text("surname").nullable(),
  department: text("department").nullable(),
  jobTitle: text("jobTitle").nullable(),
  employeeId: text("employeeId").nullable(),
  mobilePhone: text("mobilePhone").nullable(),
  businessPhones: list("businessPhones", z.string().trim()),
  preferredLanguage: text("preferredLanguage").nullable(),
  enabled: z.boolean(),
  aliases: list("aliases", z.string().trim().min(1)),
  cardNumbers: list("cardNumbers", z.string().trim().min(1)),
  pin: z.string().nullable(),
  customAttributes: z.record(customAttributeName, z.string().max(customAttributeLimits.value)),
  tags: z.array(userTag).max(maxUserTags),
});

/**
 * Whether userFieldsSchema accepts `fields` as they are: true when every value is of its field's type and no text,
 * list or list entry is longer than the schema allows, nor empty where it must not be (trimming only shortens a
 * value, so a value within its limit untrimmed is within it trimmed). An import checks 100,000 rows this way in
 * a fraction of what parsing them takes; a row it cannot vouch for is parsed for its messages.
 */
export function withinFieldLimits(fields: Record<string, unknown>): boolean {
  for (const key in fields) {
    const value = fields[key];
    if (value === null || value === undefined) {
      if (key === "displayName") return false;
    } else if (typeof value === "string") {
      if (key === "pin") continue;
      const max = textLimits[key as keyof typeof textLimits];
      if (max === undefined || value.length > max || (key === "displayName" && value.trim() === "")) return false;
    } else if (Array.isArray(value)) {
      const limit = listLimits[key as keyof typeof listLimits];
      if (!limit || value.length > limit.entries) return false;
      for (const entry of value) if (typeof entry !== "string" || entry.length > limit.length || entry.trim() === "") return false;
    } else if (key === "enabled") {
      if (typeof value !== "boolean") return false;
    } else if (key === "customAttributes") {
      for (const [name, text] of Object.entries(value)) {
        if (name.length > customAttributeLimits.name || typeof text !== "string" || text.length > customAttributeLimits.value) return false;
      }
    } else return false;
  }
  return true;
}

export type UserFields = z.infer<typeof userFieldsSchema>;

/** Custom attributes as the API and the CLI change them: a JSON merge patch (RFC 7396) of the user's. */
const customAttributesPatch = z.record(customAttributeName, z.string().max(customAttributeLimits.value).nullable());
// `required()` would answer a missing display name with zod's "expected nonoptional"; the field's own schema says it in words.
const manager = z.string().trim().min(1, "must name a user (id, email or user principal name), or be null for none").nullable().optional();
export const createUserSchema = userFieldsSchema
  .partial()
  .extend({
    displayName,
    manager: manager.describe("the user's manager: another user of the workspace by id, email or user principal name; null or absent for none"),
    customAttributes: customAttributesPatch.describe("a key given as null is not set").optional(),
  })
  .strict();
export const updateUserSchema = userFieldsSchema
  .partial()
  .extend({
    manager: manager.describe("the user's manager: a user of the workspace by id, email or user principal name; null removes it. A synced user's comes from its source"),
    customAttributes: customAttributesPatch
      .describe("merged into the user's key by key (JSON merge patch, RFC 7396): a key given is set, a key given as null is removed, the keys not given stay as they are")
      .optional(),
  })
  .strict();

/** A user's custom attributes once `patch` is merged in: keys set to null are removed, keys not given kept, values composed (NFC). Pure. */
export function mergeCustomAttributes(current: Record<string, string>, patch: Record<string, string | null>): Record<string, string> {
  // A Map, not assignment: a key such as "__proto__" stays an attribute.
  const merged = new Map(Object.entries(current));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) merged.delete(key);
    else merged.set(key, composed(value));
  }
  return Object.fromEntries(merged);
}

// Deliberately simple: one @, a dot in the domain, no spaces. Real deliverability is not ours to judge.
const emailPattern = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]{2,}$/;

export function isValidEmail(value: string): boolean {
  return value.length <= limits.email && emailPattern.test(value);
}

/**
 * A preferred language as Microsoft 365 writes it (an RFC 4646 tag: "en-US", "es-ES"), in its canonical case
 * (https://learn.microsoft.com/en-us/graph/api/resources/user#properties), or why the value is none. Pure.
 */
export function languageTag(value: string): { tag: string } | { problem: string } {
  let known = languageTags.get(value);
  if (!known) {
    // An import's 100,000 rows hold a handful of languages: parsing each row's took 2 µs.
    if (languageTags.size >= 1000) languageTags.clear();
    languageTags.set(value, (known = parseLanguageTag(value)));
  }
  return known;
}
const languageTags = new Map<string, { tag: string } | { problem: string }>();

function parseLanguageTag(value: string): { tag: string } | { problem: string } {
  let tag: string | undefined;
  try {
    [tag] = Intl.getCanonicalLocales(value);
  } catch {
    tag = undefined;
  }
  // The grammar allows a language subtag of 5 to 8 letters ("english"), but no language has one: only ISO 639 codes.
  if (tag && /^[a-z]{2,3}(-|$)/.test(tag)) return { tag };
  const dashed = value.replaceAll("_", "-");
  const suggestion = dashed !== value ? parseLanguageTag(dashed) : undefined;
  const hint = suggestion && "tag" in suggestion ? `write it as ${suggestion.tag}` : "write a language code, then a country or region, as en-US or es-ES";
  return { problem: `"${value}" is not a language tag: ${hint}` };
}

export function pinProblem(pin: string): string | undefined {
  if (!/^\d+$/.test(pin)) return "must contain digits only";
  if (pin.length < limits.pin.min || pin.length > limits.pin.max) return `must be ${limits.pin.min} to ${limits.pin.max} digits long`;
  return undefined;
}

const textFields = ["userPrincipalName", "email", "givenName", "surname", "department", "jobTitle", "employeeId", "preferredLanguage", "mobilePhone"] as const;
const emailFields = ["email", "userPrincipalName"] as const;

/**
 * A text in one spelling: composed (NFC), as Entra ID and most systems write it. A Mac's CSV export and some HR
 * systems write "ü" as "u" and a combining diaeresis (NFD), which looks the same and would compare, match and
 * deduplicate as another name or address. Pure.
 */
export const composed = (text: string): string => text.normalize("NFC");

function emptyToNull(s: string | null | undefined): string | null | undefined {
  return s === undefined ? undefined : s === null || s.trim() === "" ? null : composed(s.trim());
}

/**
 * Fields that identify a user or are matched by a machine (a badge reader, a dialler): what a paste carries along
 * unseen is stripped from them. Never from names: a zero-width joiner belongs in some.
 */
const identifierFields = new Set<string>(["userPrincipalName", "email", "employeeId", "mobilePhone"]);
const unseen = /[\p{Cf}\u00A0\u2007\u202F]/u;
/** Format characters (Unicode category Cf): zero-width spaces and joiners, U+2060, U+FEFF, soft hyphens, direction marks. */
const formatCharacters = /\p{Cf}/gu;
const noBreakSpaces = /[\u00A0\u2007\u202F]/g;

/** An identifier without invisible format characters, its no-break spaces read as spaces, trimmed. Pure. */
export function visibleIdentifier(value: string): string {
  return unseen.test(value) ? value.replace(formatCharacters, "").replace(noBreakSpaces, " ").trim() : value.trim();
}

const visibleOrNull = (value: string | null | undefined) => (typeof value === "string" ? visibleIdentifier(value) : value);
const visibleList = (list: string[]) => list.map((entry) => composed(visibleIdentifier(entry))).filter((entry) => entry !== "");

/**
 * Normalised values ready to store, or the list of field problems. `warnings`: what the values lost on the way
 * (a phone number's extension, which E.164 cannot hold), for the caller to tell. Pure.
 */
export type NormalisedUser = Partial<Omit<UserFields, "pin">> & { pin?: string | null };

export function normaliseUserFields(
  input: Partial<UserFields>,
  defaultCountry: string | null,
): { value: NormalisedUser; problems: FieldProblem[]; warnings: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const warnings: FieldProblem[] = [];
  const value: NormalisedUser = { ...input };
  if (typeof input.displayName === "string") value.displayName = composed(input.displayName);
  for (const key of textFields) {
    if (key in input) value[key] = emptyToNull(identifierFields.has(key) ? visibleOrNull(input[key]) : input[key]);
  }
  // A quoted CSV cell may hold a line break no one meant; a name in two lines breaks every list and badge it is printed on.
  for (const key of ["displayName", ...textFields] as const) {
    const v = value[key];
    if (typeof v === "string" && /[\r\n]/.test(v.trim())) problems.push({ field: key, message: "must be on one line (it holds a line break)", value: v });
  }
  if (input.businessPhones) value.businessPhones = visibleList(input.businessPhones);
  if (input.aliases) value.aliases = visibleList(input.aliases);
  if (input.cardNumbers) value.cardNumbers = visibleList(input.cardNumbers);
  for (const key of emailFields) {
    const v = value[key];
    if (v && !isValidEmail(v)) problems.push({ field: key, message: `"${v}" is not a valid ${key === "email" ? "email address" : "user principal name (name@domain)"}`, value: v });
  }
  if (value.preferredLanguage) {
    const language = languageTag(value.preferredLanguage);
    if ("tag" in language) value.preferredLanguage = language.tag;
    else problems.push({ field: "preferredLanguage", message: language.problem, value: value.preferredLanguage });
  }
  if (value.mobilePhone) {
    const raw = value.mobilePhone;
    const phone = normalizePhone(raw, defaultCountry);
    if (phone.ok) {
      value.mobilePhone = phone.e164;
      if (phone.extension) warnings.push({ field: "mobilePhone", message: droppedExtension(raw, phone.e164, phone.extension), value: raw });
    } else problems.push({ field: "mobilePhone", message: phone.reason, value: input.mobilePhone });
  }
  if (value.businessPhones) {
    const given = value.businessPhones;
    value.businessPhones = [];
    given.forEach((raw, index) => {
      const phone = normalizePhone(raw, defaultCountry);
      if (phone.ok) {
        value.businessPhones!.push(phone.e164);
        if (phone.extension) warnings.push({ field: `businessPhones[${index}]`, message: droppedExtension(raw, phone.e164, phone.extension), value: raw });
      } else problems.push({ field: `businessPhones[${index}]`, message: phone.reason, value: raw });
    });
  }
  if (input.pin !== undefined && input.pin !== null && input.pin !== "") {
    const problem = pinProblem(input.pin);
    if (problem) problems.push({ field: "pin", message: problem });
  } else if (input.pin === "") value.pin = null;
  for (const key of ["aliases", "cardNumbers", "tags"] as const) {
    const list = value[key];
    if (!list) continue;
    const seen = new Set<string>();
    list.forEach((item, index) => {
      const k = key === "cardNumbers" ? item : item.toLowerCase();
      if (seen.has(k)) problems.push({ field: `${key}[${index}]`, message: `"${item}" is listed twice`, value: item });
      seen.add(k);
    });
  }
  // Each source sets its own tag ("Imported", "Manual", "ID synced"): a file or a form cannot claim another's.
  if (value.tags) value.tags = value.tags.map(composed).filter((tag) => !isSystemTag(tag));
  if (value.aliases) {
    value.aliases.forEach((alias, index) => {
      if (/\s/.test(alias)) problems.push({ field: `aliases[${index}]`, message: `"${alias}" must not contain spaces`, value: alias });
    });
  }
  return { value, problems, warnings };
}
