import { z } from "zod";
import { errorCodes, type FieldProblem } from "../errors.ts";
import { sourceTypes, type ListedUser, type User, type UserDetail } from "../domain/user.ts";
import { statusActions } from "../domain/user-status.ts";
import { changeKinds, membershipActionPattern, membershipKinds } from "../domain/change.ts";
import { comparedFields } from "../sync/plan.ts";
import { membersShownCap, type Group, type GroupDetail, type GroupMember } from "../domain/group.ts";
import { runTriggers } from "../storage/schema.ts";
import type { Workspace } from "../core/workspaces.ts";
import type { ApiToken } from "../core/tokens.ts";
import type { Account } from "../core/accounts.ts";

/**
 * Response shapes. Every response is parsed through one of these before it is sent, and zod objects
 * drop keys they do not name, so a field that is not listed here (a hash, a secret) cannot leak.
 * `satisfies` keeps them in step with the domain types the CLI prints.
 */
/** Documented as date-time (RFC 3339, as toISOString writes it, in UTC) without a check of its own: test/api/openapi-conformance.test.ts holds every answer to it. */
export const timestamp = z.string().meta({ format: "date-time" });
const iso = timestamp.describe("ISO 8601 timestamp, UTC");
/** A day, YYYY-MM-DD. */
export const day = z.string().meta({ format: "date" });

/** One field's problem (errors.ts FieldProblem), as invalid_input lists them, and a conflict over a group's name. */
const fieldProblemSchema = z
  .object({
    field: z.string().describe('the field as the request names it, e.g. displayName, aliases[1], customAttributes.office; "(body)" or "(query)" for the whole'),
    message: z.string(),
    value: z.unknown().optional().describe("the value refused, when it helps to see it"),
    in: z.enum(["path", "query"]).optional().describe("where the field was sent, when not in the body"),
  })
  .meta({ id: "FieldProblem" }) satisfies z.ZodType<FieldProblem & { in?: "path" | "query" }>;

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(errorCodes).describe("stable machine-readable code, e.g. invalid_input, not_found, conflict"),
      message: z.string(),
      details: z
        .object({ fields: z.array(fieldProblemSchema).optional().describe("invalid_input: each problem, at its field") })
        .catchall(z.unknown())
        .describe("what the code's answer adds, e.g. fields for invalid_input, allowed for method_not_allowed, retryAfter for rate_limited; {} when nothing"),
    }),
  })
  .meta({ id: "Error" });

export const sourceSchema = z.object({ type: z.enum(sourceTypes), name: z.string(), externalId: z.string().nullable() });

/** Another user as a user names them: their manager, their direct reports. */
export const userRefSchema = z.object({ id: z.string(), displayName: z.string(), email: z.string().nullable() }).meta({ id: "UserRef" });

export const userSchema = z
  .object({
    id: z.string(),
    userPrincipalName: z.string().nullable(),
    email: z.string().nullable(),
    displayName: z.string(),
    givenName: z.string().nullable(),
    surname: z.string().nullable(),
    department: z.string().nullable(),
    jobTitle: z.string().nullable(),
    employeeId: z.string().nullable(),
    mobilePhone: z.string().nullable(),
    businessPhones: z.array(z.string()),
    preferredLanguage: z.string().nullable(),
    enabled: z.boolean(),
    aliases: z.array(z.string()),
    cardNumbers: z.array(z.string()),
    customAttributes: z.record(z.string(), z.string()),
    source: sourceSchema,
    tags: z.array(z.string()),
    groups: z.array(z.string()),
    manager: userRefSchema.nullable().describe("the user's manager: synced from Entra ID (a source with syncManagers on), or set by hand (PATCH manager) on a manual or imported user; null for none"),
    createdAt: iso,
    updatedAt: iso,
  })
  .meta({ id: "User" }) satisfies z.ZodType<User>;

/** A user in a list (GET …/users): also whether they have a photo, so that a list asks for the photos that exist only. */
export const listedUserSchema = userSchema
  .extend({
    hasPhoto: z.boolean().describe("the user has a photo: GET …/users/{id}/photo answers it, with an ETag (If-None-Match: 304); false: it answers 404"),
  })
  .meta({ id: "ListedUser" }) satisfies z.ZodType<ListedUser>;

/**
 * A user on their own (GET …/users/{id}): also the groups they are in through nesting, which lists leave out, the
 * change that gave them their status, and a sync's open conflict over them.
 */
export const userDetailSchema = userSchema
  .extend({
    nestedGroups: z
      .array(
        z.object({
          name: z.string(),
          through: z.array(z.string()).describe("the user's own groups (of groups) this one holds, directly or through other groups, sorted"),
        }),
      )
      .describe("the groups the user is in only through nesting (a group holding one of their groups, at any depth), sorted by name; groups lists the direct ones"),
    directReports: z.array(userRefSchema).describe("the users whose manager this user is, sorted by display name (GET …/users?manager=ID lists them in full)"),
    statusChange: z
      .object({
        enabled: z.boolean(),
        action: z.enum(statusActions).describe("create, disable, enable, or update and link (an import's or a sync's change that set it among others)"),
        at: iso,
        actor: z.string(),
        runId: z.string().nullable().describe("the sync run that made it; null for a change made here (by hand, an import, a bulk action)"),
        syncSource: z.string().nullable().describe("that run's Entra ID source"),
        reason: z.string().nullable().describe('why, as the entry says it, e.g. "Entra ID has the account disabled (sign-in blocked there)"'),
      })
      .nullable()
      .describe("the newest change of the user's history that set enabled (their creation if none since): who disabled or enabled them, when, in which sync, and why; not part of the ETag"),
    openConflict: z
      .object({ message: z.string().describe("what the conflict is and how to resolve it"), at: iso, runId: z.string().nullable(), syncSource: z.string().nullable() })
      .nullable()
      .describe("a sync's conflict over the user that their history ends with (each run still meeting it logs it again once something else was logged): most likely still open; not part of the ETag"),
    photoSource: z.string().nullable().describe("the Entra ID source that syncs the user's photo (its photos option on): PUT and DELETE …/photo answer 409; null: an admin may set or remove one"),
  })
  .meta({ id: "UserDetail" }) satisfies z.ZodType<UserDetail>;

/** A user as adding or changing it left it, and what the given values lost on the way. */
export const savedUserSchema = userSchema
  .extend({
    warnings: z
      .array(z.string())
      .describe('what the values lost on the way, each "field: message", e.g. a phone number\'s extension, which E.164 cannot hold; also in the user\'s history. Empty when nothing was lost'),
  })
  .meta({ id: "SavedUser" });

/** The fields around `members`, in the order the CLI's --json has always printed a group (its answers are parsed in this order). */
const groupHead = { id: z.string(), name: z.string(), description: z.string().nullable(), source: sourceSchema };
const groupTail = { memberCount: z.number().int().describe("how many direct members it has"), createdAt: iso, updatedAt: iso };
const memberLabels = z.array(z.string());

/** A group in a list: its member count; its members only when the list is asked for them (include=members). */
export const groupSchema = z
  .object({
    ...groupHead,
    members: memberLabels.optional().describe("only with include=members: every direct member, user emails (else UPN or display name) and group names, sorted"),
    memberOf: z.array(z.string()).optional().describe("only with include=members: the names of the groups this one is a direct member of, sorted"),
    ...groupTail,
  })
  .meta({ id: "Group" }) satisfies z.ZodType<Group & { members?: string[]; memberOf?: string[] }>;

/** A group on its own: its first members (all of most groups), all of them with include=members. */
export const groupWithMembersSchema = z
  .object({
    ...groupHead,
    members: memberLabels.describe(
      `user emails (else UPN or display name) and group names, sorted: every direct member of a group of up to ${membersShownCap}; of a bigger one (memberCount), ${membersShownCap} of them, the first of …/members' order (page the rest there), or every one with include=members`,
    ),
    memberOf: z.array(z.string()).describe("the names of the groups this one is a direct member of, sorted (deleting it takes it out of them)"),
    memberCount: groupTail.memberCount,
    nestedUserCount: z
      .number()
      .int()
      .describe("how many distinct users it holds at any depth: its direct users and those of the groups nested in it, each once (what GET …/users?group=NAME&nested=true lists); lists leave it out, for what it costs a big group"),
    createdAt: iso,
    updatedAt: iso,
  })
  .meta({ id: "GroupWithMembers" }) satisfies z.ZodType<GroupDetail>;

export const groupMemberSchema = z
  .object({
    id: z.string().describe("the user's or the group's id"),
    kind: z.enum(["user", "group"]),
    displayName: z.string().describe("a user's display name, a group's name"),
    email: z.string().nullable().describe("a user's email; null for a group and a user without one"),
  })
  .meta({ id: "GroupMember" }) satisfies z.ZodType<GroupMember>;

/** `include=members`: a group's members are listed only when asked for (a group may hold the whole tenant). */
export const includeMembersParam = z
  .enum(["members"], { error: "must be members" })
  .optional()
  .describe("members: every direct member of each group answered (a group of 96,000 users lists 96,000 labels)");

export const roleSchema = z.enum(["admin", "viewer"]);

export const workspaceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    defaultCountry: z.string().nullable(),
    createdAt: iso,
    role: roleSchema.describe("what the caller may do here: admin (read and change) or viewer (read)"),
  })
  .meta({ id: "Workspace" }) satisfies z.ZodType<Workspace & { role: string }>;

export const tokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: roleSchema,
    workspace: z.string(),
    createdAt: iso,
    lastUsedAt: iso.nullable(),
    revokedAt: iso.nullable(),
    expiresAt: iso.nullable().describe("after this the token is refused; null: never"),
  })
  .meta({ id: "ApiToken" }) satisfies z.ZodType<ApiToken>;

export const createdTokenSchema = tokenSchema.extend({ token: z.string().describe("shown once; send as Authorization: Bearer …") });

export const accountSchema = z
  .object({ id: z.string(), email: z.string(), displayName: z.string(), isOwner: z.boolean(), createdAt: iso })
  .meta({ id: "Account" }) satisfies z.ZodType<Account>;

/** The fields a sync's update names as changed: those it compares, and a link's source and tags. */
const syncChangedFields = [...comparedFields, "source", "tags"] as const;
const kindsWithoutGroup = changeKinds.filter((kind) => !(membershipKinds as readonly string[]).includes(kind)) as [string, ...string[]];
const loggedText = z.string().nullable().optional();
const loggedList = z.array(z.string()).nullable().optional();

/**
 * What a change's before and after hold: the fields of its subject it changed (a user's, a group's; a creation or a
 * deletion all of them) and what the entry says in words. Named here with their types where every entry agrees on
 * them; others (a source's settings, a token's, a removal's outcome) are passed through as logged.
 */
const changeValuesSchema = z
  .object({
    id: z.string().optional().describe("the user's id, in a whole user's snapshot"),
    userPrincipalName: loggedText,
    email: loggedText,
    displayName: loggedText,
    givenName: loggedText,
    surname: loggedText,
    department: loggedText,
    jobTitle: loggedText,
    employeeId: loggedText,
    mobilePhone: loggedText,
    businessPhones: loggedList,
    preferredLanguage: loggedText,
    enabled: z.boolean().optional(),
    aliases: loggedList,
    cardNumbers: loggedList,
    customAttributes: z.record(z.string(), z.string().nullable()).nullable().optional(),
    tags: loggedList,
    groups: loggedList.describe("a created user's groups; a deleted one's"),
    name: loggedText.describe("a group's name, or a token's, a source's, a workspace's"),
    description: loggedText.describe("a group's description"),
    changed: z.array(z.enum(syncChangedFields)).optional().describe("a sync's update or link: the fields it changed (the others are the user's as they were)"),
    reason: loggedText.describe("why, e.g. why a sync disabled the user or why they left a group"),
    message: loggedText.describe("what a conflict, an unlink or a removal says"),
    messages: loggedList.describe("a warning's messages"),
    replaces: z
      .object({ id: z.string(), deletedAt: iso, deletedBy: z.string(), source: z.string() })
      .optional()
      .describe('a sync\'s "create" of a user deleted before: the deleted user of the same source and Entra object ID (whose history GET …/users/{id}/changes still answers); a sync\'s "create group": the deleted group of the same source and Entra object ID'),
  })
  .catchall(z.unknown())
  .nullable();
/**
 * Stored history (the change log, notifications) documented as `shape` but answered as stored, unchecked: an entry
 * an older version wrote another way is still shown, rather than failing the whole page it is on (its writers are
 * typed; the conformance test checks answers against the document). Unparsed, its keys keep their order, and the CLI
 * prints a change the same locally and through a server.
 */
export function storedAs(shape: z.ZodType) {
  const { $schema: _dialect, ...documented } = z.toJSONSchema(shape, { io: "output", target: "draft-2020-12" });
  return z.unknown().meta(documented);
}
const loggedValues = storedAs(changeValuesSchema);

/** An action filter as the document shows it: a kind of `kinds`, or one group's membership changes (the route checks it itself). */
export const actionFilterShape = (kinds: readonly string[]) => ({ anyOf: [{ type: "string", enum: [...kinds] }, { type: "string", pattern: membershipActionPattern }] });

export const changeSchema = z
  .object({
    id: z.string(),
    at: iso,
    actor: z.string().describe("who made it: an admin's email; token:NAME, an API token (token:NAME by EMAIL when an admin created it); cli:USER, the local CLI run by that operating-system account (cli in entries made before it was recorded); sync:SOURCE, schedule"),
    action: storedAs(
      z.union([z.enum(kindsWithoutGroup), z.string().regex(new RegExp(membershipActionPattern)).describe('a membership change names its group: "add to group Pilots"')]),
    ).describe("what was done: its kind, but a membership change names its group"),
    kind: storedAs(z.enum(changeKinds)).describe("the action's kind: the action itself, or a membership change without its group (add to group, remove from group)"),
    subject: z.string(),
    runId: z.string().nullable(),
    run: z
      .object({
        source: z.string().nullable().describe("its source's name; null once the source was removed"),
        trigger: z.enum(runTriggers),
        requestedBy: z.string().nullable().describe("who started it, an actor as `actor` gives one (an admin who started it: `actor` is theirs too); null on old runs"),
      })
      .nullable()
      .describe("the sync run that made it (runId): a change a run made is the sync's, not an edit by the admin who started the run"),
    before: loggedValues.describe("the subject before the change; null for a creation"),
    after: loggedValues.describe("the subject after the change; null for a deletion"),
  })
  .meta({ id: "Change" });

/** Every list answers the same envelope. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
}

/** Query-string helpers: everything arrives as text. */
export const limitParam = (max: number, fallback: number) =>
  z.coerce.number({ error: "must be a whole number" }).int("must be a whole number").min(1, "must be at least 1").max(max, `must be at most ${max}`).default(fallback);
export const offsetParam = z.coerce.number({ error: "must be a whole number" }).int("must be a whole number").min(0, "must be 0 or more").default(0);
/** A user's or a group's history (GET …/changes), a page at a time. */
export const historyQuery = z
  .object({
    limit: limitParam(500, 100),
    offset: offsetParam,
    before: z.string().regex(/^\d{1,19}$/, "must be the id of an entry").optional().describe("only entries older than this one (the last id of the page before): pages that entries logged meanwhile do not shift"),
  })
  .strict();
export const booleanParam = z
  .enum(["true", "false"], { error: "must be true or false" })
  .transform((v) => v === "true");

/** What a client paging by `after` through a whole list sends after its first page: each page otherwise counts the list again. */
export const countParam = booleanParam.optional().describe("false: total (and a run log's actions) null, not counted; default true");

export const workspaceParams = z.object({ workspace: z.string().describe("workspace name or id") });

/** What the download routes answer, for the OpenAPI document. */
const attachment = { "Content-Disposition": 'attachment; filename="…": the name to save it under' };
export const csvDownload = { "200": { description: "A CSV file (UTF-8 with a byte-order mark), as an attachment", content: ["text/csv"], headers: attachment } };
export const spreadsheetDownload = {
  "200": { description: "The file as an attachment: CSV or XLSX as format asks", content: ["text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"], headers: attachment },
};

/** Which users a list, an export or a bulk action is about: the Users page's filters. */
export const userFilterQuery = z.object({
  q: z.string().trim().max(256).optional().describe("display name, email, UPN or employee id contains (case and accents ignored), or a card number or an alias is the term (a card of digits with or without its leading zeros); a term written as a phone number (4 digits or more) also finds the mobile and business phones holding its digits"),
  source: z.string().max(256).optional().describe("source name, e.g. manual"),
  sourceType: z.enum(sourceTypes).optional(),
  tag: z.string().max(64).optional().describe("users holding this tag, in any case (GET …/users/tags lists them)"),
  enabled: booleanParam.optional(),
  group: z.string().max(256).optional().describe("direct members of this group (name); with nested=true, members of the groups nested in it too"),
  nested: booleanParam.optional().describe("with group: true also matches the members of its member groups, at any depth (a user in several counts once); default false, direct members only"),
  department: z.string().max(256).optional().describe("users of this department: exact, case-insensitive, spaces around ignored (GET …/users/departments lists them); users without one match none"),
  hasDepartment: booleanParam.optional().describe("true: users with a department; false: users without one, or with one of spaces only (withoutDepartment of GET …/users/departments counts them)"),
  manager: z.string().max(320).optional().describe("the direct reports of this user (id, email or user principal name)"),
});
