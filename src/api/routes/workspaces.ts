import { z } from "zod";
import { entraFetch } from "../../sources/entra/custom-urls.ts";
import { createWorkspace, deleteWorkspace, resolveWorkspace, updateWorkspace } from "../../core/workspaces.ts";
import { visibleWorkspaces } from "../auth.ts";
import { route, type RouteModule } from "../route.ts";
import { actionFilterShape, changeSchema, csvDownload, day, limitParam, listOf, roleSchema, timestamp, workspaceParams, workspaceSchema } from "../schemas.ts";
import { lastRunSchema } from "./sources.ts";
import { workspaceOverview } from "../../core/workspace-overview.ts";
import { scimQuietAfterHours } from "../../domain/source.ts";
import { activityPage } from "../../core/change-log.ts";
import { activityActionMessage, activityKinds, isActivityAction } from "../../domain/change.ts";
import { changesCsv } from "../../core/change-export.ts";
import { sendCsv } from "../download.ts";

const activityFilter = z.object({
  actor: z.string().max(320).optional().describe("only this actor's changes: an admin's email, token:NAME for an API token (whoever created it), cli:USER for the local CLI run by that operating-system account, cli for any"),
  action: z.string().max(300).refine(isActivityAction, activityActionMessage).meta(actionFilterShape(activityKinds)).optional().describe(`only this kind of change (${activityKinds.join(", ")}), or one group's membership changes ("add to group Pilots")`),
});

const country = z.string().trim().max(2, "must be a two-letter country code").nullable().optional().describe("ISO 3166 code used to read local phone numbers, e.g. GB");

const overviewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: roleSchema.describe("what the caller may do here"),
    users: z.number().int(),
    notifications: z.number().int().describe("notifications neither resolved nor dismissed"),
    attention: z
      .object({
        level: z.enum(["critical", "warning"]).nullable().describe("the worst reason's; null: nothing needs attention"),
        reasons: z.array(z.string()).describe("worst first, one line each naming the source: a failed last run, a run stopped for review, a secret missing, expired or expiring within 30 days (a SCIM source's sign-in credential too), conflicts, a quiet SCIM source"),
      }),
    sources: z.array(
      z.object({
        name: z.string(),
        type: z.literal("entra"),
        lastRun: lastRunSchema,
        running: z.string().nullable().describe("the run going on now"),
        awaitingReview: z.string().nullable().describe("the newest real run, when it stopped at the deletion threshold and waits for approve or reject"),
        nextRunAt: timestamp.nullable(),
        secret: z.object({ set: z.boolean(), expiresOn: day.nullable(), daysLeft: z.number().int().nullable().describe("0 or less: expired") }),
      }),
    ).describe("its Entra ID sources"),
    scimSources: z.array(
      z.object({
        name: z.string(),
        type: z.literal("scim"),
        users: z.number().int().describe("users it provisioned"),
        groups: z.number().int().describe("groups it provisioned"),
        lastRequestAt: timestamp.nullable().describe("when Entra ID's provisioning service last called it (to the minute); null: never"),
        createdAt: timestamp,
        quiet: z
          .object({
            since: timestamp.describe("its last request, or when it was added if it was never called"),
            neverCalled: z.boolean(),
            hours: z.number().int().describe("whole hours silent"),
          })
          .nullable()
          .describe(`set when Entra ID's provisioning service (a cycle about every 40 minutes) has been silent for more than ${scimQuietAfterHours} hours, or never called ${scimQuietAfterHours} hours after the source was added: a warning`),
        signInSecret: z
          .object({ kind: z.enum(["secret", "certificate"]), expiresOn: day, daysLeft: z.number().int().describe("0 or less: expired") })
          .nullable()
          .describe("when the credential signing its users in with Microsoft expires; null when sign-in is off or no date is recorded"),
      }),
    ).describe("its SCIM sources, which Entra ID's provisioning service pushes to"),
  })
  .meta({ id: "WorkspaceOverview" });

export const workspaceRoutes: RouteModule = {
  tag: "Workspaces",
  description: "Each workspace is a separate directory. Owners see all of them; other admins only those they hold a role in; an API token exactly one.",
  routes: [
    route({
      method: "GET",
      url: "/workspaces/:workspace/activity",
      summary: "The workspace's activity, newest first: every change not made by a sync run (edits by people and scripts, imports, sources' and the workspace's settings, API tokens). Paged by entry: pass the answer's next as before",
      access: "workspace",
      params: workspaceParams,
      query: activityFilter
        .extend({
          limit: limitParam(500, 50),
          before: z.string().regex(/^\d{1,19}$/, "must be the next of a previous page").optional(),
        })
        .strict(),
      response: z.object({ items: z.array(changeSchema), next: z.string().nullable() }).meta({ id: "ActivityPage" }),
      handler: ({ ctx, query }) => activityPage(ctx.db, ctx.workspace.id, { actor: query.actor, action: query.action }, { limit: query.limit, before: query.before }),
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/activity.csv",
      summary: "The workspace's activity (filtered as GET …/activity) as a CSV download, newest first",
      access: "workspace",
      answers: csvDownload,
      params: workspaceParams,
      query: activityFilter.strict(),
      handler: ({ ctx, query, reply }) =>
        sendCsv(reply, `${ctx.workspace.name}-activity.csv`, changesCsv(ctx.db, ctx.workspace.id, { action: query.action, activity: { actor: query.actor } })),
    }),
    route({
      method: "GET",
      url: "/workspaces",
      summary: "List the workspaces you can use",
      access: "signed-in",
      response: listOf(workspaceSchema),
      async handler({ principal, rt }) {
        const items = await visibleWorkspaces(rt.store.db, principal);
        return { items, total: items.length, limit: items.length, offset: 0 };
      },
    }),
    route({
      method: "GET",
      url: "/workspace-overview",
      summary: "Every workspace you can use at a glance: its users, open notifications and sources' sync state, those needing attention first (critical, then warning, then by name), with why",
      access: "signed-in",
      response: listOf(overviewSchema),
      async handler({ principal, rt }) {
        const items = await workspaceOverview(rt.store.db, await visibleWorkspaces(rt.store.db, principal));
        return { items, total: items.length, limit: items.length, offset: 0 };
      },
    }),
    route({
      method: "POST",
      url: "/workspaces",
      summary: "Create a workspace (owners only)",
      access: "owner",
      status: 201,
      body: z.object({ name: z.string().trim().min(1, "is required"), defaultCountry: country }).strict(),
      response: workspaceSchema,
      async handler({ body, rt }) {
        return { ...(await createWorkspace(rt.store.db, body)), role: "admin" as const };
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace",
      summary: "Show a workspace",
      access: "workspace",
      params: workspaceParams,
      response: workspaceSchema,
      async handler({ ctx, role }) {
        return { ...ctx.workspace, role };
      },
    }),
    route({
      method: "PATCH",
      url: "/workspaces/:workspace",
      summary: "Change a workspace's settings",
      access: "workspace",
      params: workspaceParams,
      body: z.object({ defaultCountry: country }).strict(),
      response: workspaceSchema,
      async handler({ ctx, role, body }) {
        return { ...(await updateWorkspace(ctx.db, ctx.workspace, body, ctx.actor)), role };
      },
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace",
      summary: "Delete a workspace and everything in it: its users, groups, sources, runs and history (owners only; the default workspace stays)",
      access: "owner",
      status: 204,
      params: workspaceParams,
      async handler({ rt, params }) {
        await deleteWorkspace(rt.store.db, await resolveWorkspace(rt.store.db, params.workspace), { secrets: rt.secrets, fetch: entraFetch(rt.config) });
      },
    }),
  ],
};
