import { X509Certificate } from "node:crypto";
import { Writable } from "node:stream";
import pino from "pino";
import { sql, type KyselyPlugin } from "kysely";
import { request } from "undici";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { testCertificate } from "../emulator/helpers.ts";
import { until } from "../notifications/support.ts";
import { runtimeOver } from "./support.ts";
import { buildApp } from "../../src/api/server.ts";
import { createProcessMetrics } from "../../src/metrics/process.ts";
import { createWorkspace, resolveWorkspace } from "../../src/core/workspaces.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import type { Runtime } from "../../src/runtime.ts";
import { loadConfig } from "../../src/config.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition, each line parsed (comments skipped). */
function parseExposition(text: string): Sample[] {
  return text.split("\n").filter((line) => line && !line.startsWith("#")).map((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key!, value!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))]));
    return { name: match[1]!, labels, value: Number(match[3]) };
  });
}

/** The one sample of `name` whose labels are exactly `labels`; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  expect(found.length, `${name}${JSON.stringify(labels)} appears ${found.length} times`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

/** Counts the statements sent to the database through the Kysely instance it is plugged into. */
function statementCounter(): KyselyPlugin & { count: number } {
  return {
    count: 0,
    transformQuery(args) {
      this.count++;
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
}

const metricsToken = "scrape-token-0123456789abcdef";

describe("ROLLCALL_METRICS_TOKEN", () => {
  it("is off when unset or empty, trimmed of a secret file's newline, and refused too short or with spaces without being repeated", () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ ROLLCALL_METRICS_TOKEN: "" }).metricsToken).toBeUndefined();
    expect(loadConfig({ ROLLCALL_METRICS_TOKEN: `${metricsToken}\n` }).metricsToken).toBe(metricsToken);
    for (const token of ["short-token", "a token with spaces inside"]) {
      let message = "";
      expect(() => {
        try {
          loadConfig({ ROLLCALL_METRICS_TOKEN: token });
        } catch (error) {
          message = (error as Error).message;
          throw error;
        }
      }).toThrow("ROLLCALL_METRICS_TOKEN: must be 16 or more printable characters without spaces");
      expect(message).not.toContain(token);
    }
  });
});

describe.each(engines)("Prometheus metrics at /metrics (%s)", (engine) => {
  let emulator: RunningEmulator;
  let store: TestStore;
  let rt: Runtime;
  let app: FastifyInstance;
  let url: string;
  const logLines: string[] = [];
  const tokens: Record<string, string> = {};

  async function call(path: string, options: { method?: "GET" | "POST" | "PATCH" | "DELETE"; token?: string; body?: unknown; base?: string } = {}) {
    const reply = await request(`${options.base ?? url}${path}`, {
      method: options.method ?? "GET",
      headers: { ...(options.token && { authorization: `Bearer ${options.token}` }), ...(options.body !== undefined && { "content-type": "application/json" }) },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    const text = await reply.body.text();
    return { status: reply.statusCode, headers: reply.headers, text };
  }

  async function scrape(): Promise<Sample[]> {
    const reply = await call("/metrics", { token: metricsToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(reply.text);
  }

  /** Starts a sync of `source` in `workspace` through the API; answers its run's id. */
  async function startSync(workspace: string, source: string): Promise<string> {
    const started = await call(`/api/v1/workspaces/${workspace}/sources/${source}/sync`, { method: "POST", token: tokens[workspace], body: {} });
    expect(started.status, started.text).toBe(202);
    return JSON.parse(started.text).id as string;
  }

  async function ended(workspace: string, id: string) {
    let run: any;
    await until(async () => (run = JSON.parse((await call(`/api/v1/workspaces/${workspace}/runs/${id}`, { token: tokens[workspace] })).text)).status !== "running", 60_000, `run ${id} to end`);
    return run;
  }

  const sync = async (workspace: string, source: string) => ended(workspace, await startSync(workspace, source));

  const count = async (table: string) => (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n;

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 14, groups: 3, seed: 23 });
    store = await openTestStore(engine);
    const logger = pino({ level: "info" }, new Writable({ write: (chunk, _encoding, done) => void (logLines.push(String(chunk)), done()) }));
    rt = { ...runtimeOver(store, { metricsToken }, logger), metrics: createProcessMetrics() };
    app = await buildApp(rt);
    url = (await app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
    const workspaces = { default: await resolveWorkspace(store.db, "default"), second: await createWorkspace(store.db, { name: "second" }) };
    for (const [name, workspace] of Object.entries(workspaces)) tokens[name] = (await createApiToken(store.db, workspace, { name: "ops", role: "admin" }, "test")).token;
    for (const [workspace, source] of [["default", "corp"], ["second", "branch"]] as const) {
      const added = await call(`/api/v1/workspaces/${workspace}/sources`, {
        method: "POST", token: tokens[workspace],
        body: { name: source, tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, clientSecret: emulator.clientSecret, groupMode: "all", secretExpiresOn: "2031-05-17" },
      });
      expect(added.status, added.text).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
    await emulator?.close();
  });

  it("answers 401 to a scrape without the token or with another, and 404 while ROLLCALL_METRICS_TOKEN is not set", async () => {
    for (const token of [undefined, "scrape-token-0123456789abcdeX", tokens.default, `${metricsToken}0`]) {
      const reply = await call("/metrics", { token });
      expect(reply.status, reply.text).toBe(401);
      expect(JSON.parse(reply.text).error.code).toBe("unauthenticated");
      expect(reply.text).not.toContain(metricsToken);
    }
    const off = await buildApp({ ...runtimeOver(store, {}), close: async () => {} });
    try {
      const base = (await off.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
      for (const token of [undefined, metricsToken]) {
        const reply = await call("/metrics", { token, base });
        expect(reply.status, reply.text).toBe(404);
        expect(JSON.parse(reply.text).error.code).toBe("not_found");
      }
    } finally {
      await off.close();
    }
  });

  it("reports a source's last run after a real sync: its end, status, duration, counts and Graph requests, its users and groups", { timeout: 90_000 }, async () => {
    const run = await sync("default", "corp");
    expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
    const samples = await scrape();
    const corp = { workspace: "default", source: "corp" };
    const ended = Date.parse(run.finishedAt) / 1000;
    expect(valueOf(samples, "rollcall_source_last_run_status", { ...corp, status: "succeeded" })).toBe(1);
    for (const status of ["failed", "stopped", "applied", "rejected"]) expect(valueOf(samples, "rollcall_source_last_run_status", { ...corp, status })).toBe(0);
    expect(valueOf(samples, "rollcall_source_last_run_end_timestamp_seconds", corp)).toBe(ended);
    expect(valueOf(samples, "rollcall_source_last_success_timestamp_seconds", corp)).toBe(ended);
    expect(valueOf(samples, "rollcall_source_last_run_duration_seconds", corp)).toBeCloseTo(ended - Date.parse(run.startedAt) / 1000, 3);
    expect(run.counts.created).toBeGreaterThan(5);
    for (const [key, value] of Object.entries(run.counts)) expect(valueOf(samples, "rollcall_source_last_run_counts", { ...corp, count: key }), key).toBe(value);
    expect(valueOf(samples, "rollcall_source_last_run_counts", { ...corp, count: "errors" })).toBe(0);
    expect(run.graphRequests).toBeGreaterThan(0);
    expect(valueOf(samples, "rollcall_source_last_run_graph_requests", corp)).toBe(run.graphRequests);
    expect(valueOf(samples, "rollcall_source_last_run_graph_throttled_requests", corp)).toBe(run.graphThrottled);
    const held = async (table: string) => (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} t join sources s on s.id = t.source_id where s.name = 'corp'`.execute(store.db)).rows[0]!.n;
    expect(valueOf(samples, "rollcall_source_users", corp)).toBe(await held("users"));
    expect(valueOf(samples, "rollcall_source_users", corp)).toBe(run.counts.created);
    expect(valueOf(samples, "rollcall_source_groups", corp)).toBe(await held("groups"));
    expect(valueOf(samples, "rollcall_source_groups", corp)).toBe(run.counts.groupsCreated);
    expect(valueOf(samples, "rollcall_source_sync_running", corp)).toBe(0);
    expect(valueOf(samples, "rollcall_source_awaiting_review", corp)).toBe(0);
    expect(valueOf(samples, "rollcall_source_secret_expiry_timestamp_seconds", { ...corp, use: "sync", credential: "secret" })).toBe(Date.UTC(2031, 4, 17) / 1000);
    expect(valueOf(samples, "rollcall_workspace_users", { workspace: "default" })).toBe(run.counts.created);
    // The other workspace's source has not run: its own series only, none of a run.
    const branch = { workspace: "second", source: "branch" };
    expect(valueOf(samples, "rollcall_source_users", branch)).toBe(0);
    expect(valueOf(samples, "rollcall_source_created_timestamp_seconds", branch)).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(valueOf(samples, "rollcall_source_last_success_timestamp_seconds", branch)).toBeUndefined();
    expect(valueOf(samples, "rollcall_source_last_run_status", { ...branch, status: "succeeded" })).toBeUndefined();
  });

  it("reports a SCIM source: its type, users and groups, and when its provisioning service last called; no run series", async () => {
    const added = await call("/api/v1/workspaces/second/sources", { method: "POST", token: tokens.second, body: { type: "scim", name: "push" } });
    expect(added.status, added.text).toBe(201);
    const push = { workspace: "second", source: "push" };
    const quiet = await scrape();
    expect(valueOf(quiet, "rollcall_source_info", { ...push, type: "scim" })).toBe(1);
    expect(valueOf(quiet, "rollcall_source_last_request_timestamp_seconds", push)).toBeUndefined();
    const user = { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "ada@second.example", active: true, displayName: "Ada", emails: [{ type: "work", value: "ada@second.example", primary: true }] };
    const created = await request(`${url}/scim/v2/Users`, { method: "POST", headers: { authorization: `Bearer ${JSON.parse(added.text).token}`, "content-type": "application/scim+json" }, body: JSON.stringify(user) });
    expect(created.statusCode, await created.body.text()).toBe(201);
    const samples = await scrape();
    expect(valueOf(samples, "rollcall_source_users", push)).toBe(1);
    expect(valueOf(samples, "rollcall_source_groups", push)).toBe(0);
    expect(valueOf(samples, "rollcall_source_last_request_timestamp_seconds", push)).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(samples.filter((s) => s.name.startsWith("rollcall_source_last_run") && s.labels.source === "push")).toEqual([]);
    expect(valueOf(samples, "rollcall_source_info", { workspace: "default", source: "corp", type: "entra" })).toBe(1);
    const removed = await call("/api/v1/workspaces/second/sources/push?users=delete", { method: "DELETE", token: tokens.second });
    expect(removed.status, removed.text).toBe(200);
    expect((await scrape()).filter((s) => s.labels.source === "push")).toEqual([]);
  });

  it("reports when a SCIM source's sign-in secret or certificate expires, labelled sign-in, while sign-in is on", async () => {
    const signing = { workspace: "second", source: "signing" };
    const expiry = (samples: Sample[]) => samples.filter((s) => s.name === "rollcall_source_secret_expiry_timestamp_seconds" && s.labels.source === "signing");
    const settings = { signIn: true, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", clientId: "0f8fad5b-d9cb-469f-a165-70867728950e" };
    const added = await call("/api/v1/workspaces/second/sources", { method: "POST", token: tokens.second, body: { type: "scim", name: "signing", ...settings, clientSecret: "Q~sign.in.secret", secretExpiresOn: "2030-01-02" } });
    expect(added.status, added.text).toBe(201);
    expect(expiry(await scrape())).toEqual([{ name: "rollcall_source_secret_expiry_timestamp_seconds", labels: { ...signing, use: "sign-in", credential: "secret" }, value: Date.UTC(2030, 0, 2) / 1000 }]);
    const patch = (body: Record<string, unknown>) => call("/api/v1/workspaces/second/sources/signing", { method: "PATCH", token: tokens.second, body });
    // Sign-in off: the credential is not used, and no alert should fire for it.
    expect((await patch({ signIn: false })).status).toBe(200);
    expect(expiry(await scrape())).toEqual([]);
    // A certificate brings its own date.
    const certificate = testCertificate("metrics-scim");
    expect((await patch({ signIn: true, ...certificate })).status).toBe(200);
    const validTo = Date.parse(`${new Date(new X509Certificate(certificate.certificatePem).validTo).toISOString().slice(0, 10)}T00:00:00Z`) / 1000;
    expect(valueOf(await scrape(), "rollcall_source_secret_expiry_timestamp_seconds", { ...signing, use: "sign-in", credential: "certificate" })).toBe(validTo);
    expect((await call("/api/v1/workspaces/second/sources/signing?users=delete", { method: "DELETE", token: tokens.second })).status).toBe(200);
  });

  it("reports a failed run as failed, the previous success still as the last one", { timeout: 90_000 }, async () => {
    const before = await scrape();
    const corp = { workspace: "default", source: "corp" };
    const succeededAt = valueOf(before, "rollcall_source_last_success_timestamp_seconds", corp)!;
    const patched = await call("/api/v1/workspaces/default/sources/corp", { method: "PATCH", token: tokens.default, body: { clientSecret: "not the secret" } });
    expect(patched.status, patched.text).toBe(200);
    const run = await sync("default", "corp");
    expect(run.status).toBe("failed");
    const samples = await scrape();
    expect(valueOf(samples, "rollcall_source_last_run_status", { ...corp, status: "failed" })).toBe(1);
    expect(valueOf(samples, "rollcall_source_last_run_status", { ...corp, status: "succeeded" })).toBe(0);
    expect(valueOf(samples, "rollcall_source_last_run_end_timestamp_seconds", corp)).toBe(Date.parse(run.finishedAt) / 1000);
    expect(valueOf(samples, "rollcall_source_last_success_timestamp_seconds", corp)).toBe(succeededAt);
    expect(succeededAt).toBeLessThan(Date.parse(run.finishedAt) / 1000);
    expect(valueOf(samples, "rollcall_source_last_run_counts", { ...corp, count: "errors" })).toBe(1);
    // Its users stay as the successful run left them.
    expect(valueOf(samples, "rollcall_source_users", corp)).toBe(valueOf(before, "rollcall_source_users", corp));
    const open = (await sql<{ n: number }>`select count(*)::int as n from notifications n join workspaces w on w.id = n.workspace_id
      where w.name = 'default' and n.resolved_at is null and n.dismissed_at is null`.execute(store.db)).rows[0]!.n;
    expect(valueOf(samples, "rollcall_workspace_open_notifications", { workspace: "default" })).toBe(open);
    const restored = await call("/api/v1/workspaces/default/sources/corp", { method: "PATCH", token: tokens.default, body: { clientSecret: emulator.clientSecret } });
    expect(restored.status, restored.text).toBe(200);
  });

  it("keeps two workspaces' series apart, each with its own values", { timeout: 90_000 }, async () => {
    // Some of Graph's answers throttled (retried at once): the second workspace's run counts them.
    emulator.setKnobs({ throttleRate: 0.25, retryAfterSeconds: 0 });
    const run = await sync("second", "branch").finally(() => emulator.setKnobs({ throttleRate: 0 }));
    expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
    expect(run.graphThrottled).toBeGreaterThan(0);
    const samples = await scrape();
    const [corp, branch] = [{ workspace: "default", source: "corp" }, { workspace: "second", source: "branch" }];
    expect(valueOf(samples, "rollcall_source_last_run_status", { ...branch, status: "succeeded" })).toBe(1);
    expect(valueOf(samples, "rollcall_source_last_run_status", { ...corp, status: "failed" })).toBe(1);
    expect(valueOf(samples, "rollcall_source_last_run_graph_throttled_requests", branch)).toBe(run.graphThrottled);
    expect(valueOf(samples, "rollcall_source_last_run_graph_requests", branch)).toBe(run.graphRequests);
    expect(valueOf(samples, "rollcall_source_last_run_end_timestamp_seconds", branch)).toBe(Date.parse(run.finishedAt) / 1000);
    expect(valueOf(samples, "rollcall_source_last_run_end_timestamp_seconds", branch)).not.toBe(valueOf(samples, "rollcall_source_last_run_end_timestamp_seconds", corp));
    expect(valueOf(samples, "rollcall_source_users", branch)).toBe(run.counts.created);
    expect(valueOf(samples, "rollcall_workspace_users", { workspace: "second" })).toBe(run.counts.created);
    // No series mixes them: every source series names a workspace with its own source.
    const pairs = new Set(samples.filter((s) => s.name.startsWith("rollcall_source_")).map((s) => `${s.labels.workspace}/${s.labels.source}`));
    expect([...pairs].sort()).toEqual(["default/corp", "second/branch"]);
    expect(samples.filter((s) => s.name === "rollcall_workspace_open_notifications").map((s) => s.labels.workspace).sort()).toEqual(["default", "second"]);
  });

  it("counts this process's requests by route pattern and its sync runs, beside Node's process metrics", async () => {
    const id = "0192f3a4-5b6c-7d8e-9f01-23456789abcd";
    expect((await call(`/api/v1/workspaces/default/users/${id}`, { token: tokens.default })).status).toBe(404);
    expect((await call(`/api/v1/nothing-here/${id}`, { token: tokens.default })).status).toBe(404);
    const samples = await scrape();
    expect(valueOf(samples, "rollcall_http_requests_total", { route: "/api/v1/workspaces/:workspace/users/:id", method: "GET", status_class: "4xx" })).toBe(1);
    expect(valueOf(samples, "rollcall_http_requests_total", { route: "unmatched", method: "GET", status_class: "4xx" })).toBe(1);
    // The failed run came after a success: a delta one.
    const runs = (status: string) => valueOf(samples, "rollcall_sync_runs_total", { trigger: "api", mode: status === "failed" ? "delta" : "full", status, dry_run: "false" });
    expect(runs("succeeded")).toBe(2);
    expect(runs("failed")).toBe(1);
    expect(valueOf(samples, "rollcall_sync_run_duration_seconds_count", { trigger: "api", mode: "full", status: "succeeded" })).toBe(2);
    expect(valueOf(samples, "rollcall_sync_run_duration_seconds_sum", { trigger: "api", mode: "full", status: "succeeded" })).toBeGreaterThan(0);
    const syncRoute = { route: "/api/v1/workspaces/:workspace/sources/:name/sync", method: "POST", status_class: "2xx" };
    expect(valueOf(samples, "rollcall_http_requests_total", syncRoute)).toBe(3);
    expect(valueOf(samples, "rollcall_http_requests_total", { route: "/api/v1/workspaces/:workspace/runs/:id", method: "GET", status_class: "2xx" })).toBeGreaterThanOrEqual(3);
    expect(valueOf(samples, "rollcall_http_requests_total", { route: "/metrics", method: "GET", status_class: "4xx" })).toBeGreaterThanOrEqual(4);
    expect(valueOf(samples, "rollcall_http_request_duration_seconds_count", { route: "/api/v1/workspaces/:workspace/sources/:name/sync", method: "POST" })).toBe(3);
    const routes = samples.filter((s) => s.name === "rollcall_http_requests_total").map((s) => s.labels.route!);
    for (const route of routes) expect(route, "a route label holds a pattern, never an id").not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
    for (const name of ["process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) {
      expect(samples.some((s) => s.name === name), name).toBe(true);
    }
  });

  it("shows a run going, and a run stopped at the deletion threshold until it is reviewed", { timeout: 90_000 }, async () => {
    const [corp, branch] = [{ workspace: "default", source: "corp" }, { workspace: "second", source: "branch" }];
    // Graph's answers held until the scrape is made (800 ms answers could all be in first on a loaded machine).
    emulator.setKnobs({ latencyMs: 600_000 });
    try {
      const id = await startSync("second", "branch");
      const during = await scrape();
      emulator.setKnobs({ latencyMs: 0 });
      expect(valueOf(during, "rollcall_source_sync_running", branch)).toBe(1);
      expect(valueOf(during, "rollcall_source_sync_running", corp)).toBe(0);
      expect((await ended("second", id)).status).toBe("succeeded");
    } finally {
      emulator.setKnobs({ latencyMs: 0 });
    }
    expect(valueOf(await scrape(), "rollcall_source_sync_running", branch)).toBe(0);

    const patched = await call("/api/v1/workspaces/default/sources/corp", { method: "PATCH", token: tokens.default, body: { deletionThreshold: { percent: 1, count: 1 } } });
    expect(patched.status, patched.text).toBe(200);
    const tenant = emulator.tenants.get(emulator.tenantId);
    for (const user of tenant.listUsers().filter((u) => u.userType !== "Guest" && u.accountEnabled).slice(0, 3)) tenant.deleteUser(user.id);
    const stopped = await sync("default", "corp");
    expect(stopped.status).toBe("stopped");
    const awaiting = await scrape();
    expect(valueOf(awaiting, "rollcall_source_awaiting_review", corp)).toBe(1);
    expect(valueOf(awaiting, "rollcall_source_awaiting_review", branch)).toBe(0);
    expect(valueOf(awaiting, "rollcall_source_last_run_status", { ...corp, status: "stopped" })).toBe(1);
    expect(valueOf(awaiting, "rollcall_source_last_run_counts", { ...corp, count: "removals" })).toBe(3);

    const rejected = await call(`/api/v1/workspaces/default/runs/${stopped.id}/reject`, { method: "POST", token: tokens.default });
    expect(rejected.status, rejected.text).toBe(200);
    const reviewed = await scrape();
    expect(valueOf(reviewed, "rollcall_source_awaiting_review", corp)).toBe(0);
    expect(valueOf(reviewed, "rollcall_source_last_run_status", { ...corp, status: "rejected" })).toBe(1);
  });

  it("is quiet: no request log line, no activity entry and no rate-limit count for a scrape", async () => {
    const [changes, limits, lines] = [await count("change_log"), await count("rate_limits"), logLines.length];
    for (let i = 0; i < 5; i++) await scrape();
    expect(await call("/metrics", { token: "wrong-token-but-long-enough" }).then((r) => r.status)).toBe(401);
    expect(logLines.slice(lines).filter((line) => line.includes("/metrics"))).toEqual([]);
    expect([await count("change_log"), await count("rate_limits")]).toEqual([changes, limits]);
    // A request of the API is logged, as ever: the silence is the scrape's own.
    await call("/api/v1/workspaces", { token: tokens.default });
    expect(logLines.slice(lines).some((line) => line.includes("/api/v1/workspaces"))).toBe(true);
  });

  it("reads the database in the same few statements with 2 sources as with 22", { timeout: 60_000 }, async () => {
    const counter = statementCounter();
    const counted = await buildApp({ ...rt, store: { ...store, db: store.db.withPlugin(counter) } });
    try {
      const base = (await counted.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
      const statements = async () => {
        counter.count = 0;
        const reply = await call("/metrics", { token: metricsToken, base });
        expect(reply.status, reply.text).toBe(200);
        return { count: counter.count, sources: new Set(parseExposition(reply.text).filter((s) => s.name === "rollcall_source_users").map((s) => s.labels.source)).size };
      };
      const few = await statements();
      expect(few).toEqual({ count: 2, sources: 2 });
      const workspace = await resolveWorkspace(store.db, "second");
      const ctx = { db: store.db, workspace, actor: "test", secrets: rt.secrets, entraCustomUrls: true };
      for (let i = 0; i < 20; i++) {
        const source = await createEntraSource(ctx, {
          name: `extra-${i}`,
          config: { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl },
          credential: { kind: "secret", secret: "unused" },
        });
        await sql`insert into sync_runs (workspace_id, source_id, trigger, mode, status, counts, progress, finished_at)
          values (${workspace.id}, ${source.id}, 'schedule', 'full', ${i % 2 ? "failed" : "succeeded"}, '{"errors": 0}', '{}', now())`.execute(store.db);
      }
      expect(await statements()).toEqual({ count: few.count, sources: 22 });
    } finally {
      await counted.close();
    }
  });
});
