import { z } from "zod";
import type { Config } from "../config.ts";
import type { FieldProblem } from "../errors.ts";
import { guidPattern } from "../domain/guid.ts";
import { clouds, endpoints, tenantIdProblem, type Cloud } from "../sources/entra/config.ts";
import { customUrlProblems, isMicrosoftUrl } from "../sources/entra/custom-urls.ts";

/**
 * Sign in with Microsoft for a SCIM source's users. The enterprise application that provisions them is one app
 * registration, which also signs them in (OpenID Connect): its directory (tenant) ID, application (client) ID and a
 * client secret (sealed in sources.secret_ciphertext, write-only, as an Entra ID source's). src/auth matches the person.
 */
export const scimSignInShape = {
  signIn: z.boolean().default(false).describe("the source's users sign in with Microsoft, through the enterprise application's app registration (needs tenantId, clientId and a client secret)"),
  tenantId: z.string().trim().min(1).regex(/^[A-Za-z0-9.-]+$/, "must be a directory (tenant) ID or a verified domain").nullable().default(null).describe("the directory (tenant) ID people sign in from"),
  clientId: z.string().trim().regex(guidPattern, "must be the application (client) ID, a GUID").nullable().default(null).describe("the application (client) ID of the enterprise application's app registration"),
  cloud: z.enum(Object.keys(clouds) as [Cloud, ...Cloud[]]).default("global"),
  loginUrl: z.url({ protocol: /^https$/, error: "must be an https:// URL, e.g. https://login.microsoftonline.com (Microsoft's endpoints take HTTPS only)" }).nullable().default(null),
  secretExpiresOn: z.iso.date({ error: "must be a date as YYYY-MM-DD, e.g. 2027-06-30" }).nullable().default(null).describe("when the sign-in client secret (or certificate) expires: warned of at 30, 14, 7 and 1 days as an Entra ID source's; a certificate's own date unless one is given"),
  // Not a setting: the kind of the credential last given (clientSecret, or certificatePem with privateKeyPem).
  credential: z.enum(["secret", "certificate"]).default("secret"),
};

export type ScimSignInSettings = { signIn: boolean; tenantId: string | null; clientId: string | null; cloud: Cloud; loginUrl: string | null; secretExpiresOn: string | null; credential: "secret" | "certificate" };

/** The login host a SCIM source signs in at: its cloud's, or a custom one. */
export const scimLoginUrl = (settings: Pick<ScimSignInSettings, "cloud" | "loginUrl">): string => endpoints({ ...settings, graphUrl: null }).loginUrl;

/**
 * What is wrong with a SCIM source's sign-in settings as they would be saved (`after`), from the settings given, those
 * before, whether a secret is stored and whether one is given now. Empty when they can be saved.
 */
export function scimSignInProblems(input: {
  after: ScimSignInSettings;
  given: Partial<ScimSignInSettings>;
  before: ScimSignInSettings;
  secretStored: boolean;
  secretGiven: boolean;
  customUrls: Config["entraCustomUrls"];
}): FieldProblem[] {
  const { after, given, before } = input;
  const problems: FieldProblem[] = [];
  const tenantProblem = given.tenantId ? tenantIdProblem(given.tenantId) : undefined;
  if (tenantProblem) problems.push({ field: "tenantId", message: tenantProblem, value: given.tenantId });
  if (after.signIn) {
    const why = "is required to sign the source's users in with Microsoft";
    if (!after.tenantId) problems.push({ field: "tenantId", message: `${why}: the directory (tenant) ID (Azure portal › Microsoft Entra ID › Overview)` });
    if (!after.clientId) problems.push({ field: "clientId", message: `${why}: the application (client) ID of the enterprise application (Enterprise applications › your application › Properties)` });
    if (!input.secretStored && !input.secretGiven) problems.push({ field: "clientSecret", message: `${why}: a client secret of that application's app registration , or a certificate with its private key (App registrations › your app › Certificates & secrets; the CLI takes them with --client-secret-env VAR, or --certificate-file and --private-key-file)` });
  }
  if (after.signIn || given.loginUrl !== undefined || given.cloud !== undefined) {
    problems.push(...customUrlProblems({ ...after, graphUrl: null }, input.customUrls).filter((p) => p.field === "loginUrl"));
  }
  // As an Entra ID source's: the stored secret goes only to the login host it was entered for (or Microsoft's own).
  const [was, now] = [scimLoginUrl(before), scimLoginUrl(after)];
  if (input.secretStored && !input.secretGiven && was !== now && !isMicrosoftUrl(now)) {
    const field = before.credential === "certificate" ? "certificatePem" : "clientSecret";
    problems.push({ field, message: `must be given again when the login URL changes (${was} → ${now}): the stored ${before.credential} is only sent where it was entered for` });
  }
  return problems;
}
