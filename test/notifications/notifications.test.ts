import "../support/no-network.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { sql } from "kysely";
import pino from "pino";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createEntraSource, getSource, type SourceContext } from "../../src/core/sources.ts";
import { removeScimSource, removeSource } from "../../src/core/source-removal.ts";
import { createScimSource, getScimSource } from "../../src/core/scim-sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { secretDaysLeft } from "../../src/domain/source.ts";
import { listDeliveries, listNotifications } from "../../src/core/notifications.ts";
import { scanNotifications, secretMilestone } from "../../src/core/notification-scan.ts";
import { updateNotificationSettings } from "../../src/core/notification-settings.ts";
import { claimDeliveries } from "../../src/core/notification-deliveries.ts";
import { rejectRun } from "../../src/core/runs.ts";
import { createNotifier } from "../../src/notifications/worker.ts";
import { postWebhook, verifyWebhookSignature } from "../../src/notifications/webhook.ts";
import { sendEmail } from "../../src/notifications/email.ts";
import { httpFetch } from "../../src/net/http.ts";
import { loadConfig } from "../../src/config.ts";
import { startMailbox, startWebhookReceiver, until } from "./support.ts";

const secretKeyHex = "7".repeat(64);
const secrets = secretBox(Buffer.from(secretKeyHex, "hex"));
const day = 86_400_000;
const inDays = (n: number, from = new Date()) => new Date(from.getTime() + n * day).toISOString().slice(0, 10);

async function addSource(store: TestStore, name: string, secretExpiresOn: string | null): Promise<SourceContext> {
  const workspace = await resolveWorkspace(store.db, "default");
  const ctx: SourceContext = { db: store.db, workspace, actor: "test", secrets, entraCustomUrls: true };
  await createEntraSource(ctx, {
    name,
    config: { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", secretExpiresOn },
    credential: { kind: "secret", secret: "test-secret" },
  });
  return ctx;
}

describe("secret expiry milestones", () => {
  it("raises the nearest threshold not yet passed: 30, 14, 7, 1 days, then expired", () => {
    const now = new Date("2026-03-01T10:00:00Z");
    expect(secretMilestone("2026-05-01", now)).toBeNull();
    expect(secretMilestone("2026-03-31", now)?.milestone).toBe("30d");
    expect(secretMilestone("2026-03-11", now)).toEqual({ milestone: "14d", daysLeft: 10 });
    expect(secretMilestone("2026-03-07", now)?.milestone).toBe("7d");
    expect(secretMilestone("2026-03-02", now)?.milestone).toBe("1d");
    expect(secretMilestone("2026-03-01", now)?.milestone).toBe("expired");
    // Counted up, in UTC: all the day before is 1 day left; the day itself is expired.
    expect([secretDaysLeft("2026-03-02", new Date("2026-03-01T00:00:01Z")), secretDaysLeft("2026-03-02", new Date("2026-03-01T23:59:59Z"))]).toEqual([1, 1]);
    expect(secretDaysLeft("2026-03-02", new Date("2026-03-02T00:00:00Z"))).toBe(0);
  });
});

describe("a delivery that does not go through", () => {
  it("is a delivery_failed error saying what happened and what to check", async () => {
    const hook = await startWebhookReceiver([503]);
    try {
      const post = (url: string) => postWebhook(httpFetch, { url, secret: "s", deliveryId: "d-1", event: "notification.test", payload: {} });
      await expect(post(hook.url)).rejects.toMatchObject({
        code: "delivery_failed",
        message: "the webhook answered HTTP 503: its receiver refused the post (the receiver's log says why)",
        details: { channel: "webhook", status: 503 },
      });
      // A receiver that went away: the connection is refused.
      const gone = await startWebhookReceiver();
      await gone.close();
      await expect(post(gone.url)).rejects.toMatchObject({
        code: "delivery_failed",
        message: expect.stringMatching(/^could not reach the webhook \(connect ECONNREFUSED 127\.0\.0\.1:\d+\): check the webhook URL, and that its receiver is up$/),
        details: { channel: "webhook", status: null },
      });
      const closedPort = new URL(gone.url).port;
      await expect(sendEmail({ smtpUrl: `smtp://127.0.0.1:${closedPort}`, from: "rollcall@example.com", to: "ops@example.com", deliveryId: "d-2", subject: "s", text: "t" })).rejects.toMatchObject({
        code: "delivery_failed",
        message: expect.stringMatching(/^could not reach the SMTP server 127\.0\.0\.1:\d+ \(connect ECONNREFUSED .*\): check the host and port in ROLLCALL_SMTP_URL, and that the server is up$/),
        details: { channel: "email", smtpCode: expect.stringMatching(/^(ECONNECTION|ESOCKET)$/) },
      });
    } finally {
      await hook.close();
    }
  });
});

describe.each(engines)("notifications (%s)", (engine) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await openTestStore(engine);
  });
  afterEach(async () => store?.dispose());

  it("raises each milestone once, supersedes the earlier one, and a replaced secret resolves the warnings", async () => {
    const ctx = await addSource(store, "contoso", inDays(10));
    await updateNotificationSettings(store.db, secrets, ctx.workspace, { emailTo: ["ops@example.com"] }, "test");
    const first = await scanNotifications(store.db);
    expect(first.raised.map((n) => [n.kind, n.milestone, n.severity])).toEqual([["secret_expiry", "14d", "warning"]]);
    // The source counts the days as its notification does (it counted down from the date, one day fewer).
    expect((await getSource(ctx, "contoso")).secret.daysLeft).toBe(10);
    expect(first.raised[0]!.title).toContain("(in 10 days)");
    expect((await scanNotifications(store.db)).raised).toEqual([]);

    // Four days later the 7-day milestone comes: raised once, the 14-day one is superseded.
    const later = new Date(Date.now() + 4 * day);
    expect((await scanNotifications(store.db, later)).raised.map((n) => n.milestone)).toEqual(["7d"]);
    const active = await listNotifications(store.db, ctx.workspace, { active: true });
    expect(active.map((n) => n.milestone)).toEqual(["7d"]);
    expect(active[0]!.title).toContain("contoso");
    expect(active[0]!.deliveries.map((d) => [d.channel, d.target, d.status])).toEqual([["email", "ops@example.com", "pending"]]);

    // A new secret with a far expiry date: nothing active any more.
    await sql`update sources set config = config || ${JSON.stringify({ secretExpiresOn: inDays(700) })}::jsonb`.execute(store.db);
    await scanNotifications(store.db, later);
    expect(await listNotifications(store.db, ctx.workspace, { active: true })).toEqual([]);
  });

  it("a failed sync and a run stopped at the deletion threshold are raised once; a later successful run resolves them", async () => {
    const ctx = await addSource(store, "contoso", null);
    const source = await store.db.selectFrom("sources").select("id").where("name", "=", "contoso").executeTakeFirstOrThrow();
    const insertRun = (status: string, error: object | null, minutesAgo: number) =>
      sql`insert into sync_runs (workspace_id, source_id, trigger, mode, status, started_at, finished_at, error)
          values (${ctx.workspace.id}, ${source.id}, 'schedule', 'delta', ${status}, now() - ${`${minutesAgo} minutes`}::interval, now() - ${`${minutesAgo} minutes`}::interval, ${error ? JSON.stringify(error) : null}::jsonb)`.execute(store.db);
    await insertRun("failed", { code: "source_auth_failed", message: "AADSTS7000222: The client secret has expired." }, 20);
    await insertRun("stopped", { code: "sync_threshold_exceeded", message: "The run would remove 40 of 100 users." }, 30);
    const raised = (await scanNotifications(store.db)).raised;
    expect(raised.map((n) => n.kind).sort()).toEqual(["sync_failed", "sync_stopped"]);
    expect(raised.find((n) => n.kind === "sync_failed")!.body).toContain("AADSTS7000222");
    expect((await scanNotifications(store.db)).raised).toEqual([]);
    // Rejecting the stopped run settles its notice at once; the later failure stays until a run succeeds.
    const stopped = raised.find((n) => n.kind === "sync_stopped")!;
    if (stopped.kind !== "sync_stopped") throw new Error("no stopped run's notice");
    await rejectRun(ctx, stopped.data.runId);
    expect((await listNotifications(store.db, ctx.workspace, { active: true })).map((n) => n.kind)).toEqual(["sync_failed"]);
    // A notice the scan raises again for a run decided meanwhile (by another process, say) is settled by the scan.
    await sql`update notifications set resolved_at = null where id = ${stopped.id}`.execute(store.db);
    await scanNotifications(store.db);
    expect((await listNotifications(store.db, ctx.workspace, { active: true })).map((n) => n.kind)).toEqual(["sync_failed"]);
    await insertRun("succeeded", null, 5);
    await scanNotifications(store.db);
    expect(await listNotifications(store.db, ctx.workspace, { active: true })).toEqual([]);
  });

  it("removing a source resolves its warnings: its runs and secret are gone with it", async () => {
    const ctx = await addSource(store, "leaving", inDays(3));
    const other = await addSource(store, "staying", inDays(3));
    const source = await store.db.selectFrom("sources").select("id").where("name", "=", "leaving").executeTakeFirstOrThrow();
    await sql`insert into sync_runs (workspace_id, source_id, trigger, mode, status, started_at, finished_at, error)
        values (${ctx.workspace.id}, ${source.id}, 'api', 'full', 'failed', now(), now(), ${JSON.stringify({ code: "source_auth_failed", message: "AADSTS7000215" })}::jsonb)`.execute(store.db);
    await scanNotifications(store.db);
    const active = async () => (await listNotifications(store.db, ctx.workspace, { active: true })).map((n) => `${n.kind} ${"source" in n.data ? n.data.source : n.data.fileName}`).sort();
    expect(await active()).toEqual(["secret_expiry leaving", "secret_expiry staying", "sync_failed leaving"]);
    await removeSource(ctx, "leaving");
    expect(await active()).toEqual(["secret_expiry staying"]);
    await scanNotifications(store.db);
    expect(await active()).toEqual(["secret_expiry staying"]);
    expect(other.workspace.id).toBe(ctx.workspace.id);
  });

  it("a SCIM source Entra ID stopped calling is raised once per quiet spell, settled when it calls again, and by removing it", async () => {
    const workspace = await resolveWorkspace(store.db, "default");
    const ctx = { db: store.db, workspace, actor: "test", secrets, entraCustomUrls: false };
    const quietOne = await createScimSource(ctx, { name: "Entra push" }, "https://rollcall.example.com");
    const neverCalled = await createScimSource(ctx, { name: "Never called" }, "https://rollcall.example.com");
    await updateNotificationSettings(store.db, secrets, workspace, { emailTo: ["ops@example.com"] }, "test");
    const lastRequest = new Date(Date.now() - 60_000);
    await sql`update scim_tokens set last_request_at = ${lastRequest} where source_id = ${quietOne.id}`.execute(store.db);
    expect((await scanNotifications(store.db)).raised).toEqual([]);
    const hours = (n: number) => new Date(Date.now() + n * 3_600_000);
    // Not yet: silent for 2 h 59 (it runs a cycle about every 40 minutes).
    expect((await scanNotifications(store.db, new Date(lastRequest.getTime() + 179 * 60_000))).raised).toEqual([]);

    const raised = (await scanNotifications(store.db, hours(4))).raised;
    expect(raised.map((n) => [n.kind, n.severity, n.title])).toEqual([
      ["scim_quiet", "warning", `Entra ID has not called SCIM source Entra push since ${lastRequest.toISOString().slice(0, 16).replace("T", " ")} UTC`],
      ["scim_quiet", "warning", expect.stringMatching(/^Entra ID has not called SCIM source Never called since it was added \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/)],
    ]);
    expect(raised[0]).toMatchObject({ link: "/w/default/sync/Entra%20push", data: { sourceId: quietOne.id, source: "Entra push", lastRequestAt: lastRequest.toISOString(), since: lastRequest.toISOString() } });
    expect(raised[0]!.body).toContain("Provisioning Status is On");
    expect((await listDeliveries(store.db, workspace)).map((d) => d.target)).toEqual(["ops@example.com", "ops@example.com"]);
    expect((await scanNotifications(store.db, hours(6))).raised).toEqual([]);

    // Called again: its spell is settled; silent again later, a new one is raised.
    const called = hours(7);
    await sql`update scim_tokens set last_request_at = ${called} where source_id = ${quietOne.id}`.execute(store.db);
    await scanNotifications(store.db, hours(7.5));
    const active = async () => (await listNotifications(store.db, workspace, { active: true })).map((n) => (n.kind === "scim_quiet" ? n.data.source : n.kind));
    expect(await active()).toEqual(["Never called"]);
    expect((await scanNotifications(store.db, hours(11))).raised.map((n) => n.kind === "scim_quiet" && n.data.since)).toEqual([called.toISOString()]);

    await removeScimSource(ctx, await getScimSource(ctx, "Never called", "https://rollcall.example.com"));
    expect(await active()).toEqual(["Entra push"]);
  });

  it("concurrent claimers take disjoint deliveries", async () => {
    const ctx = await addSource(store, "contoso", inDays(3));
    await updateNotificationSettings(store.db, secrets, ctx.workspace, { emailTo: Array.from({ length: 12 }, (_, i) => `ops${i}@example.com`) }, "test");
    await scanNotifications(store.db);
    const [a, b, c] = await Promise.all([claimDeliveries(store.db, "a", 5), claimDeliveries(store.db, "b", 5), claimDeliveries(store.db, "c", 5)]);
    const ids = [...a!, ...b!, ...c!].map((d) => d.id);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    expect(await claimDeliveries(store.db, "d", 5)).toEqual([]);
  });

  it("a failing webhook is retried with backoff, signed, and logged; e-mail goes over SMTP", async () => {
    const mailbox = await startMailbox();
    const hook = await startWebhookReceiver([500]);
    try {
      const ctx = await addSource(store, "contoso", inDays(10));
      // The receiver runs on this machine: allowed only as the operator allows it.
      const refused = updateNotificationSettings(store.db, secrets, ctx.workspace, { webhookUrl: hook.url }, "test");
      await expect(refused).rejects.toMatchObject({ code: "invalid_input", details: { fields: [{ field: "webhookUrl", message: expect.stringContaining("ROLLCALL_WEBHOOK_PRIVATE_NETWORK=true") }] } });
      // Plain http goes nowhere else, and is not offered where the machine's own receivers are not allowed.
      const plain = (privateNetwork: boolean) => updateNotificationSettings(store.db, secrets, ctx.workspace, { webhookUrl: "http://hooks.example.com/rollcall" }, "test", { webhookPrivateNetwork: privateNetwork });
      await expect(plain(false)).rejects.toMatchObject({ details: { fields: [{ field: "webhookUrl", message: "must be https://" }] } });
      await expect(plain(true)).rejects.toMatchObject({ details: { fields: [{ field: "webhookUrl", message: "must be https:// (plain http:// only to a receiver on this machine)" }] } });
      const settings = await updateNotificationSettings(store.db, secrets, ctx.workspace, { emailTo: ["ops@example.com"], webhookUrl: hook.url }, "test", { webhookPrivateNetwork: true });
      // The workspace's activity says who changed the settings, and that a secret was issued, never the secret.
      const entry = await sql<{ before: unknown; after: unknown; text: string }>`select before, after, after::text as text from change_log where action = 'update notification settings'`.execute(store.db);
      expect(entry.rows).toEqual([{ before: { emailTo: [], webhookUrl: null }, after: { emailTo: ["ops@example.com"], webhookUrl: hook.url, webhookSecret: "new" }, text: expect.not.stringContaining(settings.webhookSecret!) }]);
      const config = { ...loadConfig({ ROLLCALL_LOG_LEVEL: "silent" }), smtpUrl: mailbox.url, notifyRetryMs: 200, notifyMaxAttempts: 3, webhookPrivateNetwork: true };
      const notifier = createNotifier({ config, store, secrets, logger: pino({ level: "silent" }) });
      expect(await notifier.tick()).toEqual({ raised: 1, sent: 1, failed: 1 });
      expect(mailbox.messages).toHaveLength(1);
      expect(mailbox.messages[0]!.subject).toMatch(/client secret of source contoso expires on .* \(in 10 days\)/);
      const log = await store.db.selectFrom("notification_deliveries").selectAll().where("channel", "=", "webhook").executeTakeFirstOrThrow();
      expect(log).toMatchObject({ status: "pending", attempts: 1, last_error: "the webhook answered HTTP 500: its receiver refused the post (the receiver's log says why)" });
      await new Promise((r) => setTimeout(r, 400));
      expect(await notifier.tick()).toEqual({ raised: 0, sent: 1, failed: 0 });
      expect(hook.requests.map((r) => r.status)).toEqual([500, 200]);
      const last = hook.requests[1]!;
      expect(last.headers["rollcall-delivery"]).toBe(hook.requests[0]!.headers["rollcall-delivery"]);
      expect(verifyWebhookSignature(settings.webhookSecret!, last.body, String(last.headers["rollcall-signature"]))).toBe(true);
      expect(verifyWebhookSignature(settings.webhookSecret!, last.body.replace("contoso", "fabrikam"), String(last.headers["rollcall-signature"]))).toBe(false);
      expect(JSON.parse(last.body).notification).toMatchObject({ kind: "secret_expiry", milestone: "14d" });
    } finally {
      await mailbox.close();
      await hook.close();
    }
  });

  it("a retry follows the settings: to a new webhook URL signed with its secret, never to the old one; given up when the webhook or the address goes", async () => {
    const old = await startWebhookReceiver([500]);
    const replacement = await startWebhookReceiver([]);
    try {
      const ctx = await addSource(store, "contoso", inDays(10));
      await updateNotificationSettings(store.db, secrets, ctx.workspace, { emailTo: ["ops@example.com"], webhookUrl: old.url }, "test", { webhookPrivateNetwork: true });
      // No SMTP server: the e-mail is given up at once, saying what to set, not retried to the last attempt.
      const config = { ...loadConfig({ ROLLCALL_LOG_LEVEL: "silent" }), smtpUrl: undefined, notifyRetryMs: 1, notifyMaxAttempts: 3, webhookPrivateNetwork: true };
      const notifier = createNotifier({ config, store, secrets, logger: pino({ level: "silent" }) });
      expect(await notifier.tick()).toEqual({ raised: 1, sent: 0, failed: 2 });
      const rows = () => store.db.selectFrom("notification_deliveries").select(["channel", "target", "status", "attempts", "last_error"]).orderBy("channel").execute();
      expect((await rows())[0]).toMatchObject({ channel: "email", status: "failed", attempts: 1, last_error: "not sent: no SMTP server is configured (set ROLLCALL_SMTP_URL)" });

      const moved = await updateNotificationSettings(store.db, secrets, ctx.workspace, { webhookUrl: replacement.url }, "test", { webhookPrivateNetwork: true });
      expect(await notifier.tick()).toEqual({ raised: 0, sent: 1, failed: 0 });
      expect(old.requests).toHaveLength(1);
      const retried = replacement.requests[0]!;
      expect(retried.headers["rollcall-delivery"]).toBe(old.requests[0]!.headers["rollcall-delivery"]);
      expect(verifyWebhookSignature(moved.webhookSecret!, retried.body, String(retried.headers["rollcall-signature"]))).toBe(true);
      const [, webhook] = await listDeliveriesOf(store);
      expect(webhook).toMatchObject({ target: replacement.url, status: "sent", nextAttemptAt: null });

      // A delivery waiting when the webhook is removed is given up, saying why.
      await store.db.updateTable("notification_deliveries").set({ status: "pending", next_attempt_at: new Date() }).where("channel", "=", "webhook").execute();
      await updateNotificationSettings(store.db, secrets, ctx.workspace, { webhookUrl: null }, "test");
      expect(await notifier.tick()).toEqual({ raised: 0, sent: 0, failed: 0 });
      expect((await rows())[1]).toMatchObject({ status: "failed", last_error: "not sent: the workspace's webhook URL was changed or removed before this delivery went through" });
      expect(replacement.requests).toHaveLength(1);
    } finally {
      await old.close();
      await replacement.close();
    }
  });

  it("posts a round's deliveries side by side: a receiver that answers late holds up only its own", async () => {
    // The receiver answers once both posts are in: one at a time, the first would wait for its 10 s timeout and fail.
    const hook = await startWebhookReceiver([], {}, { holdUntil: 2 });
    try {
      const ctx = await addSource(store, "contoso", inDays(10));
      await addSource(store, "fabrikam", inDays(3));
      await updateNotificationSettings(store.db, secrets, ctx.workspace, { webhookUrl: hook.url }, "test", { webhookPrivateNetwork: true });
      const config = { ...loadConfig({ ROLLCALL_LOG_LEVEL: "silent" }), webhookPrivateNetwork: true };
      const notifier = createNotifier({ config, store, secrets, logger: pino({ level: "silent" }) });
      expect(await notifier.tick()).toEqual({ raised: 2, sent: 2, failed: 0 });
    } finally {
      await hook.close();
    }
  });
});

async function listDeliveriesOf(store: TestStore) {
  const workspace = await resolveWorkspace(store.db, "default");
  return (await listDeliveries(store.db, workspace)).sort((a, b) => a.channel.localeCompare(b.channel));
}

const bin = fileURLToPath(new URL("../../bin/rollcall.js", import.meta.url));

describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("two server processes on one PostgreSQL", () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("a secret expiring in 10 days is e-mailed and posted to the webhook exactly once", async () => {
    const store = await openTestStore("postgres");
    const mailbox = await startMailbox();
    const hook = await startWebhookReceiver([503]);
    try {
      const ctx = await addSource(store, "contoso", inDays(10));
      const settings = await updateNotificationSettings(store.db, secrets, ctx.workspace, { emailTo: ["ops@example.com", "it@example.com"], webhookUrl: hook.url }, "test", { webhookPrivateNetwork: true });
      const started: Promise<void>[] = [];
      for (let i = 0; i < 2; i++) {
        const dataDir = mkdtempSync(join(tmpdir(), "rollcall-notify-"));
        dirs.push(dataDir);
        const child = spawn(process.execPath, [bin, "serve", "--port", "0"], {
          env: {
            ...process.env, DATABASE_URL: store.url, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SECRET_KEY: secretKeyHex, ROLLCALL_SMTP_URL: mailbox.url,
            ROLLCALL_NOTIFY_INTERVAL_SECONDS: "1", ROLLCALL_NOTIFY_RETRY_SECONDS: "1", ROLLCALL_WEBHOOK_PRIVATE_NETWORK: "true", ROLLCALL_ADMIN_PASSWORD: "a-long-enough-password", ROLLCALL_LOG_LEVEL: "warn",
          },
          stdio: ["ignore", "ignore", "pipe"],
        });
        children.push(child);
        let stderr = "";
        started.push(new Promise((resolve, reject) => {
          child.stderr!.on("data", (c: Buffer) => {
            stderr += c.toString();
            if (stderr.includes("Rollcall is serving")) resolve();
          });
          child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
        }));
      }
      await Promise.all(started);
      await until(() => mailbox.messages.length >= 2 && hook.requests.some((r) => r.status === 200), 60_000, "the e-mails and the webhook");
      // Several more rounds of both processes: nothing more may arrive.
      await new Promise((r) => setTimeout(r, 4000));
      expect(mailbox.messages.map((m) => m.to[0]).sort()).toEqual(["it@example.com", "ops@example.com"]);
      expect(mailbox.messages[0]!.subject).toContain("expires on");
      expect(hook.requests.map((r) => r.status)).toEqual([503, 200]);
      expect(verifyWebhookSignature(settings.webhookSecret!, hook.requests[1]!.body, String(hook.requests[1]!.headers["rollcall-signature"]))).toBe(true);
      const notes = await store.db.selectFrom("notifications").selectAll().execute();
      expect(notes.map((n) => [n.kind, n.milestone])).toEqual([["secret_expiry", "14d"]]);
      const deliveries = await store.db.selectFrom("notification_deliveries").selectAll().orderBy("channel").orderBy("target").execute();
      expect(deliveries.map((d) => [d.channel, d.status, d.attempts])).toEqual([["email", "sent", 1], ["email", "sent", 1], ["webhook", "sent", 2]]);
    } finally {
      for (const child of children) child.kill("SIGTERM");
      await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
      await mailbox.close();
      await hook.close();
      await store.dispose();
    }
  }, 120_000);
});
