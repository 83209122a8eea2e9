import { ApiError, type FieldProblem } from "../api.ts";
import type { EntraConfig, Source, SourceInput } from "../sync-api.ts";
import { credentialEntered, credentialInput, emptyCredential, type CredentialDraft, type CredentialKind } from "./CredentialFields.tsx";

/** The source form's state: what it starts from, what it sends, and what it checks before sending. */
export const clouds = [
  ["global", "Microsoft Entra ID (global)"],
  ["usgov", "US Government (GCC High)"],
  ["usgovdod", "US Government (DoD)"],
  ["china", "China (21Vianet)"],
] as const;

/** Where a source signs in and reads Graph: its national cloud, or the custom endpoints that replace it. */
export function describeEndpoints(config: { cloud: string; loginUrl?: string | null; graphUrl?: string | null }): string {
  const cloud = clouds.find(([key]) => key === config.cloud)?.[1] ?? config.cloud;
  const custom = [config.loginUrl && `login ${config.loginUrl}`, config.graphUrl && `Graph ${config.graphUrl}`].filter(Boolean);
  if (!custom.length) return cloud;
  return `Custom endpoints: ${custom.join(", ")}${custom.length < 2 ? `; otherwise ${cloud}` : ""}`;
}

export interface FormState {
  name: string;
  tenantId: string;
  clientId: string;
  /** The new secret or certificate (write-only), entered once replaceSecret opens its fields. */
  credential: CredentialDraft;
  replaceSecret: boolean;
  secretExpiresOn: string;
  cloud: string;
  loginUrl: string;
  graphUrl: string;
  users: "all" | "groups";
  scopeGroups: string;
  includeGuests: boolean;
  syncManagers: boolean;
  groupMode: "none" | "selected" | "attribute" | "all";
  groups: string;
  groupAttribute: string;
  ignoreGroups: string;
  ignoreGroupsContaining: string;
  mapping: string;
  country: string;
  onRemove: "disable" | "delete" | "keep";
  linkByEmail: boolean;
  thresholdPercent: string;
  thresholdCount: string;
  scheduleKind: "none" | "every" | "cron";
  everyHours: string;
  cron: string;
  timeZone: string;
  fullEveryDays: string;
  signIn: boolean;
  syncOnChange: boolean;
  photos: boolean;
}

const hour = 3_600_000;
const day = 24 * hour;
const lines = (s: string) => s.split("\n").map((x) => x.trim()).filter(Boolean);

/**
 * Browsers list time zones by CLDR's names, some of which IANA has since renamed (Asia/Calcutta is Asia/Kolkata):
 * the console offers the names admins know. Both kinds are valid IANA names; the server accepts either.
 */
const renamedZones: Record<string, string> = {
  "Asia/Calcutta": "Asia/Kolkata", "Asia/Katmandu": "Asia/Kathmandu", "Asia/Rangoon": "Asia/Yangon", "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Europe/Kiev": "Europe/Kyiv", "America/Godthab": "America/Nuuk", "Atlantic/Faeroe": "Atlantic/Faroe", "Pacific/Truk": "Pacific/Chuuk",
  "Pacific/Ponape": "Pacific/Pohnpei", "Pacific/Enderbury": "Pacific/Kanton", "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
};
const modernZone = (zone: string): string => renamedZones[zone] ?? zone;

export const browserTimeZone = (): string => modernZone(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");

/** The time zones a cron schedule may name, UTC first. */
export function timeZones(): string[] {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone").map(modernZone) : [browserTimeZone()];
  return ["UTC", ...zones.filter((zone) => zone !== "UTC").sort()];
}

export function initial(source?: Source): FormState {
  const c: Partial<EntraConfig> = source?.config ?? {};
  const schedule = c.schedule ?? null;
  return {
    name: source?.name ?? "",
    tenantId: c.tenantId ?? "",
    clientId: c.clientId ?? "",
    credential: emptyCredential(storedCredential(source) ?? "secret"),
    replaceSecret: !source,
    secretExpiresOn: c.secretExpiresOn ?? "",
    cloud: c.cloud ?? "global",
    loginUrl: c.loginUrl ?? "",
    graphUrl: c.graphUrl ?? "",
    users: c.users ?? "all",
    scopeGroups: (c.scopeGroups ?? []).join("\n"),
    includeGuests: c.includeGuests ?? false,
    syncManagers: c.syncManagers ?? false,
    groupMode: c.groupMode ?? "all",
    groups: (c.groups ?? []).join("\n"),
    groupAttribute: c.groupAttribute ?? "",
    ignoreGroups: (c.ignoreGroups ?? []).join("\n"),
    ignoreGroupsContaining: (c.ignoreGroupsContaining ?? []).join("\n"),
    mapping: Object.entries(c.mapping ?? {})
      .map(([field, property]) => `${field} = ${property}`)
      .join("\n"),
    country: c.country ?? "",
    onRemove: c.onRemove ?? "disable",
    linkByEmail: c.linkByEmail ?? true,
    thresholdPercent: String(c.deletionThreshold?.percent ?? 10),
    thresholdCount: String(c.deletionThreshold?.count ?? 20),
    scheduleKind: schedule === null ? (source ? "none" : "every") : "cron" in schedule ? "cron" : "every",
    // Switched on, a schedule syncs once a day unless told otherwise (an hourly default kept failing on a bad secret).
    everyHours: schedule && "everyMs" in schedule ? String(schedule.everyMs / hour) : "24",
    cron: schedule && "cron" in schedule ? schedule.cron : "0 2 * * *",
    // A cron schedule saved without a zone runs in UTC; a new one is in the admin's own zone unless they pick another.
    timeZone: schedule && "cron" in schedule ? (schedule.timeZone ?? "UTC") : browserTimeZone(),
    fullEveryDays: String((c.fullEveryMs ?? 7 * day) / day),
    signIn: c.signIn ?? false,
    syncOnChange: c.syncOnChange ?? false,
    photos: c.photos ?? false,
  };
}

/** The kind of credential the source holds now, or null (a new source, or none stored). */
export const storedCredential = (source?: Source): CredentialKind | null => (source?.secret.set ? source.config.credential : null);

/**
 * What the form sends. The expiry date goes when it changed; a new secret or certificate sent with the date unchanged
 * goes without it, so that the server takes a certificate's own date, or none for a secret, rather than the replaced one's.
 */
export function toInput(s: FormState, startedAt: string = ""): SourceInput {
  const mapping: Record<string, string> = {};
  for (const line of lines(s.mapping)) {
    const [field, ...rest] = line.split("=");
    if (field && rest.length) mapping[field.trim()] = rest.join("=").trim();
  }
  const input: SourceInput = {
    tenantId: s.tenantId.trim(),
    clientId: s.clientId.trim(),
    cloud: s.cloud as EntraConfig["cloud"],
    loginUrl: s.loginUrl.trim() || null,
    graphUrl: s.graphUrl.trim() || null,
    users: s.users,
    scopeGroups: lines(s.scopeGroups),
    includeGuests: s.includeGuests,
    syncManagers: s.syncManagers,
    groupMode: s.groupMode,
    groups: lines(s.groups),
    groupAttribute: s.groupAttribute.trim() || null,
    ignoreGroups: lines(s.ignoreGroups),
    ignoreGroupsContaining: lines(s.ignoreGroupsContaining),
    mapping,
    country: s.country.trim().toUpperCase() || null,
    onRemove: s.onRemove,
    linkByEmail: s.linkByEmail,
    deletionThreshold: { percent: Number(s.thresholdPercent), count: Number(s.thresholdCount) },
    schedule: s.scheduleKind === "none" ? null : s.scheduleKind === "cron" ? { cron: s.cron.trim(), timeZone: s.timeZone } : { everyMs: Math.round(Number(s.everyHours) * hour) },
    fullEveryMs: Math.round(Number(s.fullEveryDays) * day),
    signIn: s.signIn,
    syncOnChange: s.syncOnChange,
    photos: s.photos,
  };
  input.name = s.name.trim();
  const credential = s.replaceSecret ? credentialInput(s.credential) : {};
  Object.assign(input, credential);
  if (!(Object.keys(credential).length && s.secretExpiresOn === startedAt)) input.secretExpiresOn = s.secretExpiresOn || null;
  return input;
}

/**
 * What the form tells before asking the server, each at its field: a required field left empty, and a number
 * field left empty (which Number() would read as 0: a safety stop at 0 % that stops every removal).
 */
export function formProblems(s: FormState, source?: Source): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const need = (field: keyof FormState, message: string) => {
    if (!String(s[field]).trim()) problems.push({ field, message });
  };
  const number = (field: keyof FormState, message: string) => {
    const value = String(s[field]).trim();
    if (!value || !Number.isFinite(Number(value))) problems.push({ field, message });
  };
  need("name", "Enter a name for the source, e.g. contoso.");
  need("tenantId", "Enter the directory (tenant) ID.");
  need("clientId", "Enter the application (client) ID.");
  problems.push(...credentialProblems(s, source));
  number("thresholdPercent", "Enter a percentage from 0 to 100 (10 is the default).");
  number("thresholdCount", "Enter a number of users, 0 or more (20 is the default).");
  if (s.scheduleKind === "every") number("everyHours", "Enter the hours between syncs, e.g. 24.");
  if (s.scheduleKind === "cron") need("cron", "Enter a cron expression of five fields, e.g. 0 6 * * 1-5 for 06:00 on weekdays.");
  number("fullEveryDays", "Enter the days between full syncs, e.g. 7.");
  return problems;
}

/** Whether the form must send a credential: a new source's, or one switched to the other kind (blank would keep the stored one). */
export function credentialRequired(s: FormState, source?: Source): boolean {
  const stored = storedCredential(source);
  return !source || (stored !== null && s.replaceSecret && s.credential.kind !== stored);
}

/**
 * A new source needs a credential; so does an existing one switched to the other kind, since leaving it blank would
 * keep the stored one of the kind not chosen. Half a certificate is for the server to name.
 */
function credentialProblems(s: FormState, source?: Source): FieldProblem[] {
  if (!credentialRequired(s, source) || credentialEntered(s.credential)) return [];
  const stored = storedCredential(source);
  const why = source ? `a ${stored} is stored now, and switching to a ${s.credential.kind} needs the new one` : "create one under Certificates & secrets in the app registration";
  if (s.credential.kind === "secret") return [{ field: "clientSecret", message: source ? `Enter the client secret: ${why}.` : `Enter the client secret, or choose Certificate to sign in with one instead: ${why}.` }];
  return [
    { field: "certificatePem", message: `Paste the certificate (PEM): ${why}.` },
    { field: "privateKeyPem", message: "Paste the certificate's private key (PEM)." },
  ];
}

/** The API's problems keyed by the form field that shows them: the safety stop's two numbers each at its own. */
export function problemsAt(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const fields = error.fields.map((f) => ({ ...f, field: formFieldOf[f.field] ?? f.field }));
  return new ApiError(error.status, error.code, error.message, { fields }).fieldMap();
}
const formFieldOf: Record<string, keyof FormState> = {
  deletionThreshold: "thresholdPercent",
  "deletionThreshold.percent": "thresholdPercent",
  "deletionThreshold.count": "thresholdCount",
  fullEveryMs: "fullEveryDays",
  "schedule.cron": "cron",
  "schedule.timeZone": "timeZone",
  "schedule.everyMs": "everyHours",
};
