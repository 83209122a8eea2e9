import { createServer } from "node:http";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/api/server.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { openStore, type Store } from "../../src/storage/database.ts";
import { startScheduler } from "../../src/sync/scheduler.ts";
import { lookAfterSubscriptions, runDueChangeSyncs } from "../../src/sync/change-sync.ts";
import { startSubscriptionUpkeep } from "../../src/sync/subscription-upkeep.ts";
import { inboxSettled } from "../../src/api/notification-inbox.ts";
import { engines } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { startRoundRobinProxy, type RoundRobinProxy } from "../support/proxy.ts";
import { until } from "../notifications/support.ts";
import { accountCaller, testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";

/**
 * Sync on change end to end: Rollcall serving on a real port, the emulator subscribing it (the validation handshake
 * over real HTTP) and posting its notifications there; the delta runs they start, debounced (a short delay here).
 */
const delayMs = 700;
const webhook = "/api/v1/graph/notifications";

async function listen(app: FastifyInstance): Promise<string> {
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  return address.replace("localhost", "127.0.0.1");
}

/**
 * A notification URL that answers Graph's validation request only when released (Graph gives it 10 s): the echo Rollcall
 * would send, late.
 */
async function startSlowValidationEndpoint(): Promise<{ url: string; held(): number; release(): void; close(): Promise<void> }> {
  const waiting: Array<() => void> = [];
  let released = false;
  const server = createServer((req, res) => {
    const token = new URL(req.url ?? "/", "http://x").searchParams.get("validationToken");
    const answer = () => (token === null ? res.writeHead(202).end() : res.writeHead(200, { "content-type": "text/plain" }).end(token));
    if (released || token === null) answer();
    else waiting.push(answer);
  });
  const url = await new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
  return {
    url,
    held: () => waiting.length,
    release: () => {
      released = true;
      for (const answer of waiting.splice(0)) answer();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(engines)("sync on change (%s)", (engine) => {
  let api: TestApi;
  let emulator: RunningEmulator;
  let admin: Caller;
  let publicUrl: string;
  const tenant = () => emulator.tenants.get(emulator.tenantId);
  const source = (extra: Record<string, unknown> = {}) => ({
    name: "corp", tenantId: emulator.tenantId, clientId: emulator.clientId, clientSecret: emulator.clientSecret, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, ...extra,
  });
  const atGraph = () => emulator.subscriptions.list(emulator.tenantId);
  const notificationRuns = async () => (await sql<{ id: string; status: string; mode: string }>`select id, status, mode from sync_runs where trigger = 'notification' order by started_at`.execute(api.store.db)).rows;
  const runsSettled = async () => (await sql<{ n: number }>`select count(*)::int as n from sync_runs where status = 'running'`.execute(api.store.db)).rows[0]!.n === 0;
  const dueAt = async () => (await sql<{ due: Date | null }>`select change_sync_due_at as due from source_state`.execute(api.store.db)).rows.map((r) => r.due);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 8, groups: 2, seed: 21 });
    // No minimum between notification runs but where a test sets one: each test's run follows its change.
    api = await testApi(engine, { config: { changeSyncDelayMs: delayMs, changeSyncMinIntervalMs: 0 } });
    publicUrl = await listen(api.app);
    api.rt.config.publicUrl = publicUrl;
    admin = await tokenCaller(api, "default", "admin");
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await emulator?.close();
  });

  it("refuses to turn it on without ROLLCALL_PUBLIC_URL, naming it", async () => {
    api.rt.config.publicUrl = undefined;
    const refused = await admin("POST", "workspaces/default/sources", source({ name: "nowhere", syncOnChange: true }));
    api.rt.config.publicUrl = publicUrl;
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.fields).toEqual([expect.objectContaining({ field: "syncOnChange", message: expect.stringContaining("ROLLCALL_PUBLIC_URL") })]);
  });

  it("a notification URL Graph cannot reach is the source's warning, with Graph's code and what to do, not an error", async () => {
    api.rt.config.publicUrl = "http://127.0.0.1:1";
    const made = await admin("POST", "workspaces/default/sources", source({ name: "unreachable", syncOnChange: true }));
    api.rt.config.publicUrl = publicUrl;
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.status.subscriptions).toEqual([{ resource: "users", state: "failed", expiresAt: null, warning: { code: "ValidationError", message: expect.stringMatching(/could not validate the notification URL http:\/\/127\.0\.0\.1:1\/api\/v1\/graph\/notifications .*ROLLCALL_PUBLIC_URL/) } }]);
    expect((await admin("DELETE", "workspaces/default/sources/unreachable")).status).toBe(200);
  });

  it("turned on, subscribes to users (and groups, when the source reads them) with Graph's handshake", async () => {
    const made = await admin("POST", "workspaces/default/sources", source({ syncOnChange: true, groupMode: "all" }));
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.status.subscriptions.map((s: { resource: string; state: string }) => [s.resource, s.state])).toEqual([["users", "active"], ["groups", "active"]]);
    const expiresIn = Date.parse(made.body.status.subscriptions[0].expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(28 * 86_400_000);
    expect(expiresIn).toBeLessThan(41_760 * 60_000);
    expect(atGraph().map((s) => [s.resource, s.changeType, s.notificationUrl, s.lifecycleNotificationUrl]).sort()).toEqual([
      ["groups", "updated,deleted", `${publicUrl}${webhook}`, `${publicUrl}${webhook}`],
      ["users", "updated,deleted", `${publicUrl}${webhook}`, `${publicUrl}${webhook}`],
    ]);
    // The clientState is a secret of its own, stored sealed.
    const stored = (await sql<{ sealed: string }>`select client_state_ciphertext as sealed from graph_subscriptions`.execute(api.store.db)).rows;
    expect(stored.every((r) => atGraph().every((s) => s.clientState && !r.sealed.includes(s.clientState)))).toBe(true);
    expect(new Set(atGraph().map((s) => s.clientState)).size).toBe(2);
    // Turned off for groups (the source no longer reads them): that subscription goes.
    const patched = await admin("PATCH", "workspaces/default/sources/corp", { groupMode: "none" });
    expect(patched.body.status.subscriptions.map((s: { resource: string }) => s.resource)).toEqual(["users"]);
    expect(atGraph().map((s) => s.resource)).toEqual(["users"]);
  });

  it("a change in Entra ID is a notification, and a delta run within the delay applies it (trigger notification)", async () => {
    expect((await admin("POST", "workspaces/default/sources/corp/sync", {})).status).toBe(202);
    await until(runsSettled, 30_000, "the first (full) run");
    const leaver = tenant().listUsers()[0]!;
    const started = Date.now();
    tenant().updateUser(leaver.id, { accountEnabled: false });
    await until(async () => (await notificationRuns()).some((r) => r.status === "succeeded"), 60_000, "a notification run");
    expect(Date.now() - started).toBeLessThan(delayMs + 10_000);
    expect(await notificationRuns()).toEqual([{ id: expect.any(String), status: "succeeded", mode: "delta" }]);
    const user = await admin("GET", `workspaces/default/users/${encodeURIComponent(leaver.userPrincipalName)}`);
    expect(user.body.enabled).toBe(false);
    const runs = await admin("GET", "workspaces/default/runs?limit=1");
    expect(runs.body.items?.[0] ?? runs.body[0]).toMatchObject({ trigger: "notification", requestedBy: "Microsoft Graph change notification" });
  });

  it("a burst of 20 changes is one run", async () => {
    await until(runsSettled, 30_000, "runs to end");
    const before = (await notificationRuns()).length;
    const users = tenant().listUsers();
    // The run made due by the burst held until all 20 are in (on a loaded machine they can take longer than the delay
    // to arrive, and the last ones make a second run due), then started as its wake-up would.
    api.rt.config.changeSyncDelayMs = 600_000;
    try {
      for (let i = 0; i < 20; i++) tenant().updateUser(users[i % users.length]!.id, { jobTitle: `Title ${i}` });
      await until(() => atGraph()[0]!.deliveries.length >= 20, 30_000, "20 deliveries");
      await inboxSettled(api.store);
    } finally {
      api.rt.config.changeSyncDelayMs = delayMs;
    }
    expect((await dueAt())[0]).not.toBeNull();
    await sql`update source_state set change_sync_due_at = now() where change_sync_due_at is not null`.execute(api.store.db);
    expect(await runDueChangeSyncs(api.rt)).toBe(1);
    await until(async () => (await notificationRuns()).length > before && (await runsSettled()), 60_000, "the burst's run");
    await pause(delayMs * 3);
    expect((await notificationRuns()).length).toBe(before + 1);
    expect((await admin("GET", `workspaces/default/users/${encodeURIComponent(users[19 % users.length]!.userPrincipalName)}`)).body.jobTitle).toBe("Title 19");
  });

  it("a forged notification (wrong clientState, or a subscription it does not hold) is answered 202 alike, so Graph does not redeliver it, and starts nothing", async () => {
    await until(runsSettled, 30_000, "runs to end");
    const before = (await notificationRuns()).length;
    const held = atGraph()[0]!;
    const forge = (item: Record<string, unknown>) =>
      api.app.inject({ method: "POST", url: webhook, payload: { value: [{ changeType: "updated", resource: "Users/x", tenantId: emulator.tenantId, ...item }] } });
    const wrongState = await forge({ subscriptionId: held.id, clientState: "guess" });
    const unknown = await forge({ subscriptionId: "00000000-0000-0000-0000-000000000000", clientState: held.clientState });
    const none = await forge({ subscriptionId: held.id });
    expect([wrongState.statusCode, unknown.statusCode, none.statusCode]).toEqual([202, 202, 202]);
    expect([unknown.body, none.body]).toEqual([wrongState.body, wrongState.body]);
    expect(await dueAt()).toEqual([null]);
    await pause(delayMs * 2);
    expect((await notificationRuns()).length).toBe(before);
    // The handshake echoes the token as text/plain, whatever the body says.
    const handshake = await api.app.inject({ method: "POST", url: `${webhook}?validationToken=${encodeURIComponent("a b<c>")}`, headers: { "content-type": "text/plain; charset=utf-8" } });
    expect([handshake.statusCode, handshake.headers["content-type"], handshake.body]).toEqual([200, "text/plain; charset=utf-8", "a b<c>"]);
  });

  it("renews a subscription about to expire, as the subscription upkeep passes", async () => {
    const held = atGraph()[0]!;
    await sql`update graph_subscriptions set expires_at = now() + interval '1 hour'`.execute(api.store.db);
    await lookAfterSubscriptions(api.rt);
    const row = (await sql<{ id: string; expires: Date }>`select subscription_id as id, expires_at as expires from graph_subscriptions`.execute(api.store.db)).rows[0]!;
    expect(row.id).toBe(held.id);
    expect(new Date(row.expires).getTime()).toBeGreaterThan(Date.now() + 28 * 86_400_000);
    expect(Date.parse(atGraph()[0]!.expirationDateTime)).toBe(new Date(row.expires).getTime());
  });

  it("keeps a subscription Graph would not renew (5xx) while it still delivers, showing why, and renews it at a later pass", async () => {
    const held = atGraph()[0]!;
    await sql`update graph_subscriptions set expires_at = now() + interval '1 hour'`.execute(api.store.db);
    const row = async () => (await sql<{ id: string; state: string; error: { code: string } | null; expires: Date }>`select subscription_id as id, state, error, expires_at as expires from graph_subscriptions`.execute(api.store.db)).rows[0]!;
    try {
      emulator.setKnobs({ faultRate: 1 });
      await lookAfterSubscriptions(api.rt);
      emulator.setKnobs({ faultRate: 0 });
      expect(await row()).toMatchObject({ id: held.id, state: "active", error: { code: expect.any(String) } });
      expect(new Date((await row()).expires).getTime()).toBeLessThan(Date.now() + 2 * 3_600_000);
      await lookAfterSubscriptions(api.rt);
      expect(await row()).toMatchObject({ id: held.id, state: "active", error: null });
      expect(new Date((await row()).expires).getTime()).toBeGreaterThan(Date.now() + 28 * 86_400_000);
    } finally {
      emulator.setKnobs({ faultRate: 0 });
    }
  });

  it("a notification endpoint slow to answer Graph's validation (Graph waits 10 s) does not hold up a scheduled run that is due", async () => {
    await until(runsSettled, 30_000, "runs to end");
    const slow = await startSlowValidationEndpoint();
    const scheduledRuns = async () => (await sql<{ n: number }>`select count(*)::int as n from sync_runs where trigger = 'schedule'`.execute(api.store.db)).rows[0]!.n;
    const before = await scheduledRuns();
    // Due at once: a scheduled run, and a subscription that failed two hours ago, to be made again with Graph's
    // validation request waiting on the slow endpoint.
    await sql`update graph_subscriptions set state = 'failed', updated_at = now() - interval '2 hours'`.execute(api.store.db);
    await sql`update source_state set next_run_at = now() - interval '1 second'`.execute(api.store.db);
    api.rt.config.publicUrl = slow.url;
    const scheduler = startScheduler(api.rt, { tickMs: 3_600_000 });
    let upkeep: ReturnType<typeof startSubscriptionUpkeep> | undefined;
    try {
      const ticked = scheduler.tick();
      await until(async () => (await scheduledRuns()) > before, 30_000, "the scheduled run");
      expect(slow.held()).toBe(0);
      upkeep = startSubscriptionUpkeep(api.rt, { everyMs: 3_600_000 });
      await until(() => slow.held() === 1, 30_000, "Graph's validation request, from the subscription upkeep");
      expect(await ticked).toBe(1);
    } finally {
      slow.release();
      await upkeep?.stop();
      await scheduler.stop();
      api.rt.config.publicUrl = publicUrl;
    }
    // Made at the slow endpoint's address once it answered; moved back here as at start-up.
    expect(atGraph().map((s) => s.notificationUrl)).toEqual([`${slow.url}${webhook}`]);
    await lookAfterSubscriptions(api.rt, { verify: true });
    await slow.close();
    expect(atGraph().map((s) => s.notificationUrl)).toEqual([`${publicUrl}${webhook}`]);
  });

  it("a flood of forged notifications logs one warning line per reason (the log says which check failed, the sender is not told), the rest counted for the next line", async () => {
    const lines: Array<{ msg: string; reason?: string; deliveries?: number; notifications?: number }> = [];
    const logger = api.rt.logger;
    api.rt.logger = pino({ level: "warn" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]), done()) }));
    try {
      const held = atGraph()[0]!;
      const forge = (item: Record<string, unknown>) => api.app.inject({ method: "POST", url: webhook, payload: { value: [{ changeType: "updated", resource: "Users/x", tenantId: emulator.tenantId, ...item }] } });
      for (let i = 0; i < 20; i++) {
        expect((await forge({ subscriptionId: held.id, clientState: `guess ${i}` })).statusCode).toBe(202);
        expect((await forge({ subscriptionId: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`, clientState: held.clientState })).statusCode).toBe(202);
      }
      // An unknown subscription is looked up in the database after the answer.
      await inboxSettled(api.store);
      expect(lines.map(({ reason, deliveries, notifications }) => ({ reason, deliveries, notifications }))).toEqual([
        { reason: "wrong_client_state", deliveries: 1, notifications: 1 },
        { reason: "unknown_subscription", deliveries: 1, notifications: 1 },
      ]);
      expect(lines.map((l) => l.msg)).toEqual([expect.stringContaining("clientState"), expect.stringContaining("does not hold")]);
    } finally {
      api.rt.logger = logger;
    }
  });

  it("lifecycle events: reauthorizationRequired reauthorizes (POST /reauthorize, the expiry as it was), subscriptionRemoved makes it again and runs a delta, missed starts a delta run", async () => {
    const held = atGraph()[0]!;
    emulator.resetStats();
    emulator.subscriptions.lifecycle(emulator.tenantId, held.id, "reauthorizationRequired");
    await until(() => !atGraph()[0]!.reauthorizationRequired, 30_000, "the reauthorization");
    expect(emulator.stats().requests.filter((r) => r.url.includes("/subscriptions")).map((r) => [r.method, new URL(r.url, "https://x").pathname, r.status])).toEqual([["POST", `/v1.0/subscriptions/${held.id}/reauthorize`, 204]]);
    expect(atGraph()[0]!.expirationDateTime).toBe(held.expirationDateTime);
    await until(runsSettled, 30_000, "runs to end");
    const beforeRemoval = (await notificationRuns()).length;
    emulator.subscriptions.lifecycle(emulator.tenantId, held.id, "subscriptionRemoved");
    await until(() => atGraph().length === 1 && atGraph()[0]!.id !== held.id, 30_000, "a new subscription");
    const remade = atGraph()[0]!;
    await until(async () => (await sql<{ id: string }>`select subscription_id as id from graph_subscriptions where state = 'active'`.execute(api.store.db)).rows[0]?.id === remade.id, 30_000, "the new one stored");
    // What changed while there was no subscription is fetched by a delta run.
    await until(async () => (await notificationRuns()).length > beforeRemoval && (await runsSettled()), 60_000, "the run after the subscription was made again");
    const before = (await notificationRuns()).length;
    emulator.subscriptions.lifecycle(emulator.tenantId, remade.id, "missed");
    await until(async () => (await notificationRuns()).length > before && (await runsSettled()), 60_000, "the missed run");
    expect((await notificationRuns()).at(-1)).toMatchObject({ status: "succeeded", mode: "delta" });
  });

  it("reauthorizationRequired: a reauthorization Graph refuses falls back to renewing; one Graph no longer has is made again, and a delta run follows", async () => {
    const held = atGraph()[0]!;
    const graphCalls = () => emulator.stats().requests.filter((r) => r.url.includes("/subscriptions")).map((r) => [r.method, new URL(r.url, "https://x").pathname.replace(held.id, "{id}"), r.status]);
    const stored = async () => (await sql<{ id: string; expires: Date; error: unknown }>`select subscription_id as id, expires_at as expires, error from graph_subscriptions`.execute(api.store.db)).rows;
    emulator.resetStats();
    emulator.subscriptions.refuseNext(emulator.tenantId, held.id, "reauthorize", { status: 400, code: "BadRequest", message: "Resource not found for the segment 'reauthorize'." });
    emulator.subscriptions.lifecycle(emulator.tenantId, held.id, "reauthorizationRequired");
    await until(() => !atGraph()[0]!.reauthorizationRequired, 30_000, "the renewal");
    await until(async () => new Date((await stored())[0]!.expires).getTime() === Date.parse(atGraph()[0]!.expirationDateTime), 30_000, "the renewal stored");
    expect(graphCalls()).toEqual([["POST", "/v1.0/subscriptions/{id}/reauthorize", 400], ["PATCH", "/v1.0/subscriptions/{id}", 200]]);
    expect(Date.parse(atGraph()[0]!.expirationDateTime)).toBeGreaterThan(Date.parse(held.expirationDateTime));
    expect(await stored()).toEqual([{ id: held.id, expires: expect.any(Date), error: null }]);

    await until(runsSettled, 30_000, "runs to end");
    const before = (await notificationRuns()).length;
    emulator.resetStats();
    emulator.subscriptions.refuseNext(emulator.tenantId, held.id, "reauthorize", { status: 404, code: "ResourceNotFound", message: `The object '${held.id}' was not found.` });
    emulator.subscriptions.lifecycle(emulator.tenantId, held.id, "reauthorizationRequired");
    await until(async () => (await stored())[0]!.id !== held.id, 30_000, "a new subscription");
    expect(graphCalls()).toEqual([["POST", "/v1.0/subscriptions/{id}/reauthorize", 404], ["POST", "/v1.0/subscriptions", 201]]);
    await until(async () => (await notificationRuns()).length > before && (await runsSettled()), 60_000, "the run after the subscription was made again");
    expect((await notificationRuns()).at(-1)).toMatchObject({ status: "succeeded", mode: "delta" });
    // The emulator still has the one it said it had not: it goes, as Graph would remove it.
    emulator.subscriptions.lifecycle(emulator.tenantId, held.id, "subscriptionRemoved");
    expect(atGraph().map((s) => s.id)).toEqual([(await stored())[0]!.id]);
  });

  it("a busy tenant: a notification run never starts sooner than ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS after the last one", async () => {
    await until(runsSettled, 30_000, "runs to end");
    const minIntervalMs = 4_000;
    api.rt.config.changeSyncMinIntervalMs = minIntervalMs;
    try {
      const users = tenant().listUsers();
      const before = (await notificationRuns()).length;
      const started = async () => (await sql<{ at: Date }>`select started_at as at from sync_runs where trigger = 'notification' order by started_at desc limit 2`.execute(api.store.db)).rows.map((r) => new Date(r.at).getTime());
      tenant().updateUser(users[2]!.id, { jobTitle: "Busy 1" });
      await until(async () => (await notificationRuns()).length > before && (await runsSettled()), 60_000, "the first run");
      const [first] = await started();
      tenant().updateUser(users[3]!.id, { jobTitle: "Busy 2" });
      // Made due, unless a loaded machine only looks once it has started (due for the seconds left of the interval).
      let due: Date | null = null;
      await until(async () => (due = (await dueAt())[0]!) !== null || (await notificationRuns()).length > before + 1, 30_000, "the next run made due");
      if (due) expect(new Date(due).getTime() - first!).toBeGreaterThanOrEqual(minIntervalMs);
      await until(async () => (await notificationRuns()).length > before + 1 && (await runsSettled()), 60_000, "the second run");
      const [second, firstAgain] = await started();
      expect(second! - firstAgain!).toBeGreaterThanOrEqual(minIntervalMs);
      expect((await admin("GET", `workspaces/default/users/${encodeURIComponent(users[3]!.userPrincipalName)}`)).body.jobTitle).toBe("Busy 2");
    } finally {
      api.rt.config.changeSyncMinIntervalMs = 0;
    }
  });

  it("at start-up, makes a subscription that could not be made before (turned on while no server answered Graph)", async () => {
    await admin("PATCH", "workspaces/default/sources/corp", { syncOnChange: false });
    api.rt.config.publicUrl = "http://127.0.0.1:1";
    const failed = await admin("PATCH", "workspaces/default/sources/corp", { syncOnChange: true });
    api.rt.config.publicUrl = publicUrl;
    expect([failed.body.status.subscriptions[0].state, atGraph()]).toEqual(["failed", []]);
    await lookAfterSubscriptions(api.rt, { retryFailed: true });
    expect((await admin("GET", "workspaces/default/sources/corp")).body.status.subscriptions).toEqual([{ resource: "users", state: "active", expiresAt: expect.any(String), warning: null }]);
    expect(atGraph().map((s) => s.resource)).toEqual(["users"]);
  });

  it("ROLLCALL_PUBLIC_URL changed: at start-up, a subscription delivering to the old address is made again at the new one", async () => {
    const held = atGraph()[0]!;
    const storedId = async () => (await sql<{ id: string }>`select subscription_id as id from graph_subscriptions where state = 'active'`.execute(api.store.db)).rows.map((r) => r.id);
    // Unchanged, it is only checked: the same subscription.
    await lookAfterSubscriptions(api.rt, { retryFailed: true, verify: true });
    expect([atGraph().map((s) => s.id), await storedId()]).toEqual([[held.id], [held.id]]);
    const moved = await startRoundRobinProxy([publicUrl]);
    api.rt.config.publicUrl = moved.url;
    try {
      await lookAfterSubscriptions(api.rt, { retryFailed: true, verify: true });
      expect(atGraph().map((s) => [s.notificationUrl, s.lifecycleNotificationUrl])).toEqual([[`${moved.url}${webhook}`, `${moved.url}${webhook}`]]);
      expect(await storedId()).toEqual([atGraph()[0]!.id]);
      // A change now reaches this server at the new address.
      const user = tenant().listUsers()[1]!;
      tenant().updateUser(user.id, { jobTitle: "Moved along" });
      await until(() => moved.served.some((s) => s.status === 202), 30_000, "a delivery at the new address");
    } finally {
      api.rt.config.publicUrl = publicUrl;
      await lookAfterSubscriptions(api.rt, { retryFailed: true, verify: true });
      await moved.close();
    }
    expect(atGraph().map((s) => s.notificationUrl)).toEqual([`${publicUrl}${webhook}`]);
  });

  it("turned off, its subscriptions are deleted at Graph; removing the source deletes them too", async () => {
    const off = await admin("PATCH", "workspaces/default/sources/corp", { syncOnChange: false });
    expect([off.status, off.body.status.subscriptions, atGraph()]).toEqual([200, [], []]);
    const on = await admin("PATCH", "workspaces/default/sources/corp", { syncOnChange: true });
    expect([on.body.status.subscriptions[0].state, atGraph().length]).toEqual(["active", 1]);
    expect((await admin("DELETE", "workspaces/default/sources/corp")).status).toBe(200);
    expect(atGraph()).toEqual([]);
    expect((await sql`select * from graph_subscriptions`.execute(api.store.db)).rows).toEqual([]);
  });

  it("removing a workspace deletes its sources' subscriptions at Graph", async () => {
    const owner = await accountCaller(api, "owner@example.com", { owner: true });
    expect((await owner("POST", "workspaces", { name: "north" })).status).toBe(201);
    expect((await owner("POST", "workspaces/north/sources", source({ syncOnChange: true }))).body.status.subscriptions[0].state).toBe("active");
    expect(atGraph().length).toBe(1);
    expect((await owner("DELETE", "workspaces/north")).status).toBe(204);
    expect(atGraph()).toEqual([]);
  });

  it("pointed at another tenant and app, its subscriptions leave the old tenant and are made in the new one", async () => {
    const other = emulator.tenants.add({ users: 3, groups: 1 });
    const made = await admin("POST", "workspaces/default/sources", source({ name: "mover", syncOnChange: true }));
    expect([made.body.status.subscriptions[0].state, atGraph().length]).toEqual(["active", 1]);
    const moved = await admin("PATCH", "workspaces/default/sources/mover", { tenantId: other.id, clientId: other.defaultApp.clientId, clientSecret: other.defaultApp.clientSecret });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(atGraph()).toEqual([]);
    const there = emulator.subscriptions.list(other.id);
    expect(there.map((s) => [s.resource, s.applicationId])).toEqual([["users", other.defaultApp.clientId]]);
    expect(moved.body.status.subscriptions).toEqual([{ resource: "users", state: "active", expiresAt: there[0]!.expirationDateTime, warning: null }]);
    // Its notifications are the ones that count now.
    const before = (await notificationRuns()).length;
    other.updateUser(other.listUsers()[0]!.id, { jobTitle: "Elsewhere" });
    await until(async () => (await notificationRuns()).length > before && (await runsSettled()), 60_000, "a run from the new tenant's notification");
    expect((await admin("DELETE", "workspaces/default/sources/mover")).status).toBe(200);
    expect(emulator.subscriptions.list(other.id)).toEqual([]);
  });
});

describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("sync on change with two Rollcall processes on one PostgreSQL server", () => {
  let api: TestApi;
  let second: { app: FastifyInstance; store: Store };
  let proxy: RoundRobinProxy;
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 6, groups: 1, seed: 22 });
    api = await testApi("postgres", { config: { changeSyncDelayMs: delayMs, changeSyncMinIntervalMs: 0 } });
    const other = await openStore({ kind: "postgres", url: api.store.url! });
    const rt2: Runtime = { ...api.rt, store: other, close: () => other.close() };
    second = { app: await buildApp(rt2), store: other };
    proxy = await startRoundRobinProxy([await listen(api.app), await listen(second.app)]);
    api.rt.config.publicUrl = proxy.url;
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await second?.app.close();
    await second?.store.close();
    await api?.close();
    await emulator?.close();
  });

  it("notifications landing on both processes start one run", async () => {
    const admin = await tokenCaller(api, "default", "admin");
    const made = await admin("POST", "workspaces/default/sources", {
      name: "corp", tenantId: emulator.tenantId, clientId: emulator.clientId, clientSecret: emulator.clientSecret, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, syncOnChange: true,
    });
    expect(made.body.status.subscriptions[0].state).toBe("active");
    await admin("POST", "workspaces/default/sources/corp/sync", {});
    const runs = async () => (await sql<{ trigger: string; status: string }>`select trigger, status from sync_runs order by started_at`.execute(api.store.db)).rows;
    await until(async () => (await runs()).every((r) => r.status !== "running"), 30_000, "the first run");
    proxy.served.length = 0;
    const tenant = emulator.tenants.get(emulator.tenantId);
    // The run they make due held until all six are in (they can take longer than the delay on a loaded machine, and
    // the last ones make a second run due), then both processes look for due runs at once, as their wake-ups would.
    api.rt.config.changeSyncDelayMs = 600_000; // the two processes' runtimes share it
    try {
      for (const user of tenant.listUsers()) tenant.updateUser(user.id, { department: "Moved" });
      await until(() => emulator.subscriptions.list(emulator.tenantId)[0]!.deliveries.length >= 6, 30_000, "the deliveries");
      await Promise.all([inboxSettled(api.store), inboxSettled(second.store)]);
    } finally {
      api.rt.config.changeSyncDelayMs = delayMs;
    }
    expect(new Set(proxy.served.map((s) => s.backend))).toEqual(new Set([0, 1]));
    await sql`update source_state set change_sync_due_at = now() where change_sync_due_at is not null`.execute(api.store.db);
    expect((await Promise.all([runDueChangeSyncs(api.rt), runDueChangeSyncs({ ...api.rt, store: second.store })])).reduce((a, b) => a + b)).toBe(1);
    await until(async () => (await runs()).some((r) => r.trigger === "notification" && r.status !== "running"), 60_000, "the notification run");
    await new Promise((r) => setTimeout(r, delayMs * 3));
    expect((await runs()).filter((r) => r.trigger === "notification")).toEqual([{ trigger: "notification", status: "succeeded" }]);
  });

  it("two processes' subscription upkeeps passing at once renew an expiring subscription once", async () => {
    await sql`update graph_subscriptions set expires_at = now() + interval '1 hour'`.execute(api.store.db);
    emulator.resetStats();
    // Each upkeep's first pass, at once.
    const one = startSubscriptionUpkeep(api.rt, { everyMs: 3_600_000 });
    const two = startSubscriptionUpkeep({ ...api.rt, store: second.store }, { everyMs: 3_600_000 });
    await Promise.all([one.stop(), two.stop()]);
    expect(emulator.stats().requests.filter((r) => r.method === "PATCH" && r.url.includes("/subscriptions/")).map((r) => r.status)).toEqual([200]);
    const expires = (await sql<{ expires: Date }>`select expires_at as expires from graph_subscriptions`.execute(api.store.db)).rows[0]!.expires;
    expect(new Date(expires).getTime()).toBeGreaterThan(Date.now() + 28 * 86_400_000);
  });
});
