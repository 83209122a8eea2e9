import { z } from "zod";
import { createUserSchema, updateUserSchema, userTag } from "../../domain/user.ts";
import { createUser, deleteUser, disableUser, forgetDeletedUser, listDepartments, showUser, listTags, listUsers, updateUser, userHistory, userVersion } from "../../core/users.ts";
import { bulkUsers } from "../../core/bulk-users.ts";
import { getMicrosoftLink, unlinkMicrosoftAccount } from "../../core/scim-signin-links.ts";
import { bulkActions, maxBulkListed, maxBulkUsers } from "../../domain/bulk.ts";
import { route, type RouteModule } from "../route.ts";
import { userPhotoRoutes } from "./user-photos.ts";
import { userSorts } from "../../storage/queries/users.ts";
import { changeSchema, historyQuery, limitParam, listOf, offsetParam, savedUserSchema, userDetailSchema, userFilterQuery, userSchema, listedUserSchema, workspaceParams, countParam, timestamp } from "../schemas.ts";

const microsoftLinkSchema = z
  .object({
    objectId: z.string().describe("the Microsoft account's object ID (oid)"),
    source: z.string().describe("the SCIM source whose sign-in linked it"),
    linkedAt: timestamp,
  })
  .meta({ id: "MicrosoftLink" });

const userParams = workspaceParams.extend({ id: z.string().describe("user id, email or user principal name") });

const listQuery = userFilterQuery
  .extend({
    limit: limitParam(500, 50),
    offset: offsetParam,
    after: z.string().max(2048).optional().describe("the next of the page before (with the same sort and order)"),
    sort: z.enum(userSorts).default("displayName"),
    order: z.enum(["asc", "desc"]).default("asc"),
    count: countParam,
  })
  .strict();

const bulkRequestSchema = z
  .object({
    action: z.enum(bulkActions),
    users: z.array(z.string().min(1).max(320)).min(1, "select at least one user").max(maxBulkUsers, `at most ${maxBulkUsers} at once`).optional().describe("ids, emails or user principal names"),
    filter: userFilterQuery
      .extend({ enabled: z.boolean().optional(), hasDepartment: z.boolean().optional(), nested: z.boolean().optional() })
      .strict()
      .optional()
      .describe("instead of users: every user these filters (those of GET …/users) match, however many; {} is every user of the workspace"),
    group: z.string().trim().min(1, "enter a group name").max(256).optional().describe("for addToGroup and removeFromGroup: the group's name or id"),
    tag: userTag
      .optional()
      .describe("for addTag and removeTag: the tag, as a user's tags take it (1 to 64 characters once trimmed); a user's tags differ by more than case, so one holding it in any case counts as having it. A source's tag (ID synced, Imported, Manual) is refused: Rollcall keeps each user's"),
  })
  .strict();

const bulkResultSchema = z.object({
  action: z.enum(bulkActions),
  group: z.string().nullable(),
  tag: z.string().nullable(),
  changed: z.number().int(),
  unchanged: z.number().int().describe("already in the asked state: disabled, enabled, a member, not a member, tagged, not tagged"),
  users: z
    .array(z.object({ id: z.string(), subject: z.string(), changed: z.boolean() }))
    .describe(`named users: each of them, in the order given; a filter's: the first ${maxBulkListed} it selected, by display name (more counts the rest)`),
  more: z.number().int().describe("how many selected users the users list leaves out: 0 for named users"),
});

export const userRoutes: RouteModule = {
  tag: "Users",
  description: "The directory's users. Synced fields of Entra ID users are read-only here.",
  routes: [
    route({
      method: "GET",
      url: "/workspaces/:workspace/users",
      summary: "List users: filtered, searched, sorted and paged on the server",
      description:
        "Keyset paging: pass the answer's next as after for the following page (null: the last page); a deep page costs what the first does, " +
        "and users added or removed meanwhile do not shift the pages. offset pages too (numbered pages), reading every user it skips. " +
        "Ties of the sort go by id, in the same order.",
      access: "workspace",
      params: workspaceParams,
      query: listQuery,
      response: listOf(listedUserSchema).extend({
        total: z.number().int().nullable().describe("how many users match; null with count=false"),
        next: z.string().nullable().describe("after for the next page; null when this is the last"),
      }),
      async handler({ ctx, query }) {
        const { limit, offset, after, sort, order, count, ...filter } = query;
        const { items, total, next } = await listUsers(ctx, filter, { limit, offset, after, sort, order }, { count: count !== false });
        return { items, total, limit, offset, next };
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/users/departments",
      summary: "The departments of the workspace's users, alphabetically, with how many users each: what the department filter takes",
      description: "Names differing only in case or in spaces around them are one department (the filter matches them all), shown as one of them, trimmed. Users without a department, or with one of spaces only, are counted apart.",
      access: "workspace",
      params: workspaceParams,
      response: z.object({
        items: z.array(z.object({ department: z.string(), users: z.number().int() })),
        withoutDepartment: z.number().int().describe("users with no department (none, or spaces only): hasDepartment=false lists them"),
      }),
      handler: ({ ctx }) => listDepartments(ctx),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/users/tags",
      summary: "The tags the workspace's users hold, with how many users each: what the tag filter takes",
      description:
        "A tag is one whatever its case (the filter matches every spelling), shown in the spelling most of its users hold. " +
        "Sources' own tags (ID synced, Imported, Manual: Rollcall gives each user their source's) come first, marked source; then the others, alphabetically.",
      access: "workspace",
      params: workspaceParams,
      response: z.object({
        items: z.array(z.object({
          tag: z.string(),
          users: z.number().int(),
          source: z.boolean().describe("a source's own tag, which Rollcall sets and keeps: it cannot be added or removed by hand"),
        })),
      }),
      handler: ({ ctx }) => listTags(ctx),
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/users",
      summary: "Add a user by hand",
      access: "workspace",
      status: 201,
      params: workspaceParams,
      body: createUserSchema,
      bodyCheckedByHandler: true,
      response: savedUserSchema,
      handler: ({ ctx, body }) => createUser(ctx, body),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/users/:id",
      summary: "Show a user, with the groups they are in directly and through nesting",
      description:
        "groups: their direct groups; nestedGroups: those they are in only through them, each with the direct groups it comes through. " +
        "The ETag header is the user's version: send it back as If-Match with a PATCH, so that a change made meanwhile (another admin, an import, a sync) is a 412 instead of being overwritten.",
      access: "workspace",
      etag: { version: userVersion },
      params: userParams,
      response: userDetailSchema,
      handler: ({ ctx, params }) => showUser(ctx, params.id),
    }),
    route({
      method: "PATCH",
      url: "/workspaces/:workspace/users/:id",
      summary: "Change fields of a user (only the fields sent)",
      description: "With If-Match (the ETag of GET), applied only if the user is still that version; otherwise 412 precondition_failed and nothing changes. The answer's ETag is the new version.",
      access: "workspace",
      etag: { version: userVersion },
      params: userParams,
      body: updateUserSchema,
      bodyCheckedByHandler: true,
      response: savedUserSchema,
      handler: ({ ctx, params, body, ifMatch }) => updateUser(ctx, params.id, body, { ifMatch }),
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/users/:id",
      summary: "Delete a user; answers the user as it was",
      access: "workspace",
      params: userParams,
      response: userSchema,
      handler: ({ ctx, params }) => deleteUser(ctx, params.id),
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/users/:id/disable",
      summary: "Disable a user (kept, but refused sign-in)",
      access: "workspace",
      params: userParams,
      response: userSchema,
      handler: ({ ctx, params }) => disableUser(ctx, params.id),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/users/:id/microsoft-link",
      summary: "The Microsoft account pinned to a SCIM source's user: the object ID that first signed in as them by user principal name (null: none)",
      access: "workspace",
      params: userParams,
      response: z.object({ userId: z.string(), link: microsoftLinkSchema.nullable() }),
      handler: ({ ctx, params }) => getMicrosoftLink(ctx, params.id),
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/users/:id/microsoft-link",
      summary: "Unlink the Microsoft account pinned to a user, keeping the user (e.g. their Entra account was made again, and sign-in is refused name_reused)",
      description: "The next person to sign in with Microsoft by the user's user principal name is matched, and linked, instead. Recorded in the user's history.",
      access: "workspace",
      params: userParams,
      errors: { 404: "not_found: no such user, or no Microsoft account is linked to them (details.resource: microsoftLink)" },
      response: z.object({ userId: z.string(), unlinked: microsoftLinkSchema }),
      handler: ({ ctx, params }) => unlinkMicrosoftAccount(ctx, params.id),
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/users/bulk",
      summary: "Disable, enable, delete, add to or remove from a group, or add or remove a tag, many users at once",
      description:
        "All or nothing, in one transaction: a key that names no user answers 404 and changes nothing. " +
        `Name the users (at most ${maxBulkUsers}), or give the Users page's filters to act on every user they match, however many: ` +
        "the filter is evaluated in the transaction, and the answer counts them and lists the first " + maxBulkListed + ". " +
        "Users already in the asked state count as unchanged. Each changed user's history records the change " +
        "(a tag's as an update of the user's tags, before and after). addTag refuses, changing nothing, when it would give a user more than 50 tags of their own.",
      access: "workspace",
      params: workspaceParams,
      body: bulkRequestSchema,
      response: bulkResultSchema,
      handler: ({ ctx, body }) => bulkUsers(ctx, body),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/users/:id/changes",
      summary: "A user's history, newest first: who changed what, before and after. A deleted user's history is kept: ask for it by id, email or userPrincipalName",
      access: "workspace",
      params: userParams,
      query: historyQuery,
      response: listOf(changeSchema),
      async handler({ ctx, params, query }) {
        const { changes, total } = await userHistory(ctx, params.id, query);
        return { items: changes, total, limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/users/:id/changes",
      summary: "Erase a deleted user's history (a request to forget a person): every entry about them; the activity keeps that it was done, not who it was about",
      access: "workspace",
      params: userParams,
      errors: { 409: "conflict: the user still exists; delete them first" },
      response: z.object({ userId: z.string(), entries: z.number().int().describe("the entries erased") }),
      handler: ({ ctx, params }) => forgetDeletedUser(ctx, params.id),
    }),
    ...userPhotoRoutes,
  ],
};
