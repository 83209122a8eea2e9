import { z } from "zod";
import { errorCodes } from "../../errors.ts";
import { createEntraSource, getSource, listSources, loadSourceForSync, sourceContext, sourceVersion, testSource, updateEntraSource, type Source } from "../../core/sources.ts";
import { assertSourceOfEitherKind } from "../../core/source-not-found.ts";
import { removeSource, sourceRemovals } from "../../core/source-removal.ts";
import { cancelRun, getRun, pageOfRuns, rejectRun, runChangePage, runWithChanges } from "../../core/runs.ts";
import { entraFetch } from "../../sources/entra/custom-urls.ts";
import { aadstsCodePattern, checkCodes, checkNames, findDirectoryGroups, graphCodePattern } from "../../sources/entra/connect.ts";
import { entraConfigObject } from "../../sources/entra/config.ts";
import { checkEntraSource } from "../../core/entra-source-checks.ts";
import { credentialOf, readSourceBody, refuseWhole, sourceBody } from "./source-body.ts";
import { approveRun, syncSource } from "../../sync/service.ts";
import type { Runtime } from "../../runtime.ts";
import type { WorkspaceContext } from "../../core/context.ts";
import { sendCsv } from "../download.ts";
import { changesCsv } from "../../core/change-export.ts";
import { keptDryRuns } from "../../sync/dry-run-history.ts";
import { route, type RouteModule } from "../route.ts";
import { actionFilterShape, changeSchema, csvDownload, day, limitParam, listOf, offsetParam, timestamp, workspaceParams, countParam } from "../schemas.ts";
import { runModes, runStatuses, runTriggers } from "../../storage/schema.ts";
import { runCountKeys, type RunCounts } from "../../domain/run-counts.ts";
import { syncPhases, type RunProgress } from "../../sync/run-record.ts";
import { isRunAction, runActionMessage, runKinds } from "../../domain/change.ts";
import { tryUserRoute } from "./source-try.ts";
import { subscribedResources } from "../../sources/entra/subscriptions.ts";
import { createScimSourceFrom, findScimSource, removeScimSourceFrom, scimSourceResponse, scimSourceVersion, updateScimSourceFrom } from "./scim-sources.ts";
import { listScimSources, type ScimSource } from "../../core/scim-sources.ts";
import { baseUrlOf } from "../scim.ts";

/**
 * Entra ID sources and their runs. The client secret is write-only: it is accepted in bodies and never
 * returned (a source shows "set, expires on …"). A sync answers at once with the running run; its
 * progress and change log are read from /runs/{id} while it goes.
 */
const iso = timestamp;
const runStatusSchema = z.enum(runStatuses);
const count = z.number().int().optional();
const runCountsSchema = z
  .object(Object.fromEntries(runCountKeys.map((key) => [key, count])) as Record<(typeof runCountKeys)[number], typeof count>)
  .describe("what the run did (a dry run or a stopped one: would do), by kind; a running run has none yet, a failed one 0 of each with errors 1: its apply is one transaction, so it changed nothing") satisfies z.ZodType<RunCounts>;
const runProgressSchema = z
  .object({
    phase: z.enum(syncPhases),
    users: z.number().int().optional().describe("users listed from Entra ID so far"),
    groups: z.number().int().optional().describe("groups listed so far"),
    planned: z.number().int().optional().describe("users planned so far, of toPlan"),
    toPlan: z.number().int().optional(),
    note: z.string().optional().describe("what the run is doing about a setback, e.g. listing again"),
    timings: z.record(z.string(), z.number()).optional().describe("milliseconds spent in each finished phase"),
  })
  .describe("where the run is: phase from the start, the counters once its runner reports (about once a second)") satisfies z.ZodType<RunProgress>;
const sourceParams = workspaceParams.extend({ name: z.string().describe("source name or id") });
const runParams = workspaceParams.extend({ id: z.string().describe("run id") });

/** A source's newest run (a preview too): its card and the workspaces' overview show it. */
export const lastRunSchema = z
  .object({ id: z.string(), status: runStatusSchema, mode: z.enum(runModes), dryRun: z.boolean(), counts: runCountsSchema, startedAt: iso, finishedAt: iso.nullable() })
  .nullable();

const sourceResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.literal("entra"),
    config: entraConfigObject.meta({ id: "EntraSourceConfig" }),
    secret: z.object({ set: z.boolean(), expiresOn: day.nullable(), daysLeft: z.number().int().nullable().describe("Whole days until expiresOn (UTC), counted up: 0 or less is expired"), description: z.string() }),
    status: z.object({
      syncedUsers: z.number().int(),
      syncedGroups: z.number().int(),
      lastRun: lastRunSchema,
      running: z.string().nullable(),
      awaitingReview: z.string().nullable().describe("the newest real run, when it stopped at the deletion threshold and waits for approve or reject"),
      overlapping: z.array(z.string()).describe("other Entra ID sources of the workspace reading the same tenant for some of the same users (all users, or a scope group in both): a user both claim is a conflict"),
      nextRunAt: iso.nullable(),
      subscriptions: z
        .array(
          z.object({
            resource: z.enum(subscribedResources),
            state: z.enum(["pending", "active", "failed"]).describe("pending: being made now; failed: see warning (retried hourly, and when the source is saved)"),
            expiresAt: iso.nullable().describe("when Microsoft Graph ends the subscription unless renewed (Rollcall renews it 3 days before)"),
            warning: z.object({ code: z.string().describe("Graph's error code (ValidationError, Authorization_RequestDenied…) or ours"), message: z.string() }).nullable(),
          }),
        )
        .describe("sync on change: the source's Microsoft Graph subscriptions (users, and groups when it reads them); empty when it is off"),
    }),
    createdAt: iso,
    updatedAt: iso,
  })
  .meta({ id: "Source" });

const removalSchema = z.object({ users: z.enum(sourceRemovals), usersAffected: z.number().int(), groupsAffected: z.number().int(), usersKept: z.number().int().optional().describe("with users=delete: users the source had linked (added by hand or imported before it), kept as manual ones") });
const removedSourceResponse = sourceResponse.extend({ removal: removalSchema }).meta({ id: "RemovedSource" });

/** An Entra ID source's version, or a SCIM source's. */
const anySourceVersion = (source: z.input<typeof sourceResponse> | z.input<typeof scimSourceResponse>) =>
  source.type === "scim" ? scimSourceVersion(source as ScimSource) : sourceVersion(source as Source);

const runResponse = z
  .object({
    id: z.string(),
    source: z.string(),
    trigger: z.enum(runTriggers).describe("what started the run: manual (the local CLI), schedule, api (the console or the API), notification (sync on change: Microsoft Graph said a user or group changed; a delta run)"),
    mode: z.enum(runModes),
    dryRun: z.boolean(),
    forced: z.boolean(),
    requestedBy: z.string().nullable().describe("who started the run: the admin or API token (trigger api), the local CLI (manual: cli:USER, the operating-system account that ran it; cli before it was recorded), \"schedule\" or \"notification\" (sync on change)"),
    status: runStatusSchema.describe("running, succeeded, failed, stopped (deletion threshold), applied or rejected (a stopped run, reviewed)"),
    startedAt: iso,
    finishedAt: iso.nullable(),
    counts: runCountsSchema,
    progress: runProgressSchema,
    error: z.object({ code: z.enum(errorCodes), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).nullable(),
    graphRequests: z.number().int(),
    graphThrottled: z.number().int(),
    cancelRequested: z.object({ by: z.string(), at: iso }).nullable().describe("someone asked the running run to stop (POST …/cancel); it fails as cancelled once its runner sees it"),
    changesDiscardedAt: iso.nullable().describe(`a dry run's change set is deleted once its source has ${keptDryRuns} newer dry runs; the run and its counts stay`),
    changes: z.array(changeSchema).optional(),
  })
  .meta({ id: "SyncRun" });

const checkResponse = z.object({
  ok: z.boolean(),
  checks: z.array(
    z.object({
      name: z.enum(checkNames),
      ok: z.boolean(),
      code: z
        .union([
          z.string().regex(aadstsCodePattern).describe("Entra ID's, refusing the token: AADSTS and its number, e.g. AADSTS7000215 (a wrong client secret)"),
          z.enum([...checkCodes, ...errorCodes]).describe("Rollcall's: no_admin_consent, group_not_found, or an error code, e.g. source_unreachable"),
          z.string().regex(graphCodePattern).describe("Graph's error code, e.g. Authorization_RequestDenied; HTTP and the status when it gave none"),
        ])
        .nullable()
        .describe("why a check failed, as Entra ID or Graph said it, or ours; null when it passed"),
      message: z.string(),
    }),
  ),
});

/** Start a run in the background and answer with its record as soon as it exists. */
async function startRun(rt: Runtime, ctx: WorkspaceContext, start: (onStarted: (id: string) => void) => Promise<{ runId: string }>) {
  const id = await new Promise<string>((resolve, reject) => {
    start(resolve).then((summary) => resolve(summary.runId), reject).catch(reject);
  });
  return getRun(ctx, id);
}

const changeKindParam = z.string().max(300).refine(isRunAction, runActionMessage).meta(actionFilterShape(runKinds)).optional().describe(`only this kind's entries (${runKinds.join(", ")}; add to group and remove from group: every group's), or one action exactly, e.g. add to group Pilots`);

export const sourceRoutes: RouteModule = {
  tag: "Sources",
  description:
    "Microsoft Entra ID sources: settings, connection checks, syncs, run history. SCIM sources (type scim): Entra ID's provisioning service pushes users and groups to /scim/v2 with the source's Secret Token; that endpoint is SCIM 2.0 (RFC 7644), with its own credential, errors and media type: it has its own OpenAPI document, /scim/v2/openapi.json.",
  routes: [
    route({
      method: "GET", url: "/workspaces/:workspace/sources", summary: "List sources with their sync status (Entra ID sources in items, SCIM sources in scimSources)", access: "workspace",
      params: workspaceParams, response: listOf(sourceResponse).extend({ scimSources: z.array(scimSourceResponse).describe("the SCIM sources, which Entra ID's provisioning service pushes to") }),
      async handler({ ctx, rt, request }) {
        const items = await listSources(ctx);
        return { items, total: items.length, limit: items.length, offset: 0, scimSources: await listScimSources(ctx, baseUrlOf(rt, request)) };
      },
    }),
    route({
      method: "POST", url: "/workspaces/:workspace/sources", summary: "Add an Entra ID source, or (type scim) a SCIM source that Entra ID's provisioning service pushes to", access: "workspace", status: 201,
      description: "A SCIM source's answer holds its Tenant URL and, this once, its Secret Token: paste both in the enterprise application's provisioning settings. It may sign its users in with Microsoft from the start (signIn with tenantId, clientId and clientSecret), checked as a PATCH checks them.",
      params: workspaceParams, body: sourceBody, bodyCheckedByHandler: true, response: z.union([sourceResponse, scimSourceResponse]),
      async handler({ ctx, rt, body: raw, request }) {
        const read = readSourceBody(raw);
        const { type, name, clientSecret: _s, certificatePem: _c, privateKeyPem: _k, newScimToken: _n, ...config } = read.body;
        const { credential, problems: own } = credentialOf(read.body);
        if (!name) own.push({ field: "name", message: "is required" });
        // A refused type leaves which checks apply unknown: the schema's and the route's problems are all there is to say.
        if (read.refused.has("type")) await refuseWhole(read, own, async () => ({ problems: [] }));
        if (type === "scim") return createScimSourceFrom(sourceContext(rt, ctx), rt, request, read, own, credential);
        if (_n !== undefined) own.push({ field: "newScimToken", message: "is for a SCIM source (type scim)" });
        await refuseWhole(read, own, () => checkEntraSource(sourceContext(rt, ctx), { name, config, credential }, undefined));
        return createEntraSource(sourceContext(rt, ctx), { name: name!, config: config as never, credential });
      },
    }),
    route({
      method: "GET", url: "/workspaces/:workspace/sources/:name", summary: "Show a source (never its secret or token)", access: "workspace", etag: { version: anySourceVersion },
      description: "The ETag header is the source's version (name, settings, secret; not its sync status): send it back as If-Match with a PATCH.",
      params: sourceParams, response: z.union([sourceResponse, scimSourceResponse]),
      async handler({ ctx, rt, request, params }) {
        const scim = await findScimSource(ctx, rt, request, params.name);
        if (scim) return scim;
        await assertSourceOfEitherKind(ctx, params.name);
        return getSource(ctx, params.name);
      },
    }),
    route({
      method: "PATCH", url: "/workspaces/:workspace/sources/:name", summary: "Change a source's settings, replace its secret, or rename it (its users and groups show the new name); a SCIM source: its name, onRemove and country, a new Secret Token (newScimToken), or sign-in with Microsoft (signIn with tenantId, clientId and clientSecret)", access: "workspace",
      description: "With If-Match (the ETag of GET), applied only if the source is still that version; otherwise 412 precondition_failed and nothing changes.",
      etag: { version: anySourceVersion },
      params: sourceParams, body: sourceBody, bodyCheckedByHandler: true, response: z.union([sourceResponse, scimSourceResponse]),
      async handler({ ctx, rt, request, params, body: raw, ifMatch }) {
        const read = readSourceBody(raw);
        const { credential, problems: own } = credentialOf(read.body);
        const scim = await findScimSource(ctx, rt, request, params.name);
        if (scim) return updateScimSourceFrom(sourceContext(rt, ctx), rt, request, scim, read, own, ifMatch, credential);
        await assertSourceOfEitherKind(ctx, params.name);
        const { type, name, clientSecret: _s, certificatePem: _c, privateKeyPem: _k, newScimToken, ...config } = read.body;
        if (newScimToken !== undefined) own.push({ field: "newScimToken", message: `"${params.name}" is not a SCIM source` });
        if (type === "scim") own.push({ field: "type", message: "a source's type cannot change" });
        await refuseWhole(read, own, async () => checkEntraSource(sourceContext(rt, ctx), { name, config, credential }, await getSource(ctx, params.name)));
        return updateEntraSource(sourceContext(rt, ctx), params.name, { name, config: config as never, credential }, { ifMatch });
      },
    }),
    route({
      method: "DELETE", url: "/workspaces/:workspace/sources/:name", access: "workspace",
      summary: "Remove a source. Its users and groups stay, managed in Rollcall from then on (users=keep, the default; users=disable also disables the users), or are deleted with it (users=delete)",
      params: sourceParams, response: z.union([removedSourceResponse, scimSourceResponse.extend({ removal: removalSchema }).meta({ id: "RemovedScimSource" })]),
      query: z.object({ users: z.enum(sourceRemovals).default("keep").describe("what happens to the source's users and groups") }).strict(),
      async handler({ ctx, rt, request, params, query }) {
        const scim = await findScimSource(ctx, rt, request, params.name);
        if (scim) return removeScimSourceFrom(ctx, scim, query.users);
        await assertSourceOfEitherKind(ctx, params.name);
        return removeSource(sourceContext(rt, ctx), params.name, query.users);
      },
    }),
    route({
      method: "POST", url: "/workspaces/:workspace/sources/:name/test", summary: "Connect: a fresh token, then prove each Graph permission the source needs", access: "workspace",
      params: sourceParams, response: checkResponse,
      handler: ({ ctx, rt, params }) => testSource(sourceContext(rt, ctx), params.name),
    }),
    route({
      method: "POST", url: "/workspaces/:workspace/sources/:name/find-groups", access: "workspace",
      errors: { 502: "source_auth_failed, source_permission_missing or source_unreachable: Entra ID refused the source's credential or permission, or could not be reached (the message says what to do)" },
      summary: "Search the source's Entra ID tenant (with its stored credential) for groups to name in its settings: display names starting with q",
      params: sourceParams,
      body: z.object({ q: z.string().max(256).default("").describe("the start of a group's display name; empty: the first groups") }).strict().default({ q: "" }),
      response: z.object({ items: z.array(z.object({ id: z.string(), displayName: z.string(), description: z.string().nullable() })) }),
      async handler({ ctx, rt, params, body }) {
        const source = await loadSourceForSync(sourceContext(rt, ctx), params.name);
        return { items: await findDirectoryGroups(source.config, source.credential, entraFetch(rt.config), body.q, { name: source.name, workspace: ctx.workspace.name }) };
      },
    }),
    tryUserRoute,
    route({
      method: "POST", url: "/workspaces/:workspace/sources/:name/sync", summary: "Start a sync; answers with the running run (409 sync_running when one is going)", access: "workspace", status: 202,
      params: sourceParams,
      body: z.object({ full: z.boolean().optional(), dryRun: z.boolean().optional(), force: z.boolean().optional() }).strict().default({}),
      response: runResponse,
      handler: ({ ctx, rt, params, body }) =>
        startRun(rt, ctx, (onStarted) => syncSource(rt, ctx.workspace, params.name, { trigger: "api", ...body, actor: ctx.actor }, { onStarted })),
    }),
    route({
      method: "GET", url: "/workspaces/:workspace/runs", summary: "Run history, newest first", access: "workspace",
      params: workspaceParams,
      query: z.object({ source: z.string().max(256).optional(), limit: limitParam(500, 50), offset: offsetParam }).strict(),
      response: listOf(runResponse),
      async handler({ ctx, query }) {
        const page = await pageOfRuns(ctx, query);
        return { ...page, limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: "GET", url: "/workspaces/:workspace/runs/:id", summary: "One run: status, progress while it runs, counts, and (if asked) the first entries of its change log", access: "workspace",
      description: "Polled while a run goes, so by default it carries no change log: a run of 100,000 users made each poll 360 KB. Page the log with GET …/runs/{id}/changes.",
      params: runParams,
      query: z.object({ changes: z.coerce.number().int().min(0).max(1000).default(0).describe("also give the first this many entries of its change log (the answer's changes)") }).strict(),
      response: runResponse,
      handler: ({ ctx, params, query }) => getRun(ctx, params.id, { changes: query.changes }),
    }),
    route({
      method: "GET", url: "/workspaces/:workspace/runs/:id/changes", summary: "A run's change log (for a dry run or a run stopped at the deletion threshold: what it would do, not applied)", access: "workspace",
      description: "Paged by entry, in the order the run made them: pass the last id of a page as after for the following one (a deep page costs what the first does); offset pages too.",
      params: runParams,
      query: z
        .object({
          limit: limitParam(5000, 1000),
          offset: offsetParam,
          after: z.string().regex(/^\d{1,19}$/, "must be the id of an entry").optional().describe("only entries after this one (the last id of the page before)"),
          action: changeKindParam,
          count: countParam,
        })
        .strict(),
      response: listOf(changeSchema).extend({
        total: z.number().int().nullable().describe("how many entries match; null with count=false"),
        actions: z.record(z.string(), z.number().int()).nullable().describe("the whole run's entries per kind (add to group and remove from group: every group's together); null with count=false"),
      }),
      async handler({ ctx, params, query }) {
        const { count, ...page } = query;
        if (count === false) return { items: await runChangePage(ctx, params.id, page), total: null, actions: null, limit: query.limit, offset: query.offset };
        const run = await runWithChanges(ctx, params.id, page);
        return { items: run.changes, total: run.changesTotal, actions: run.changesByAction, limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: "GET", url: "/workspaces/:workspace/runs/:id/changes.csv", summary: "A run's change log as a CSV download (time, by, change, subject, fields before → after, notes, run)", access: "workspace",
      answers: csvDownload,
      params: runParams,
      query: z.object({ action: changeKindParam }).strict(),
      async handler({ ctx, params, query, reply }) {
        await getRun(ctx, params.id);
        await sendCsv(reply, `run-${params.id}${query.action ? `-${query.action.replace(/\W+/g, "-")}` : ""}.csv`, changesCsv(ctx.db, ctx.workspace.id, { runId: params.id, action: query.action }));
      },
    }),
    route({
      method: "POST", url: "/workspaces/:workspace/runs/:id/approve", summary: "Apply a run stopped at the deletion threshold: runs the source again once with force, applying only if its changes are exactly the reviewed ones (otherwise the new run stops for review)", access: "workspace", status: 202,
      params: runParams, response: runResponse,
      handler: ({ ctx, rt, params }) => startRun(rt, ctx, (onStarted) => approveRun(rt, ctx.workspace, params.id, ctx.actor, { onStarted })),
    }),
    route({
      method: "POST", url: "/workspaces/:workspace/runs/:id/reject", summary: "Dismiss a run stopped at the deletion threshold", access: "workspace",
      params: runParams, response: runResponse,
      handler: ({ ctx, params }) => rejectRun(ctx, params.id),
    }),
    route({
      method: "POST", url: "/workspaces/:workspace/runs/:id/cancel", access: "workspace", status: 202,
      summary: "Stop a running run: its runner, in whichever process, sees the request within about a second and fails the run as cancelled by you, rolling back what it had not committed. Answers with the run, still running until then; a run of the server's own process is stopped at once and answered failed (409 conflict when it is not running)",
      params: runParams, response: runResponse,
      handler: ({ ctx, params }) => cancelRun(ctx, params.id),
    }),
  ],
};
