import { Registry } from "prom-client";
import { route, type RouteModule } from "../route.ts";
import { RollcallError } from "../../errors.ts";
import { sameText } from "../../security/hashing.ts";
import { metricsSnapshot } from "../../core/metrics-snapshot.ts";
import { directoryRegistry } from "../../metrics/directory.ts";

export const metricsRoutes: RouteModule = {
  tag: "Service",
  routes: [
    route({
      method: "GET",
      url: "/metrics",
      atRoot: true,
      summary: "Prometheus metrics: every workspace's sources and runs, and this process's requests and syncs (ROLLCALL_METRICS_TOKEN)",
      description:
        "In the Prometheus text exposition format, for a scraper sending `Authorization: Bearer` ROLLCALL_METRICS_TOKEN (not an API token). " +
        "The rollcall_workspace_* and rollcall_source_* gauges are read from the database at each scrape (the same on every process sharing it), labelled by workspace and source; " +
        "rollcall_http_*, rollcall_sync_runs_total, rollcall_sync_run_duration_seconds and the process_* and nodejs_* metrics are this process's own, since it started. " +
        "404 while ROLLCALL_METRICS_TOKEN is not set.",
      access: "public",
      ownSecurity: "metricsToken",
      quiet: true,
      answers: { 200: { description: "The metrics", content: ["text/plain"] } },
      errors: { 401: "unauthenticated: no bearer token, or not ROLLCALL_METRICS_TOKEN", 404: "not_found: ROLLCALL_METRICS_TOKEN is not set, so there are no metrics" },
      async handler({ rt, request, reply }) {
        checkScrapeToken(rt.config.metricsToken, request.headers.authorization);
        const directory = directoryRegistry(await metricsSnapshot(rt.store.db));
        const registry = rt.metrics ? Registry.merge([rt.metrics.registry, directory]) : directory;
        const text = await registry.metrics();
        return void reply.type(registry.contentType).header("cache-control", "no-store").send(text);
      },
    }),
  ],
};

/** Refuses a scrape unless metrics are on and it sends the configured token (compared in constant time). */
function checkScrapeToken(expected: string | undefined, authorization: string | undefined): void {
  if (!expected) throw new RollcallError("not_found", "There are no metrics: set ROLLCALL_METRICS_TOKEN to serve them", { path: "/metrics" });
  const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1] ?? "";
  if (!sameText(given, expected)) {
    throw new RollcallError("unauthenticated", "Send ROLLCALL_METRICS_TOKEN as a bearer token (Authorization: Bearer …) to read the metrics", {});
  }
}
