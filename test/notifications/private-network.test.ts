import { describe, expect, it } from "vitest";
import pino from "pino";
import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import { isPrivateAddress, privateAddressOf } from "../../src/net/private-network.ts";
import { httpFetch, publicHttpFetch } from "../../src/net/http.ts";
import { loadConfig } from "../../src/config.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { raiseImportFailed } from "../../src/core/notifications.ts";
import { updateNotificationSettings } from "../../src/core/notification-settings.ts";
import { startWebhookReceiver } from "./support.ts";
import { createNotifier } from "../../src/notifications/worker.ts";
import { openTestStore } from "../support/db.ts";
import { sql } from "kysely";

describe("webhooks and the private network", () => {
  it("knows loopback, private, shared, link-local and reserved addresses from public ones, IPv4-mapped included", () => {
    for (const address of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fd00::1", "fe80::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1"]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ["8.8.8.8", "20.190.128.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) expect(isPrivateAddress(address), address).toBe(false);
  });

  it("reads the IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), and refuses Teredo, documentation ranges and the host's own addresses", () => {
    for (const address of ["::ffff:7f00:1", "::127.0.0.1", "::a00:1", "64:ff9b::7f00:1", "64:ff9b::10.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "2001:0:4136:e378::1", "2001:db8::1", "192.0.2.2", "198.51.100.7", "203.0.113.9", "fe80::1%eth0"]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ["64:ff9b::808:808", "2002:808:808::1", "::808:808", "::ffff:808:808"]) expect(isPrivateAddress(address), address).toBe(false);
    for (const own of Object.values(networkInterfaces()).flat()) expect(isPrivateAddress(own!.address), own!.address).toBe(true);
  });

  it("resolves names: localhost is private, an IP literal is itself, a name that does not resolve is not refused for it", async () => {
    expect(await privateAddressOf("localhost")).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(await privateAddressOf("[::1]")).toBe("::1");
    expect(await privateAddressOf("8.8.8.8")).toBeUndefined();
    expect(await privateAddressOf("no-such-host.invalid")).toBeUndefined();
  });

  it("refuses, as the connection resolves the name, a private address (a name may resolve elsewhere than when it was checked)", async () => {
    const refused = await publicHttpFetch("http://localhost:45913/hook", { method: "POST" }).catch((error: Error) => error);
    expect((refused as Error & { cause: Error }).cause.message).toMatch(/^localhost \((127\.0\.0\.1|::1)\) is in a private network/);
    const allowed = await httpFetch("http://localhost:45913/hook", { method: "POST" }).catch((error: Error) => error);
    expect((allowed as Error & { cause: Error }).cause.message).not.toContain("private network");
    // An address given as such is connected to without a lookup: it is checked before.
    for (const literal of ["http://127.0.0.1:45913/hook", "http://[::ffff:7f00:1]:45913/hook", "http://[64:ff9b::a9fe:a9fe]/latest"]) {
      const refusedLiteral = await publicHttpFetch(literal, { method: "POST" }).catch((error: Error) => error);
      expect((refusedLiteral as Error & { cause: Error }).cause.message, literal).toMatch(/ is in a private network: webhooks reach only public addresses/);
    }
  });

  it("does not follow a webhook's redirect (it could lead anywhere), and says so in the delivery log", async () => {
    const store = await openTestStore("pglite");
    const inside = await startWebhookReceiver();
    const outside = await startWebhookReceiver([307], { location: `${inside.url}/internal-admin` });
    try {
      const secrets = secretBox(randomBytes(32));
      const workspace = await createWorkspace(store.db, { name: "acme" });
      await updateNotificationSettings(store.db, secrets, workspace, { webhookUrl: outside.url }, "test", { webhookPrivateNetwork: true });
      await raiseImportFailed(store.db, { workspace, importId: "import-1", fileName: "staff.csv", message: "Row 2 has no email." });
      const notifier = createNotifier({ config: { ...loadConfig({}), webhookPrivateNetwork: true }, store, secrets, logger: pino({ level: "silent" }) });
      expect(await notifier.tick()).toMatchObject({ sent: 0, failed: 1 });
      expect(outside.requests).toHaveLength(1);
      expect(inside.requests).toEqual([]);
      const delivery = await store.db.selectFrom("notification_deliveries").select("last_error").executeTakeFirstOrThrow();
      expect(delivery.last_error).toBe("the webhook answered HTTP 307, a redirect, which Rollcall does not follow: set the webhook URL to the address it redirects to");
    } finally {
      await Promise.all([inside.close(), outside.close()]);
      await store.dispose();
    }
  });

  it("refuses a webhook into the private network when saved, and at delivery one saved while it was allowed", async () => {
    const store = await openTestStore("pglite");
    try {
      const secrets = secretBox(randomBytes(32));
      const workspace = await createWorkspace(store.db, { name: "acme" });
      await expect(updateNotificationSettings(store.db, secrets, workspace, { webhookUrl: "https://169.254.169.254/latest" }, "test")).rejects.toMatchObject({
        code: "invalid_input",
        details: { fields: [{ field: "webhookUrl", message: "169.254.169.254 is in a private network: webhooks reach only public addresses unless the server's operator sets ROLLCALL_WEBHOOK_PRIVATE_NETWORK=true" }] },
      });
      await updateNotificationSettings(store.db, secrets, workspace, { webhookUrl: "https://localhost:45913/hook" }, "test", { webhookPrivateNetwork: true });
      const notification = await sql<{ id: string }>`insert into notifications (workspace_id, kind, severity, subject, title, body) values (${workspace.id}, 'sync_failed', 'critical', 'corp', 'A test', 'A test') returning id`.execute(store.db);
      await sql`insert into notification_deliveries (notification_id, workspace_id, channel, target) values (${notification.rows[0]!.id}, ${workspace.id}, 'webhook', 'https://localhost:45913/hook')`.execute(store.db);
      const notifier = createNotifier({ config: { ...loadConfig({}), webhookPrivateNetwork: false }, store, secrets, logger: pino({ level: "silent" }) });
      expect(await notifier.tick()).toMatchObject({ sent: 0, failed: 1 });
      const delivery = await store.db.selectFrom("notification_deliveries").select("last_error").executeTakeFirstOrThrow();
      expect(delivery.last_error).toMatch(/^localhost \((127\.0\.0\.1|::1)\) is in a private network: webhooks reach only public addresses/);
    } finally {
      await store.dispose();
    }
  });
});
