/**
 * Mistakes the generated types must catch: each line below fails to compile, and `@ts-expect-error` fails the
 * type-check if it does not (a status, code, phase or count that is a plain string or a loose record would let it through).
 * Type-checked beside embedding.ts, never run.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./openapi.ts";

type Run = components["schemas"]["SyncRun"];
type Check = paths["/api/v1/workspaces/{workspace}/sources/{name}/test"]["post"]["responses"]["200"]["content"]["application/json"]["checks"][number];

export async function misuses(api: ReturnType<typeof createClient<paths>>, run: Run, error: components["schemas"]["Error"], check: Check) {
  // @ts-expect-error a run is never "finished"
  if (run.status === "finished") return;
  // @ts-expect-error nor triggered by a "webhook"
  if (run.trigger === "webhook") return;
  // @ts-expect-error a run's phase is one of five
  if (run.progress.phase === "listing") return;
  // @ts-expect-error counts name what a run counts
  if (run.counts.added) return;
  // @ts-expect-error an error code is one of errors.ts's
  if (error.error.code === "notfound") return;
  // @ts-expect-error a field problem has a field and a message
  if (error.error.details.fields?.[0]?.column) return;
  // @ts-expect-error a connection check is one of six
  if (check.name === "tokens") return;
  // @ts-expect-error a user has a display name
  await api.POST("/api/v1/workspaces/{workspace}/users", { params: { path: { workspace: "default" } }, body: { email: "ada@example.com" } });
  // @ts-expect-error users are not sorted by surname
  await api.GET("/api/v1/workspaces/{workspace}/users", { params: { path: { workspace: "default" }, query: { sort: "surname" } } });
  // @ts-expect-error nor filtered by a misspelt key
  await api.GET("/api/v1/workspaces/{workspace}/users", { params: { path: { workspace: "default" }, query: { departmnet: "Engines" } } });
  // @ts-expect-error a source type is manual, import, entra or scim
  await api.GET("/api/v1/workspaces/{workspace}/users", { params: { path: { workspace: "default" }, query: { sourceType: "ldap" } } });
  // @ts-expect-error there is no such route
  await api.GET("/api/v1/workspaces/{workspace}/people", { params: { path: { workspace: "default" } } });
}
