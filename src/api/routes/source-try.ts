import { z } from "zod";
import { RollcallError } from "../../errors.ts";
import { sourceTypes } from "../../domain/user.ts";
import { sourceContext } from "../../core/sources.ts";
import { tryUserMapping } from "../../core/source-try.ts";
import { hiddenPin } from "../../sources/entra/try-user.ts";
import { route } from "../route.ts";
import { workspaceParams } from "../schemas.ts";

/** GET …/sources/{name}/try-user: what the source's mapping makes of one Entra user, before any sync. */
const nullableText = z.string().nullable();

/** A Graph property a PIN is mapped from shows this instead of its value, whatever its type. */
const orHidden = <T extends z.ZodType>(value: T) => z.union([value, z.literal(hiddenPin)]).nullable();
const graphText = orHidden(z.string()).optional();

/**
 * The Graph user as the sync's $select read it (config.ts userSelect): the properties every sync reads, those the
 * default mapping reads unless the source maps the field elsewhere, and any other property the source maps.
 */
const triedGraphSchema = z
  .object({
    id: z.string().describe("the Entra object ID"),
    userType: graphText.describe("Member or Guest"),
    userPrincipalName: graphText,
    mail: graphText,
    displayName: graphText,
    accountEnabled: orHidden(z.boolean()).optional(),
    usageLocation: graphText.describe("two-letter country code"),
    givenName: graphText,
    surname: graphText,
    department: graphText,
    jobTitle: graphText,
    employeeId: graphText,
    mobilePhone: graphText,
    businessPhones: orHidden(z.array(z.string())).optional(),
    preferredLanguage: graphText,
    otherMails: orHidden(z.array(z.string())).optional().describe("read when guests are synced and email is not mapped"),
  })
  .catchall(z.unknown())
  .describe(`the Graph properties read (the sync's $select), as Graph gave them: those named here, and any other the source maps; a property mapped to the PIN reads "${hiddenPin}"`);

const triedUserSchema = z
  .object({
    source: z.string(),
    key: z.string().describe("the user asked for, as given"),
    graph: triedGraphSchema,
    user: z.object({
      externalId: z.string().describe("the Entra object ID"),
      userPrincipalName: nullableText,
      email: nullableText,
      displayName: z.string(),
      givenName: nullableText,
      surname: nullableText,
      department: nullableText,
      jobTitle: nullableText,
      employeeId: nullableText,
      mobilePhone: nullableText,
      businessPhones: z.array(z.string()),
      preferredLanguage: nullableText,
      enabled: z.boolean(),
      aliases: z.array(z.string()),
      cardNumbers: z.array(z.string()),
      customAttributes: z.record(z.string(), z.string()),
      pin: z.enum(["set", "not set"]).optional().describe("only when the source maps a PIN: whether the user would get one (never its value)"),
    }).describe("the Rollcall fields the user would get"),
    origins: z.record(z.string(), z.string().nullable()).describe("each field of user (customAttributes.NAME for a custom attribute) and the Graph property it comes from"),
    warnings: z.array(z.string()).describe("what the mapping dropped or could not read (a phone number, an email, a PIN), as a sync's run would warn"),
    scope: z.object({
      inScope: z.boolean().nullable().describe("whether a sync takes this user; null when Graph would not list its groups"),
      reason: z.string(),
    }),
    match: z.object({
      action: z.enum(["create", "update", "link", "conflict"]),
      user: z.object({ id: z.string(), displayName: z.string(), email: nullableText, source: z.object({ type: z.enum(sourceTypes), name: z.string() }) }).nullable(),
      message: z.string(),
    }).describe("the Rollcall user a sync would write it to (by Entra object ID, else email or user principal name)"),
  })
  .meta({ id: "TriedUser" });

export const tryUserRoute = route({
  method: "GET", url: "/workspaces/:workspace/sources/:name/try-user", access: "workspace",
  summary: "Try the source's mapping on one Entra user (admins): the Graph properties read, the Rollcall fields it would get, warnings, scope, and the user it would update or link. Nothing is stored",
  description: "Gets a fresh token with the source's stored credential and reads GET /users/{id | userPrincipalName} (else by mail) with the sync's $select. A user Graph does not know answers 404 not_found; token and permission failures answer 502 with the AADSTS or Graph code and what to do, as the connection test says them.",
  errors: { 502: "source_auth_failed, source_permission_missing or source_unreachable: Entra ID refused the source's credential or permission, or could not be reached (the message says what to do)" },
  params: workspaceParams.extend({ name: z.string().describe("source name or id") }),
  query: z.object({ user: z.string().max(256).describe("a user principal name, an email (the user's mail) or an Entra object ID") }).strict(),
  response: triedUserSchema,
  async handler({ ctx, rt, params, query, role }) {
    // A read, but it uses the source's credential and shows a person's directory record: admins only.
    if (role !== "admin") throw new RollcallError("forbidden", `You have the viewer role in workspace "${ctx.workspace.name}": trying a source's mapping is for admins`, { role });
    return tryUserMapping(sourceContext(rt, ctx), params.name, query.user);
  },
});
