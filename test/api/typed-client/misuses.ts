/**
 * Mistakes the generated types must catch: each line below fails to compile, and `@ts-expect-error` fails the
 * type-check if it does not (a status, code, phase, count, kind or field that is a plain string or a loose record would let it through).
 * Type-checked beside embedding.ts, never run.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./openapi.ts";

type Run = components["schemas"]["SyncRun"];
type Check = paths["/api/v1/workspaces/{workspace}/sources/{name}/test"]["post"]["responses"]["200"]["content"]["application/json"]["checks"][number];
type Change = components["schemas"]["Change"];
type Tried = components["schemas"]["TriedUser"];
type Notification = components["schemas"]["NotificationWithDeliveries"];
type ImportReport = components["schemas"]["ImportReport"];

export async function misuses(api: ReturnType<typeof createClient<paths>>, run: Run, error: components["schemas"]["Error"], check: Check, more: { change: Change; user: components["schemas"]["UserDetail"]; tried: Tried; notice: Notification; report: ImportReport }) {
  const { change, user, tried, notice, report } = more;
  // @ts-expect-error a change's kind is one the log holds (its action may name a group: a string)
  if (change.kind === "created") return;
  // @ts-expect-error a change's values are typed per field: enabled is a boolean
  if (change.after?.enabled === "yes") return;
  // @ts-expect-error a sync's changed fields are user fields
  if (change.after?.changed?.includes("surename")) return;
  // @ts-expect-error a status is set by create, disable, enable, update or link
  if (user.statusChange?.action === "delete") return;
  // @ts-expect-error Graph's accountEnabled is a boolean (or the hidden PIN's placeholder)
  if (tried.graph.accountEnabled === "yes") return;
  // @ts-expect-error a secret's expiry warns at 30, 14, 7 and 1 days
  if (notice.kind === "secret_expiry" && notice.milestone === "2d") return;
  // @ts-expect-error a failed import's notice names the import, not a run
  if (notice.kind === "import_failed" && notice.data.runId) return;
  // @ts-expect-error an import times read, check, pins, plan, apply and total
  if (report.timings.parse) return;
  // @ts-expect-error a CSV's delimiter is a comma, a semicolon, a tab or a vertical bar
  if (report.file.delimiter === ":") return;
  // @ts-expect-error groups come from manual, import, entra or scim sources
  await api.GET("/api/v1/workspaces/{workspace}/groups", { params: { path: { workspace: "default" }, query: { sourceType: ["manual", "skim"] } } });
  // A check's code is a pattern (an AADSTS code, Graph's) or one of Rollcall's: the response validation checks it, not the types.
  if (check.code?.startsWith("AADSTS")) return;
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
