import { z } from "zod";
import type { FastifyRequest } from "fastify";
import { RollcallError, type FieldProblem } from "../../errors.ts";
import type { Runtime } from "../../runtime.ts";
import type { WorkspaceContext } from "../../core/context.ts";
import { assertIfMatch, versionOf } from "../../core/versions.ts";
import { createScimSource, getScimSource, scimRemovals, scimSourceProblems, updateScimSource, type ScimSource, type ScimSourceContext } from "../../core/scim-sources.ts";
import type { Credential } from "../../sources/entra/token.ts";
import { removeScimSource, type SourceRemoval } from "../../core/source-removal.ts";
import { baseUrlOf } from "../scim.ts";
import { timestamp } from "../schemas.ts";
import { refuseWhole, type ReadSourceBody } from "./source-body.ts";

/**
 * SCIM sources through the sources routes (routes/sources.ts): `type: "scim"` on create, and a name that is a SCIM
 * source's on show, change (and rename) and remove. Their settings are few (onRemove, country, and sign-in with Microsoft through the
 * enterprise application's app registration); their secret token is shown once, their sign-in client secret never.
 */
export const scimSourceResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.literal("scim"),
    config: z
      .object({
        onRemove: z.enum(scimRemovals),
        country: z.string().nullable(),
        signIn: z.boolean().describe("the source's users sign in with Microsoft (matched by tenant and object ID, or at first by userName = their user principal name)"),
        tenantId: z.string().nullable(),
        clientId: z.string().nullable(),
        cloud: z.enum(["global", "usgov", "usgovdod", "china"]),
        loginUrl: z.string().nullable(),
        secretExpiresOn: z.string().nullable().describe("when the sign-in client secret or certificate expires (YYYY-MM-DD): notifications at 30, 14, 7 and 1 days while sign-in is on"),
        credential: z.enum(["secret", "certificate"]).describe("the kind of sign-in credential last given: clientSecret, or certificatePem with privateKeyPem (read-only)"),
      })
      .meta({ id: "ScimSourceConfig" }),
    tenantUrl: z.string().describe("paste as the Tenant URL of the enterprise application's provisioning (Provisioning Mode: Automatic)"),
    status: z.object({
      users: z.number().int(),
      groups: z.number().int(),
      lastRequestAt: timestamp.nullable().describe("when Entra ID's provisioning service last made a request with the token (to the minute)"),
      tokenIssuedAt: timestamp,
    }),
    secret: z.object({ set: z.boolean(), expiresOn: z.string().nullable(), daysLeft: z.number().int().nullable(), description: z.string() }).describe("the sign-in client secret (write-only: clientSecret, or certificatePem with privateKeyPem): whether one is stored"),
    createdAt: timestamp,
    updatedAt: timestamp,
    token: z.string().optional().describe("the Secret Token: only in the answer that issued it (create, or newScimToken), never again"),
  })
  .meta({ id: "ScimSource" });

/** The keys a SCIM source takes in a sources body, on create and update alike; any other is refused by name. */
const settings = ["onRemove", "country", "signIn", "tenantId", "clientId", "cloud", "loginUrl", "secretExpiresOn"] as const;
const scimKeys = new Set<string>(["type", "name", "newScimToken", ...settings, "clientSecret", "certificatePem", "privateKeyPem"]);

function scimConfigOf(body: Record<string, unknown>): { config: Record<string, unknown>; problems: FieldProblem[] } {
  const others = Object.keys(body).filter((key) => !scimKeys.has(key));
  const problems = others.map((field) => ({ field, message: "is not a setting of a SCIM source (it takes name, onRemove, country, newScimToken, and signIn, tenantId, clientId, cloud, loginUrl, clientSecret or certificatePem with privateKeyPem, secretExpiresOn)" }));
  return { config: Object.fromEntries(settings.filter((key) => body[key] !== undefined).map((key) => [key, body[key]])), problems };
}

export const scimSourceVersion = (source: ScimSource) => versionOf({ id: source.id, name: source.name, config: source.config, tokenIssuedAt: source.status.tokenIssuedAt, secret: source.secret.set });

/** `own`: the route's problems with the body so far; refused with every other (refuseWhole). */
export async function createScimSourceFrom(ctx: ScimSourceContext, rt: Runtime, request: FastifyRequest, read: ReadSourceBody, own: FieldProblem[], credential: Credential | undefined) {
  const { body } = read;
  if (body.newScimToken !== undefined) own.push({ field: "newScimToken", message: "is for an existing source: a new one gets its token anyway" });
  const { config, problems } = scimConfigOf(body);
  const given = { name: String(body.name ?? "").trim(), config, credential };
  await refuseWhole(read, [...own, ...problems], () => scimSourceProblems(ctx, given, undefined));
  return createScimSource(ctx, given, baseUrlOf(rt, request));
}
/** The SCIM source `key` names, or undefined when it names none (an Entra ID source, or nothing). */
export async function findScimSource(ctx: WorkspaceContext, rt: Runtime, request: FastifyRequest, key: string): Promise<ScimSource | undefined> {
  return getScimSource(ctx, key, baseUrlOf(rt, request)).catch((error: unknown) => {
    if (error instanceof RollcallError && error.code === "not_found") return undefined;
    throw error;
  });
}

export async function updateScimSourceFrom(ctx: ScimSourceContext, rt: Runtime, request: FastifyRequest, source: ScimSource, read: ReadSourceBody, own: FieldProblem[], ifMatch: string | undefined, credential: Credential | undefined) {
  const { body } = read;
  if (body.type !== undefined && body.type !== "scim") own.push({ field: "type", message: `"${source.name}" is a SCIM source; a source's type cannot change` });
  const { config, problems } = scimConfigOf(body);
  const name = typeof body.name === "string" ? body.name : undefined;
  const rename = name !== undefined && name.trim() !== source.name ? name.trim() : undefined;
  await refuseWhole(read, [...own, ...problems], () => scimSourceProblems(ctx, { name: rename, config, credential }, source));
  assertIfMatch(ifMatch, scimSourceVersion(source), "source");
  return updateScimSource(ctx, source.id, { name, config, newToken: body.newScimToken === true, credential }, baseUrlOf(rt, request));
}

export const removeScimSourceFrom = (ctx: WorkspaceContext, source: ScimSource, users: SourceRemoval) => removeScimSource(ctx, source, users);
