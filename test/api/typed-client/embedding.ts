/**
 * An application embedding Rollcall, written as its engineers would: against the types openapi-typescript
 * generates from GET /api/v1/openapi.json (`./openapi.ts`, written beside this file by typed-client.test.ts),
 * through openapi-fetch. It is type-checked (strict) against those types, then run against a real server.
 * Not part of the project's own type-check: the types exist only once a server has served its document.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./openapi.ts";

type Run = components["schemas"]["SyncRun"];
type ErrorBody = components["schemas"]["Error"];

/** What a run's status means to this application: the switch has no default, so a new status would not compile. */
function finished(status: Run["status"]): boolean {
  switch (status) {
    case "running":
      return false;
    case "succeeded":
    case "failed":
    case "stopped":
    case "applied":
    case "rejected":
      return true;
  }
}

/** A notification in a line: each kind's data is its own, and a new kind would not compile (no default). */
function noticeLine(n: components["schemas"]["NotificationWithDeliveries"]): string {
  switch (n.kind) {
    case "secret_expiry":
      return `${n.data.source}'s secret: ${n.milestone === "expired" ? "expired" : `${n.data.daysLeft} days left`}`;
    case "sync_failed":
    case "sync_stopped":
      return `run ${n.data.runId} of ${n.data.source}: ${n.data.code ?? "no code"}`;
    case "import_failed":
      return `import of ${n.data.fileName}`;
    case "scim_quiet":
      return `${n.data.source} silent since ${n.data.since}${n.data.lastRequestAt === null ? " (never called)" : ""}`;
  }
}

/** A 4xx handled by its code, as the application decides; anything else it does not expect is thrown. */
function outcome(error: ErrorBody): string {
  const { code, details } = error.error;
  if (code === "conflict") return "already there";
  if (code === "not_found") return "no such user";
  if (code === "invalid_input") return `fix ${(details.fields ?? []).map((f) => f.field).join(", ")}`;
  throw new Error(`unexpected ${code}: ${error.error.message}`);
}

export async function embed(options: { baseUrl: string; token: string; workspace: string; source: string }) {
  const api = createClient<paths>({ baseUrl: options.baseUrl, headers: { authorization: `Bearer ${options.token}` } });
  const workspace = { workspace: options.workspace };

  const created = await api.POST("/api/v1/workspaces/{workspace}/users", {
    params: { path: workspace },
    body: { displayName: "Ada Lovelace", email: "ada@example.com", department: "Analytical Engines", tags: ["pilot"], customAttributes: { office: "London" } },
  });
  if (!created.data) throw new Error(`creating a user failed: ${JSON.stringify(created.error)}`);
  const again = await api.POST("/api/v1/workspaces/{workspace}/users", { params: { path: workspace }, body: { displayName: "Ada again", email: "ada@example.com" } });
  const missing = await api.GET("/api/v1/workspaces/{workspace}/users/{id}", { params: { path: { ...workspace, id: "nobody@example.com" } } });
  const badFilter = await api.GET("/api/v1/workspaces/{workspace}/users", { params: { path: workspace, query: { limit: 0 } } });
  const errors = [again, missing, badFilter].map((r) => ({ status: r.response.status, code: r.error?.error.code, outcome: r.error && outcome(r.error) }));

  const shown = await api.GET("/api/v1/workspaces/{workspace}/users/{id}", { params: { path: { ...workspace, id: created.data.id } } });
  if (!shown.data) throw new Error(`reading the user failed: ${JSON.stringify(shown.error)}`);
  const group = await api.POST("/api/v1/workspaces/{workspace}/groups", { params: { path: workspace }, body: { name: "Analysts" } });
  if (!group.data) throw new Error(`creating a group failed: ${JSON.stringify(group.error)}`);
  // A list parameter: openapi-fetch repeats it (sourceType=manual&sourceType=import).
  const editableGroups = await api.GET("/api/v1/workspaces/{workspace}/groups", { params: { path: workspace, query: { sourceType: ["manual", "import"] } } });
  if (!editableGroups.data) throw new Error(`listing groups failed: ${JSON.stringify(editableGroups.error)}`);

  const engineers = await api.GET("/api/v1/workspaces/{workspace}/users", {
    params: { path: workspace, query: { department: "analytical engines", enabled: "true", sourceType: "manual", tag: "pilot", sort: "email", limit: 10 } },
  });
  if (!engineers.data) throw new Error(`listing users failed: ${JSON.stringify(engineers.error)}`);

  const started = await api.POST("/api/v1/workspaces/{workspace}/sources/{name}/sync", { params: { path: { ...workspace, name: options.source } }, body: { full: true } });
  if (!started.data) throw new Error(`starting a sync failed: ${JSON.stringify(started.error)}`);
  let run: Run = started.data;
  const phases = new Set<Run["progress"]["phase"]>([run.progress.phase]);
  for (const deadline = Date.now() + 20_000; !finished(run.status); ) {
    if (Date.now() > deadline) throw new Error(`run ${run.id} still ${run.status} after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const polled = await api.GET("/api/v1/workspaces/{workspace}/runs/{id}", { params: { path: { ...workspace, id: run.id } } });
    if (!polled.data) throw new Error(`reading run ${run.id} failed: ${JSON.stringify(polled.error)}`);
    run = polled.data;
    phases.add(run.progress.phase);
  }

  const changes = await api.GET("/api/v1/workspaces/{workspace}/runs/{id}/changes", { params: { path: { ...workspace, id: run.id }, query: { action: "create", limit: 500 } } });
  if (!changes.data) throw new Error(`reading run ${run.id}'s changes failed: ${JSON.stringify(changes.error)}`);
  const synced = await api.GET("/api/v1/workspaces/{workspace}/users", { params: { path: workspace, query: { source: options.source, limit: 500 } } });
  if (!synced.data) throw new Error(`listing synced users failed: ${JSON.stringify(synced.error)}`);
  const someone = synced.data.items[0]?.userPrincipalName;
  if (!someone) throw new Error("the sync created no one");
  const tried = await api.GET("/api/v1/workspaces/{workspace}/sources/{name}/try-user", { params: { path: { ...workspace, name: options.source }, query: { user: someone } } });
  if (!tried.data) throw new Error(`trying the mapping failed: ${JSON.stringify(tried.error)}`);
  const tested = await api.POST("/api/v1/workspaces/{workspace}/sources/{name}/test", { params: { path: { ...workspace, name: options.source } } });
  if (!tested.data) throw new Error(`testing the connection failed: ${JSON.stringify(tested.error)}`);
  const notices = await api.GET("/api/v1/workspaces/{workspace}/notifications", { params: { path: workspace } });
  if (!notices.data) throw new Error(`listing notifications failed: ${JSON.stringify(notices.error)}`);

  return {
    created: { id: created.data.id, source: created.data.source.type, warnings: created.data.warnings },
    errors,
    engineers: engineers.data.items.map((u) => u.email),
    run: { id: run.id, status: run.status, trigger: run.trigger, mode: run.mode, created: run.counts.created ?? 0, counts: run.counts, phases: [...phases] },
    status: { enabled: shown.data.enabled, setBy: shown.data.statusChange?.action ?? null },
    editableGroups: editableGroups.data.items.map((g) => `${g.name} (${g.source.type})`),
    createdInRun: changes.data.items.map((c) => ({ action: c.action, kind: c.kind, subject: c.subject, runId: c.runId, enabled: c.after?.enabled ?? null })),
    tried: { id: tried.data.graph.id, accountEnabled: tried.data.graph.accountEnabled ?? null, externalId: tried.data.user.externalId },
    checks: tested.data.checks.map((c) => `${c.name} ${c.ok ? "ok" : (c.code ?? "failed")}`),
    notices: notices.data.items.map(noticeLine),
    createActions: changes.data.actions?.create ?? null,
    syncedUsers: synced.data.items.map((u) => u.userPrincipalName),
  };
}
