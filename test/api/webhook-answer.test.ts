import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { openStore } from "../../src/storage/database.ts";
import { lookAfterSubscriptions } from "../../src/sync/change-sync.ts";
import { forgetAllSubscriptions } from "../../src/core/subscription-cache.ts";
import { inboxSettled, maxUnverified, settleInbox } from "../../src/api/notification-inbox.ts";
import { buildApp } from "../../src/api/server.ts";
import { engines } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { until } from "../notifications/support.ts";
import { testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";

/**
 * Graph's webhook answers within Graph's 3 seconds whatever the database is doing
 * (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#throttling): the database held for longer
 * than that (a transaction keeping PGlite's one connection; on PostgreSQL, the tables the webhook's work writes locked),
 * Graph's deliveries, over real HTTP from the emulator, are answered at once, and what they say is recorded once the
 * database is free.
 */
const delayMs = 700;
const webhook = "/api/v1/graph/notifications";
/** Well under Graph's 3 seconds (and its 2,900 ms "slow"), with room for a loaded test machine. */
const promptMs = 1_500;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(engines)("Graph's webhook with the database busy (%s)", (engine) => {
  let api: TestApi;
  let emulator: RunningEmulator;
  let admin: Caller;
  let publicUrl: string;
  let closed = false;
  const tenant = () => emulator.tenants.get(emulator.tenantId);
  const atGraph = () => emulator.subscriptions.list(emulator.tenantId);
  const notificationRuns = async () => (await sql<{ status: string; mode: string }>`select status, mode from sync_runs where trigger = 'notification' order by started_at`.execute(api.store.db)).rows;
  const runsSettled = async () => (await sql<{ n: number }>`select count(*)::int as n from sync_runs where status = 'running'`.execute(api.store.db)).rows[0]!.n === 0;
  const dueAt = async () => (await sql<{ due: Date | null }>`select change_sync_due_at as due from source_state`.execute(api.store.db)).rows.map((r) => r.due);
  const jobTitleOf = async (upn: string) => (await admin("GET", `workspaces/default/users/${encodeURIComponent(upn)}`)).body.jobTitle;

  /** Holds the database until the returned function is called (which waits for the hold to end). */
  async function holdDatabase(): Promise<() => Promise<void>> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const done = api.store.db.transaction().execute(async (trx) => {
      if (engine === "postgres") await sql`lock table graph_subscriptions, source_state in access exclusive mode`.execute(trx);
      else await sql`select 1`.execute(trx);
      holding();
      await released;
    });
    await held;
    return async () => {
      release();
      await done;
    };
  }

  /** A change in the tenant, and Graph's delivery of its notification, as the emulator recorded it. */
  async function changeAndDeliver(userIndex: number, jobTitle: string) {
    const user = tenant().listUsers()[userIndex]!;
    const before = atGraph()[0]!.deliveries.length;
    tenant().updateUser(user.id, { jobTitle });
    await until(() => atGraph()[0]!.deliveries.length > before, 30_000, "Graph's delivery");
    return { user, delivery: atGraph()[0]!.deliveries.at(-1)! };
  }

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 6, groups: 1, seed: 58 });
    api = await testApi(engine, { config: { changeSyncDelayMs: delayMs, changeSyncMinIntervalMs: 0 } });
    publicUrl = (await api.app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
    api.rt.config.publicUrl = publicUrl;
    admin = await tokenCaller(api, "default", "admin");
    const made = await admin("POST", "workspaces/default/sources", {
      name: "corp", tenantId: emulator.tenantId, clientId: emulator.clientId, clientSecret: emulator.clientSecret, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, syncOnChange: true,
    });
    expect(made.body.status?.subscriptions?.[0]?.state, JSON.stringify(made.body)).toBe("active");
    expect((await admin("POST", "workspaces/default/sources/corp/sync", {})).status).toBe(202);
    await until(runsSettled, 30_000, "the first run");
  }, 60_000);
  afterAll(async () => {
    if (closed) await api?.store.dispose();
    else await api?.close();
    await emulator?.close();
  });

  it("a change's notification is answered 202 at once while the database is held for longer than Graph waits; its delta run follows once it is free", async () => {
    const before = (await notificationRuns()).length;
    const release = await holdDatabase();
    const heldAt = Date.now();
    let changed;
    try {
      changed = await changeAndDeliver(0, "Held up");
      // Longer than Graph's 3 seconds, before anything can be recorded.
      await pause(Math.max(0, 4_000 - (Date.now() - heldAt)));
    } finally {
      await release();
    }
    expect(changed.delivery).toMatchObject({ status: 202, slow: false });
    expect(changed.delivery.ms).toBeLessThan(promptMs);
    await until(async () => (await notificationRuns()).length > before && (await runsSettled()), 60_000, "the delta run after the database was free");
    expect((await notificationRuns()).at(-1)).toEqual({ status: "succeeded", mode: "delta" });
    expect(await jobTitleOf(changed.user.userPrincipalName)).toBe("Held up");
  });

  it("the validation handshake and forged notifications are answered at once too; the forgeries are dropped (logged why) and start nothing", async () => {
    const lines: Array<{ msg: string; reason?: string }> = [];
    const logger = api.rt.logger;
    api.rt.logger = pino({ level: "warn" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]), done()) }));
    const held = atGraph()[0]!;
    const before = (await notificationRuns()).length;
    const timed = async (url: string, body: unknown) => {
      const started = Date.now();
      const response = await fetch(`${publicUrl}${url}`, { method: "POST", headers: { "content-type": body === undefined ? "text/plain" : "application/json" }, body: body === undefined ? "" : JSON.stringify(body) });
      return { status: response.status, text: await response.text(), ms: Date.now() - started };
    };
    const forged = (item: Record<string, unknown>) => ({ value: [{ changeType: "updated", resource: "Users/x", tenantId: emulator.tenantId, ...item }] });
    const release = await holdDatabase();
    let answers;
    try {
      answers = [
        await timed(`${webhook}?validationToken=${encodeURIComponent("a token")}`, undefined),
        await timed(webhook, forged({ subscriptionId: held.id, clientState: "guess" })),
        await timed(webhook, forged({ subscriptionId: "00000000-0000-0000-0000-000000000058", clientState: held.clientState })),
      ];
    } finally {
      await release();
    }
    try {
      expect(answers.map(({ status, text }) => [status, text])).toEqual([[200, "a token"], [202, ""], [202, ""]]);
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(promptMs);
      await inboxSettled(api.store);
      expect(lines.map((l) => l.reason).sort()).toEqual(["unknown_subscription", "wrong_client_state"]);
    } finally {
      api.rt.logger = logger;
    }
    expect(await dueAt()).toEqual([null]);
    await pause(delayMs * 2);
    expect((await notificationRuns()).length).toBe(before);
  });

  it("a notification of a subscription this process does not know (made by another process, or before a restart) is checked against the database once it is free, and counts", async () => {
    await until(runsSettled, 30_000, "runs to end");
    const old = atGraph()[0]!.id;
    if (engine === "postgres") {
      // Another Rollcall process sharing the database makes the subscription again: this one has never seen it.
      const other = await openStore({ kind: "postgres", url: api.store.url! });
      try {
        await sql`update graph_subscriptions set state = 'failed', updated_at = now() - interval '2 hours'`.execute(api.store.db);
        await lookAfterSubscriptions({ ...api.rt, store: other });
      } finally {
        await other.close();
      }
      expect(atGraph().map((s) => s.id)).not.toContain(old);
    } else {
      // One process only on PGlite: as after a restart, it knows no subscription yet.
      forgetAllSubscriptions(api.store.db);
    }
    const before = (await notificationRuns()).length;
    const release = await holdDatabase();
    let changed;
    try {
      changed = await changeAndDeliver(1, "Checked later");
      await pause(1_000);
    } finally {
      await release();
    }
    expect(changed.delivery).toMatchObject({ status: 202, slow: false });
    expect(changed.delivery.ms).toBeLessThan(promptMs);
    await until(async () => (await notificationRuns()).length > before && (await runsSettled()), 60_000, "the delta run");
    expect(await jobTitleOf(changed.user.userPrincipalName)).toBe("Checked later");
  });

  it("thousands of different unknown notifications waiting for a busy database: a further delivery is refused 429 for Graph to send again, and taken once they are checked", async () => {
    const forgeries = (batch: number) => ({
      value: Array.from({ length: 1000 }, (_, i) => ({ subscriptionId: `00000000-0000-0000-${String(batch).padStart(4, "0")}-${String(i).padStart(12, "0")}`, clientState: "guess", changeType: "updated", resource: "Users/x" })),
    });
    const post = (body: unknown) => fetch(`${publicUrl}${webhook}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const release = await holdDatabase();
    const statuses: number[] = [];
    let refused: Response | undefined;
    try {
      for (let batch = 0; batch < maxUnverified / 1000; batch++) statuses.push((await post(forgeries(batch))).status);
      refused = await post(forgeries(99));
    } finally {
      await release();
    }
    expect(statuses).toEqual(Array.from({ length: maxUnverified / 1000 }, () => 202));
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([429, "60"]);
    expect((await refused.json()).error.code).toBe("rate_limited");
    await inboxSettled(api.store);
    expect((await post(forgeries(99))).status).toBe(202);
    await inboxSettled(api.store);
    expect(await dueAt()).toEqual([null]);
  });

  it.skipIf(engine !== "postgres")("a database that fails the work after the answer: logged once while it is tried again, not a crash; a stop gives up, naming what was not recorded", async () => {
    const lines: Array<{ msg: string; level: number; unverified?: number }> = [];
    const logger = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]), done()) }));
    // A second process whose database connections are gone (its pool ended): nothing it asks the database can succeed.
    const other = await openStore({ kind: "postgres", url: api.store.url! });
    const app = await buildApp({ ...api.rt, store: other, logger });
    const url = (await app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
    try {
      await other.close();
      const held = atGraph()[0]!;
      const answer = await fetch(`${url}${webhook}`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ value: [{ subscriptionId: held.id, clientState: held.clientState, changeType: "updated", resource: "Users/x" }] }),
      });
      expect(answer.status).toBe(202);
      await pause(2_500);
      expect(lines.filter((l) => l.msg.startsWith("could not record Graph notifications"))).toHaveLength(1);
      await settleInbox(other, 300);
      expect(lines.filter((l) => l.msg.startsWith("stopped before the database recorded"))).toEqual([expect.objectContaining({ unverified: 1 })]);
    } finally {
      await app.close();
    }
  });

  it("a server stopping while the database is held records what its webhook accepted before it closes", async () => {
    await until(runsSettled, 30_000, "runs to end");
    const release = await holdDatabase();
    let closing: Promise<void> | undefined;
    try {
      const { delivery } = await changeAndDeliver(2, "Accepted at the stop");
      expect(delivery).toMatchObject({ status: 202, slow: false });
      closing = api.app.close();
      closed = true;
      await pause(500);
    } finally {
      await release();
    }
    await closing;
    // Due, for another process (or this one's next start) to run.
    expect((await dueAt()).filter((due) => due !== null)).toHaveLength(1);
  });
});
