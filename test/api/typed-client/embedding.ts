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

  return {
    created: { id: created.data.id, source: created.data.source.type, warnings: created.data.warnings },
    errors,
    engineers: engineers.data.items.map((u) => u.email),
    run: { id: run.id, status: run.status, trigger: run.trigger, mode: run.mode, created: run.counts.created ?? 0, phases: [...phases] },
    createdInRun: changes.data.items.map((c) => ({ action: c.action, subject: c.subject, runId: c.runId })),
    createActions: changes.data.actions?.create ?? null,
    syncedUsers: synced.data.items.map((u) => u.userPrincipalName),
  };
}
