import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

/**
 * The emulator's change notifications, over real HTTPS to it and real HTTP back to a receiver on this machine: Graph's
 * validation handshake, its refusals, renewal and deletion, and the notifications a change made through the control
 * API sends, in Microsoft's wire format.
 */
type Received = { query: URLSearchParams; contentType: string | undefined; body: string };

describe("emulator: /v1.0/subscriptions and change notifications", () => {
  let t: TestEmu;
  let token: string;
  let receiver: Server;
  let url = "";
  const received: Received[] = [];
  /** How the receiver answers a validation request: echo the token (as Rollcall does), or something else. */
  let validation: "echo" | "wrong" | "500" = "echo";
  /** How long the receiver takes to answer a notification. */
  let notificationDelayMs = 0;

  beforeAll(async () => {
    t = await startTestEmulator({ users: 5, groups: 2 });
    token = await t.appToken();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const query = new URL(req.url ?? "/", "http://x").searchParams;
        received.push({ query, contentType: req.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") });
        const token = query.get("validationToken");
        if (token === null) return void setTimeout(() => res.writeHead(202).end(), notificationDelayMs);
        if (validation === "500") return void res.writeHead(500).end();
        res.writeHead(200, { "content-type": "text/plain" }).end(validation === "echo" ? token : "not the token");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
    await t.stop();
  });

  const graph = async (method: string, path: string, body?: unknown, bearer = token) => {
    const res = await t.call(`${t.emu.graphUrl}/v1.0${path}`, { method, headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined && { "content-type": "application/json" }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const subscription = (extra: Record<string, unknown> = {}) => ({ changeType: "updated,deleted", notificationUrl: url, lifecycleNotificationUrl: url, resource: "users", expirationDateTime: inDays(28), clientState: "s3cret", ...extra });
  // Deliveries go through the event loop and sockets: given 30 s (a loaded machine), not 100 rounds of 20 ms.
  const until = async (check: () => boolean) => {
    for (const deadline = Date.now() + 30_000; !check() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
    expect(check()).toBe(true);
  };

  it("creates a subscription once the notification URL echoes the validation token (text/plain, POST)", async () => {
    received.length = 0;
    const made = await graph("POST", "/subscriptions", subscription());
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ id: expect.any(String), resource: "users", changeType: "updated,deleted", clientState: "s3cret", applicationId: t.emu.clientId, notificationUrl: url });
    // One validation for the two URLs, since they are the same.
    expect(received.map((r) => [r.query.get("validationToken")?.startsWith("Validation:"), r.contentType, r.body])).toEqual([[true, "text/plain; charset=utf-8", ""]]);
    const listed = await graph("GET", "/subscriptions");
    expect(listed.body.value.map((s: { id: string }) => s.id)).toContain(made.body.id);
    expect(await graph("DELETE", `/subscriptions/${made.body.id}`)).toEqual({ status: 204, body: undefined });
    expect((await graph("GET", `/subscriptions/${made.body.id}`)).status).toBe(404);
  });

  it("refuses a notification URL that does not echo the token, or does not answer 200, with Graph's ValidationError", async () => {
    validation = "wrong";
    const wrong = await graph("POST", "/subscriptions", subscription());
    validation = "500";
    const failing = await graph("POST", "/subscriptions", subscription());
    validation = "echo";
    const closed = await graph("POST", "/subscriptions", subscription({ notificationUrl: "http://127.0.0.1:1/hook", lifecycleNotificationUrl: undefined }));
    expect([wrong, failing, closed].map((r) => [r.status, r.body.error.code])).toEqual([[400, "ValidationError"], [400, "ValidationError"], [400, "ValidationError"]]);
    expect(wrong.body.error.message).toMatch(/must exactly match validationToken/);
    expect(failing.body.error.message).toMatch(/must respond with 200 OK/);
  });

  it("refuses an expiration past 41760 minutes, an unknown resource, an http URL off this machine, and a subscriber without the read permission (403)", async () => {
    const tooLong = await graph("POST", "/subscriptions", subscription({ expirationDateTime: inDays(30) }));
    expect([tooLong.status, tooLong.body.error.message]).toEqual([400, "Subscription expiration can only be 41760 minutes in the future."]);
    expect((await graph("POST", "/subscriptions", subscription({ resource: "me/messages" }))).status).toBe(400);
    expect((await graph("POST", "/subscriptions", subscription({ notificationUrl: "http://example.com/hook" }))).status).toBe(400);
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const groupsOnly = tenant.registerApp({ appPermissions: ["Group.Read.All"] });
    const other = await t.appToken({ clientId: groupsOnly.clientId, clientSecret: groupsOnly.secrets[0]!.secretText });
    const denied = await graph("POST", "/subscriptions", subscription(), other);
    expect([denied.status, denied.body.error.code]).toEqual([403, "Authorization_RequestDenied"]);
    expect((await graph("POST", "/subscriptions", subscription({ resource: "groups" }), other)).status).toBe(201);
    // Another app's subscription is not this one's to see or change.
    const mine = await graph("POST", "/subscriptions", subscription());
    expect((await graph("PATCH", `/subscriptions/${mine.body.id}`, { expirationDateTime: inDays(20) }, other)).status).toBe(404);
  });

  it("renews with PATCH expirationDateTime, within the same maximum", async () => {
    const made = await graph("POST", "/subscriptions", subscription({ expirationDateTime: inDays(1) }));
    const renewed = await graph("PATCH", `/subscriptions/${made.body.id}`, { expirationDateTime: inDays(28) });
    expect([renewed.status, Date.parse(renewed.body.expirationDateTime) > Date.now() + 27 * 86_400_000]).toEqual([200, true]);
    expect((await graph("PATCH", `/subscriptions/${made.body.id}`, { expirationDateTime: inDays(40) })).status).toBe(400);
  });

  it("reauthorizes with POST /subscriptions/{id}/reauthorize (204, no body, expiry unchanged), clearing reauthorizationRequired as a renewal does; the control API can have Graph refuse the next one", async () => {
    const made = await graph("POST", "/subscriptions", subscription());
    const control = (path: string, body: unknown) => t.call(`${t.emu.graphUrl}/_emulator/tenants/${t.emu.tenantId}/subscriptions/${made.body.id}${path}`, { method: "POST", body: JSON.stringify(body) });
    const awaiting = async () => ((await (await t.call(`${t.emu.graphUrl}/_emulator/tenants/${t.emu.tenantId}/subscriptions`)).json()) as { id: string; reauthorizationRequired: boolean }[]).find((s) => s.id === made.body.id)!.reauthorizationRequired;
    expect(await awaiting()).toBe(false);
    expect((await control("/lifecycle", { event: "reauthorizationRequired" })).status).toBe(202);
    expect(await awaiting()).toBe(true);
    const reauthorize = () => t.call(`${t.emu.graphUrl}/v1.0/subscriptions/${made.body.id}/reauthorize`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect((await control("/refusals", { operation: "reauthorize", status: 400, code: "BadRequest", message: "Resource not found for the segment 'reauthorize'." })).status).toBe(204);
    expect((await control("/refusals", { operation: "delete" })).status).toBe(400);
    const refused = await reauthorize();
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code, await awaiting()]).toEqual([400, "BadRequest", true]);
    const done = await reauthorize();
    expect([done.status, await done.text(), await awaiting()]).toEqual([204, "", false]);
    expect((await graph("GET", `/subscriptions/${made.body.id}`)).body.expirationDateTime).toBe(made.body.expirationDateTime);
    expect((await control("/lifecycle", { event: "reauthorizationRequired" })).status).toBe(202);
    expect((await graph("PATCH", `/subscriptions/${made.body.id}`, { expirationDateTime: inDays(20) })).status).toBe(200);
    expect(await awaiting()).toBe(false);
    expect((await graph("GET", `/subscriptions/${made.body.id}/reauthorize`)).status).toBe(405);
    expect((await graph("POST", "/subscriptions/00000000-0000-0000-0000-000000000000/reauthorize")).status).toBe(404);
  });

  it("notifies a change made through the control API: created and updated as updated, a hard delete as deleted, with clientState and resourceData", async () => {
    const made = await graph("POST", "/subscriptions", subscription());
    received.length = 0;
    const control = (method: string, path: string, body?: unknown) =>
      t.call(`${t.emu.graphUrl}/_emulator/tenants/${t.emu.tenantId}${path}`, { method, headers: { "content-type": "application/json" }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const user = (await (await control("POST", "/users", { displayName: "Nell Leaver" })).json()) as { id: string };
    await control("PATCH", `/users/${user.id}`, { accountEnabled: false });
    await control("DELETE", `/users/${user.id}?permanent=true`);
    const ours = () => received.map((r) => JSON.parse(r.body || "{}").value?.[0]).filter((n) => n?.subscriptionId === made.body.id);
    await until(() => ours().length === 3);
    expect(ours().map((n) => n.changeType).sort()).toEqual(["deleted", "updated", "updated"]);
    expect(ours()[0]).toEqual({
      subscriptionId: made.body.id, subscriptionExpirationDateTime: made.body.expirationDateTime, changeType: expect.any(String), resource: `Users/${user.id}`,
      resourceData: { "@odata.type": "#Microsoft.Graph.User", "@odata.id": `Users/${user.id}`, id: user.id, organizationId: t.emu.tenantId, sequenceNumber: expect.any(Number) },
      clientState: "s3cret", tenantId: t.emu.tenantId,
    });
    // The emulator records a delivery once it has read the answer: a moment after the receiver has the notification.
    const statuses = async () => ((await (await control("GET", "/subscriptions")).json()) as { id: string; deliveries: { kind: string; status: number }[] }[]).find((s) => s.id === made.body.id)!.deliveries.filter((d) => d.kind === "change").map((d) => d.status);
    for (const deadline = Date.now() + 30_000; (await statuses()).length < 3 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
    expect(await statuses()).toEqual([202, 202, 202]);
  });

  it("waits Graph's 3 seconds for a notification's answer, recording each delivery's time; one not answered by then is status 0, and slow (over 2,900 ms)", async () => {
    const made = await graph("POST", "/subscriptions", subscription());
    const deliveries = async () => ((await (await t.call(`${t.emu.graphUrl}/_emulator/tenants/${t.emu.tenantId}/subscriptions`)).json()) as { id: string; deliveries: { status: number; ms: number; slow: boolean }[] }[]).find((s) => s.id === made.body.id)!.deliveries;
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.listUsers()[0]!;
    tenant.updateUser(user.id, { jobTitle: "Prompt" });
    await until(() => received.some((r) => r.body.includes(made.body.id)));
    // Recorded once the emulator has read the answer, a moment later: waited for, not a 100 ms pause.
    for (const deadline = Date.now() + 30_000; (await deliveries()).length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
    expect(await deliveries()).toEqual([{ at: expect.any(String), subscriptionId: made.body.id, url, kind: "change", status: 202, ms: expect.any(Number), slow: false }]);
    notificationDelayMs = 3_500;
    try {
      tenant.updateUser(user.id, { jobTitle: "Slow" });
      await new Promise((r) => setTimeout(r, 3_300));
      for (const deadline = Date.now() + 30_000; (await deliveries()).length < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
    } finally {
      notificationDelayMs = 0;
    }
    expect((await deliveries())[1]).toMatchObject({ status: 0, slow: true, ms: expect.any(Number) });
    expect((await deliveries())[1]!.ms).toBeGreaterThanOrEqual(2_900);
    await graph("DELETE", `/subscriptions/${made.body.id}`);
  });

  it("sends lifecycle events the control API asks for; subscriptionRemoved removes the subscription", async () => {
    const made = await graph("POST", "/subscriptions", subscription());
    received.length = 0;
    const lifecycle = (event: string) => t.call(`${t.emu.graphUrl}/_emulator/tenants/${t.emu.tenantId}/subscriptions/${made.body.id}/lifecycle`, { method: "POST", body: JSON.stringify({ event }) });
    expect((await lifecycle("reauthorizationRequired")).status).toBe(202);
    expect((await lifecycle("subscriptionRemoved")).status).toBe(202);
    expect((await lifecycle("nonsense")).status).toBe(400);
    await until(() => received.length === 2);
    expect(received.map((r) => JSON.parse(r.body).value[0])).toEqual(["reauthorizationRequired", "subscriptionRemoved"].map((lifecycleEvent) => ({
      subscriptionId: made.body.id, subscriptionExpirationDateTime: made.body.expirationDateTime, tenantId: t.emu.tenantId, clientState: "s3cret", lifecycleEvent,
    })));
    expect((await graph("GET", `/subscriptions/${made.body.id}`)).status).toBe(404);
  });
});
