import { z } from "zod";
import { createGroupSchema, updateGroupSchema } from "../../domain/group.ts";
import { membersShownCap } from "../../domain/group.ts";
import { sourceTypes, type SourceType } from "../../domain/user.ts";
import { addMember, createGroup, deleteGroup, groupHistory, groupMembers, groupVersion, listGroups, listGroupsWithMembers, removeMember, showGroup, updateGroup } from "../../core/groups.ts";
import { route, type RouteModule } from "../route.ts";
import { changeSchema, groupMemberSchema, groupSchema, groupWithMembersSchema, historyQuery, includeMembersParam, limitParam, listOf, offsetParam, timestamp, workspaceParams } from "../schemas.ts";

const isSourceType = (type: unknown): type is SourceType => (sourceTypes as readonly unknown[]).includes(type);

/** Source types, repeated (sourceType=manual&sourceType=import, as generated clients send a list) or comma-separated. */
const sourceTypesParam = z
  .preprocess((value, ctx) => {
    const listed = (Array.isArray(value) ? value : [value]).flatMap((type) => (typeof type === "string" ? type.split(",").map((t) => t.trim()) : [type]));
    const unknown = listed.find((type) => !isSourceType(type));
    // Said here, at the parameter, rather than at its n-th value.
    if (unknown !== undefined) ctx.addIssue({ code: "custom", message: `"${String(unknown)}" is not a source type; use ${sourceTypes.join(", ")}, or several comma-separated` });
    return listed.filter(isSourceType);
  }, z.array(z.enum(sourceTypes)))
  .optional()
  .describe(`the groups of any of these source types (${sourceTypes.join(", ")}), the parameter repeated or comma-separated; e.g. manual,import for the groups whose members can be changed here`);

const groupParams = workspaceParams.extend({ id: z.string().describe("group id or name") });

export const groupRoutes: RouteModule = {
  tag: "Groups",
  description: "Groups hold users and other groups. Groups synced from Entra ID are read-only here.",
  routes: [
    route({
      method: "GET",
      url: "/workspaces/:workspace/groups",
      summary: "List groups",
      description: "Each group with its memberCount; its members only with include=members (they can be many: page one group's with …/groups/{id}/members).",
      access: "workspace",
      params: workspaceParams,
      query: z
        .object({
          include: includeMembersParam,
          limit: limitParam(500, 50),
          offset: offsetParam,
          q: z.string().trim().max(256).optional().describe("name contains"),
          name: z.string().trim().min(1, "enter a group name").max(256).optional().describe("name equals, in any case: the one group of that name, or none (a filter's look-up)"),
          source: z.string().max(256).optional(),
          sourceType: sourceTypesParam,
        })
        .strict(),
      response: listOf(groupSchema),
      async handler({ ctx, query }) {
        const { limit, offset, include, ...filter } = query;
        const { items, total } = include === "members" ? await listGroupsWithMembers(ctx, filter, { limit, offset }) : await listGroups(ctx, filter, { limit, offset });
        return { items, total, limit, offset };
      },
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/groups",
      summary: "Create a group",
      access: "workspace",
      status: 201,
      params: workspaceParams,
      body: createGroupSchema,
      response: groupWithMembersSchema,
      handler: ({ ctx, body }) => createGroup(ctx, body),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/groups/:id",
      summary: "Show a group and its first direct members",
      description: `members: every direct member of a group of up to ${membersShownCap}; of a bigger one (memberCount says how many it has), ${membersShownCap} of them, or every one with include=members; …/members pages them. The ETag header is the group's version (name, description): send it back as If-Match with a PATCH.`,
      access: "workspace",
      etag: { version: groupVersion },
      params: groupParams,
      query: z.object({ include: includeMembersParam }).strict(),
      response: groupWithMembersSchema,
      handler: ({ ctx, params, query }) => showGroup(ctx, params.id, { allMembers: query.include === "members" }),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/groups/:id/members",
      summary: "A page of a group's direct members: its member groups by name, then its users by display name",
      description: "Keyset paging: pass the answer's next as after for the following page (null: the last page); a deep page costs what the first does.",
      access: "workspace",
      params: groupParams,
      query: z
        .object({
          limit: limitParam(500, 50),
          after: z.string().max(2048).optional().describe("the next of the page before"),
          q: z.string().trim().max(256).optional().describe("a user's display name, email or UPN, or a group's name, contains"),
        })
        .strict(),
      response: z.object({
        items: z.array(groupMemberSchema),
        total: z.number().int().describe("how many members match (all of them without q)"),
        limit: z.number().int(),
        next: z.string().nullable().describe("after for the next page; null when this is the last"),
      }),
      handler: ({ ctx, params, query }) => groupMembers(ctx, params.id, query),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/groups/:id/changes",
      summary: "A group's history, newest first: its own changes, and members added and removed one by one (a user a sync or an import created, or an import changed, has its groups in its own history entry). A deleted group's history is kept: ask for it by the id or name it had",
      access: "workspace",
      params: groupParams,
      query: historyQuery,
      response: listOf(changeSchema).extend({
        deleted: z
          .object({ id: z.string(), name: z.string(), deletedAt: timestamp, deletedBy: z.string() })
          .optional()
          .describe("present when no group of the workspace has the id or name: the deleted group this history is of (its last delete entry), which GET …/groups/{id} no longer answers"),
      }),
      async handler({ ctx, params, query }) {
        const { changes, total, deleted } = await groupHistory(ctx, params.id, query);
        return { items: changes, total, limit: query.limit, offset: query.offset, ...(deleted && { deleted }) };
      },
    }),
    route({
      method: "PATCH",
      url: "/workspaces/:workspace/groups/:id",
      summary: "Rename a group or change its description",
      description: "With If-Match (the ETag of GET), applied only if the group is still that version; otherwise 412 precondition_failed and nothing changes.",
      access: "workspace",
      etag: { version: groupVersion },
      params: groupParams,
      body: updateGroupSchema,
      response: groupWithMembersSchema,
      handler: ({ ctx, params, body, ifMatch }) => updateGroup(ctx, params.id, body, { ifMatch }),
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/groups/:id",
      summary: "Delete a group (its members stay); answers the group as it was, as GET shows it",
      access: "workspace",
      params: groupParams,
      response: groupWithMembersSchema,
      handler: ({ ctx, params }) => deleteGroup(ctx, params.id),
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/groups/:id/members",
      summary: "Add a user (id, email, UPN) or a group (id, name) as a direct member",
      description: "Answers the group as GET shows it, and added: false when it was a member already (nothing changed).",
      access: "workspace",
      params: groupParams,
      body: z.object({ member: z.string().trim().min(1, "is required").max(256) }).strict(),
      response: groupWithMembersSchema.extend({ added: z.boolean().describe("false: it was a member already, nothing changed") }),
      handler: ({ ctx, params, body }) => addMember(ctx, params.id, body.member),
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/groups/:id/members/:member",
      summary: "Remove a direct member; answers the group as GET shows it",
      access: "workspace",
      params: groupParams.extend({ member: z.string().describe("user id, email or UPN, or group id or name") }),
      response: groupWithMembersSchema,
      handler: ({ ctx, params }) => removeMember(ctx, params.id, params.member),
    }),
  ],
};
