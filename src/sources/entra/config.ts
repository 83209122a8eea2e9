import { Cron } from "croner";
import { z } from "zod";
import { isCountryCode } from "../../domain/phone.ts";
import { guidPattern, isGuid } from "../../domain/guid.ts";

/**
 * An Entra ID source's settings (everything but the secret, which is sealed apart and never shown).
 * Parsed from the `sources.config` column and from the CLI/API; defaults are the product's defaults.
 */
export const clouds = {
  global: { loginUrl: "https://login.microsoftonline.com", graphUrl: "https://graph.microsoft.com" },
  usgov: { loginUrl: "https://login.microsoftonline.us", graphUrl: "https://graph.microsoft.us" },
  usgovdod: { loginUrl: "https://login.microsoftonline.us", graphUrl: "https://dod-graph.microsoft.us" },
  china: { loginUrl: "https://login.chinacloudapi.cn", graphUrl: "https://microsoftgraph.chinacloudapi.cn" },
} as const;
export type Cloud = keyof typeof clouds;

/** Rollcall fields a Graph property can feed. `custom:NAME` fills a custom attribute. */
export const mappableFields = [
  "email", "userPrincipalName", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId",
  "mobilePhone", "businessPhones", "preferredLanguage", "enabled", "aliases", "cardNumbers", "pin",
] as const;

/** Defaults: email = mail, else userPrincipalName but a guest's (#EXT#), else otherMails (see mapping.ts); enabled = accountEnabled. */
export const defaultMapping: Record<string, string> = {
  email: "mail",
  userPrincipalName: "userPrincipalName",
  displayName: "displayName",
  givenName: "givenName",
  surname: "surname",
  department: "department",
  jobTitle: "jobTitle",
  employeeId: "employeeId",
  mobilePhone: "mobilePhone",
  businessPhones: "businessPhones",
  preferredLanguage: "preferredLanguage",
  enabled: "accountEnabled",
};

/** User properties Graph gives as one value: a dotted path into one reads nothing, so it is refused. */
const singleValued = new Set([...Object.values(defaultMapping), "officeLocation", "companyName", "city", "country", "state", "streetAddress", "postalCode", "usageLocation", "employeeType", "onPremisesSamAccountName", "onPremisesImmutableId", "mailNickname", "userType", "faxNumber", "otherMails", "proxyAddresses", "employeeHireDate"]);

/**
 * User properties Graph serves only when reading one user (SharePoint profile data and mailbox settings): a listing
 * that selects one answers 501, a delta query 400, so a sync reading one would fail every run.
 * https://learn.microsoft.com/graph/api/user-list#optional-query-parameters
 */
const oneUserOnly = new Set(["aboutme", "birthday", "hiredate", "interests", "mysite", "pastprojects", "preferredname", "responsibilities", "schools", "skills", "mailboxsettings"]);

/**
 * User properties a listing serves but the users delta query refuses (400 "Invalid request for delta query: … not
 * supported for the following properties: signInActivity", microsoftgraph/microsoft-graph-explorer-v4#3189): a
 * connection test that lists users passes, and every sync then fails. signInActivity also needs AuditLog.Read.All.
 */
const notInDelta = new Map([["signinactivity", "signInActivity (the last sign-in) is refused by the users delta query a sync reads (Graph answers 400 \"not supported for the following properties\"), so every run would fail; it also needs the AuditLog.Read.All permission and a Microsoft Entra ID P1 licence. Map a directory property instead, e.g. employeeId or onPremisesExtensionAttributes.extensionAttribute1"]]);

/** Why a sync cannot read this user property, for a property someone gives (a stored one keeps loading, to be fixed). */
export function graphPropertyProblem(path: string): string | undefined {
  const root = path.split(".")[0]!;
  const refused = notInDelta.get(root.toLowerCase());
  if (refused) return refused;
  if (!oneUserOnly.has(root.toLowerCase())) return undefined;
  const instead = root.toLowerCase() === "hiredate" ? "employeeHireDate, the directory's own hire date" : "a directory property instead, e.g. employeeId or onPremisesExtensionAttributes.extensionAttribute1";
  return `${root} is given by Microsoft Graph only when reading one user, never in the listings a sync reads (every run would fail): map ${instead}`;
}

const graphProperty = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$/, "must be a Graph user property, e.g. employeeId or onPremisesExtensionAttributes.extensionAttribute1")
  .superRefine((path, ctx) => {
    const [parent, child] = path.split(".");
    if (child === undefined) return;
    // https://learn.microsoft.com/graph/api/resources/onpremisesextensionattributes: extensionAttribute1 to 15.
    if (parent === "onPremisesExtensionAttributes" && !/^extensionAttribute([1-9]|1[0-5])$/.test(child)) {
      ctx.addIssue({ code: "custom", message: `onPremisesExtensionAttributes has extensionAttribute1 to extensionAttribute15, not ${child}` });
    } else if (singleValued.has(parent!)) {
      ctx.addIssue({ code: "custom", message: `${parent} is a single value: map it without ".${child}"` });
    }
  });
const fieldName = z.string().refine((f) => (mappableFields as readonly string[]).includes(f) || /^custom:[A-Za-z0-9_.-]{1,64}$/.test(f), {
  message: `must be one of ${mappableFields.join(", ")} or custom:NAME`,
});

const day = 86_400_000;
const [share, users] = ["must be a number from 0 to 100 (the share of the source's users)", "must be a whole number of users, 0 or more"];

/** The zone a cron schedule without one runs in: what the console has always said it did. */
export const defaultScheduleZone = "UTC";

/** Why `zone` is not an IANA time zone name (Europe/Berlin, America/New_York, UTC); undefined when it is. */
export function timeZoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return undefined;
  } catch {
    return `"${zone}" is not a time zone: give an IANA name such as Europe/Berlin, America/New_York or UTC`;
  }
}

/** Why a cron expression cannot schedule a source; undefined when it can. Five fields, as cron has them (no seconds). */
export function cronProblem(expression: string, timeZone = defaultScheduleZone): string | undefined {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  const example = 'minute hour day-of-month month day-of-week, e.g. "0 6 * * 1-5" for 06:00 on weekdays';
  if (fields.length !== 5) return `must be a cron expression of five fields (${example})`;
  let cron: Cron;
  try {
    cron = new Cron(expression, { paused: true, timezone: timeZone });
  } catch (error) {
    return `is not a cron expression (${(error as Error).message.replace(/^CronPattern: /, "")}); give five fields: ${example}`;
  }
  return cron.nextRun() ? undefined : "never runs (no such date): check its day of month and month";
}

export const scheduleSchema = z.union([
  z.object({ everyMs: z.number().int().min(60_000, "must be at least one minute") }).strict(),
  // Checked when given (cronProblem, core/sources.ts): a schedule saved before it was checked so strictly keeps loading.
  z
    .object({
      cron: z.string().min(1, "must be a cron expression"),
      timeZone: z
        .string()
        .superRefine((zone, ctx) => {
          const problem = timeZoneProblem(zone);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        })
        .optional()
        .describe(`the IANA time zone the cron expression's hours are in (${defaultScheduleZone} when not given); daylight saving time is followed`),
    })
    .strict(),
]);
export type Schedule = z.infer<typeof scheduleSchema>;

const domainName = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * A tenant is named by its ID (a GUID) or one of its verified domains; the multi-tenant aliases name no directory,
 * and an app-only token for them is refused (AADSTS90002/AADSTS700016), so they are refused here, in our words.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#first-case-access-token-request-with-a-shared-secret
 */
export function tenantIdProblem(value: string): string | undefined {
  if (isGuid(value) || domainName.test(value)) return undefined;
  if (/^(common|organizations|consumers)$/i.test(value)) return `"${value}" names no directory: give the tenant's own directory (tenant) ID (Azure portal › Microsoft Entra ID › Overview)`;
  return "must be the directory (tenant) ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47 (Azure portal › Microsoft Entra ID › Overview), or a verified domain such as contoso.onmicrosoft.com";
}

export const entraConfigObject = z
  .object({
    // Loose on purpose: a source saved before tenantIdProblem keeps loading; new values are checked by it (core/sources.ts).
    tenantId: z.string().trim().min(1, "is required").regex(/^[A-Za-z0-9.-]+$/, "must be a directory (tenant) ID or a verified domain"),
    clientId: z.string().trim().regex(guidPattern, "must be the application (client) ID, a GUID"),
    credential: z.enum(["secret", "certificate"]).default("secret"),
    secretExpiresOn: z.iso.date({ error: "must be a date as YYYY-MM-DD, e.g. 2027-06-30" }).nullable().default(null),
    cloud: z.enum(Object.keys(clouds) as [Cloud, ...Cloud[]]).default("global"),
    loginUrl: z.url({ protocol: /^https$/, error: "must be an https:// URL, e.g. https://login.microsoftonline.com (Microsoft's endpoints take HTTPS only)" }).nullable().default(null),
    graphUrl: z.url({ protocol: /^https$/, error: "must be an https:// URL, e.g. https://graph.microsoft.com (Microsoft's endpoints take HTTPS only)" }).nullable().default(null),
    users: z.enum(["all", "groups"]).default("all"),
    scopeGroups: z.array(z.string().trim().min(1)).default([]),
    includeGuests: z.boolean().default(false),
    /**
     * "Sync managers": each user's Entra ID manager becomes its Rollcall manager (src/sync/managers.ts). Off, the users
     * delta query does not ask for it (one more relationship Graph resolves for every user) and managers stay manual.
     */
    syncManagers: z.boolean().default(false),
    groupMode: z.enum(["none", "selected", "attribute", "all"]).default("none"),
    groups: z.array(z.string().trim().min(1)).default([]),
    groupAttribute: graphProperty.nullable().default(null),
    ignoreGroups: z.array(z.string().trim().min(1)).default([]),
    ignoreGroupsContaining: z.array(z.string().trim().min(1)).default([]),
    mapping: z.record(fieldName, graphProperty).default({}),
    country: z.string().refine(isCountryCode, "must be an ISO 3166 two-letter country code").toUpperCase().nullable().default(null),
    onRemove: z.enum(["disable", "delete", "keep"]).default("disable"),
    linkByEmail: z.boolean().default(true),
    deletionThreshold: z
      .object({ percent: z.number({ error: share }).min(0, share).max(100, share), count: z.number({ error: users }).int(users).min(0, users) })
      .strict()
      .default({ percent: 10, count: 20 }),
    schedule: scheduleSchema.nullable().default(null),
    fullEveryMs: z.number().int().min(3_600_000, "must be at least one hour (1h): a full run lists the whole directory").default(7 * day),
    /** "Use as authentication server": this source's users sign in with Microsoft (OIDC, see src/auth). */
    signIn: z.boolean().default(false),
    /**
     * "Sync on change": Graph change notifications for users (and groups, when the source reads them) start a delta
     * run shortly after a change (src/sync/change-sync.ts); needs ROLLCALL_PUBLIC_URL reachable from Microsoft.
     */
    syncOnChange: z.boolean().default(false),
    /**
     * "Sync photos": each user's profile photo (240×240 where Entra has it, else the largest smaller one), fetched for
     * users a run creates or changes and, in a full run, checked for every user by its media ETag (src/sync/photos.ts).
     */
    photos: z.boolean().default(false),
  })
  .strict();

export const entraConfigSchema = entraConfigObject.superRefine((c, ctx) => {
    if (c.users === "groups" && c.scopeGroups.length === 0) ctx.addIssue({ code: "custom", path: ["scopeGroups"], message: "name at least one group when users = groups" });
    if (c.groupMode === "selected" && c.groups.length === 0) ctx.addIssue({ code: "custom", path: ["groups"], message: "name at least one group when group mode = selected" });
    if (c.groupMode === "attribute" && !c.groupAttribute) ctx.addIssue({ code: "custom", path: ["groupAttribute"], message: "is required when group mode = attribute (e.g. department)" });
  });

/** The settings as a patch (API bodies): every field optional and without defaults, so absent means "unchanged"; a tenant ID given is checked strictly. */
export const entraConfigPatch = z
  .object(Object.fromEntries(Object.entries(entraConfigObject.shape).map(([key, schema]) => [key, (schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : (schema as z.ZodType)).optional()])))
  .extend({
    tenantId: z.string().trim().min(1, "is required").superRefine((value, ctx) => {
      const problem = tenantIdProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }).optional(),
  })
  .strict();

export type EntraConfig = z.output<typeof entraConfigSchema>;
export type EntraConfigInput = z.input<typeof entraConfigSchema>;

export function endpoints(config: Pick<EntraConfig, "cloud" | "loginUrl" | "graphUrl">): { loginUrl: string; graphUrl: string } {
  const cloud = clouds[config.cloud];
  return {
    loginUrl: (config.loginUrl ?? cloud.loginUrl).replace(/\/+$/, ""),
    graphUrl: (config.graphUrl ?? cloud.graphUrl).replace(/\/+$/, "").replace(/\/v1\.0$/, ""),
  };
}

/** Does the source need to read groups (Group.Read.All)? Attribute groups come from user properties. */
export function needsGroups(config: Pick<EntraConfig, "users" | "groupMode">): boolean {
  return config.users === "groups" || config.groupMode === "selected" || config.groupMode === "all";
}

export function effectiveMapping(config: Pick<EntraConfig, "mapping">): Record<string, string> {
  return { ...defaultMapping, ...config.mapping };
}

/**
 * The `$select` for users: only the properties the mapping, scope and group attribute read, the manager when managers
 * are synced, and, when guests are synced, `otherMails`: a guest without `mail` gets its invited address from there (mapping.ts fallbackEmail).
 */
export function userSelect(config: Pick<EntraConfig, "mapping" | "groupAttribute" | "groupMode"> & { includeGuests?: boolean; syncManagers?: boolean }): string[] {
  const props = new Set(["id", "userType", "userPrincipalName", "mail", "displayName", "accountEnabled", "usageLocation"]);
  // Selecting the relationship makes the delta query track it, as manager@delta (https://learn.microsoft.com/graph/delta-query-overview).
  if (config.syncManagers) props.add("manager");
  if (config.includeGuests && !config.mapping.email) props.add("otherMails");
  for (const path of Object.values(effectiveMapping(config))) props.add(path.split(".")[0]!);
  if (config.groupMode === "attribute" && config.groupAttribute) props.add(config.groupAttribute.split(".")[0]!);
  return [...props];
}
