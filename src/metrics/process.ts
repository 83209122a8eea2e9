import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** A request answered by this process, by its route's pattern (never the raw URL: no ids in labels). */
export interface AnsweredRequest {
  route: string;
  method: string;
  status: number;
  seconds: number;
}

/** A sync run this process ran to its end. */
export interface FinishedRun {
  trigger: string;
  mode: string;
  status: string;
  dryRun: boolean;
  seconds: number;
}

/** What one `rollcall serve` process counts since it started: its requests, its sync runs and Node's own process metrics. */
export interface ProcessMetrics {
  registry: Registry;
  requestAnswered(request: AnsweredRequest): void;
  runFinished(run: FinishedRun): void;
}

export function createProcessMetrics(): ProcessMetrics {
  // A registry of its own rather than prom-client's global one: two servers in one process (the tests) count apart.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: "rollcall_http_requests_total", help: "HTTP requests answered, by route pattern, method and status class", labelNames: ["route", "method", "status_class"], registers: [registry] });
  const requestSeconds = new Histogram({
    name: "rollcall_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by route pattern and method",
    labelNames: ["route", "method"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const runs = new Counter({ name: "rollcall_sync_runs_total", help: "Sync runs this process finished, by trigger, mode, status and whether a dry run", labelNames: ["trigger", "mode", "status", "dry_run"], registers: [registry] });
  const runSeconds = new Histogram({
    name: "rollcall_sync_run_duration_seconds",
    help: "Duration of the sync runs this process finished, by trigger, mode and status",
    labelNames: ["trigger", "mode", "status"],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers: [registry],
  });
  return {
    registry,
    requestAnswered({ route, method, status, seconds }) {
      requests.inc({ route, method, status_class: `${Math.floor(status / 100)}xx` });
      requestSeconds.observe({ route, method }, seconds);
    },
    runFinished({ trigger, mode, status, dryRun, seconds }) {
      runs.inc({ trigger, mode, status, dry_run: String(dryRun) });
      runSeconds.observe({ trigger, mode, status }, seconds);
    },
  };
}
