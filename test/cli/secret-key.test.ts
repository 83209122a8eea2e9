import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { runCli } from "../support/cli.ts";
import { seedDataFolder } from "../support/db.ts";
import { loadConfig } from "../../src/config.ts";
import { openRuntime } from "../../src/runtime.ts";
import { createWorkspace, resolveWorkspace } from "../../src/core/workspaces.ts";
import { createEntraSource, loadSourceForSync } from "../../src/core/sources.ts";
import { updateNotificationSettings } from "../../src/core/notification-settings.ts";
import { deliveryTarget } from "../../src/core/notification-deliveries.ts";

/**
 * `rollcall secret-key rotate`: every stored secret encrypted again under a new key, none entered again, on the
 * embedded database (a new secret.key) and with ROLLCALL_SECRET_KEY (the new key there, the old one as _PREVIOUS).
 */
describe("rotating the secret key", () => {
  const folders: string[] = [];
  afterAll(() => folders.forEach((f) => rmSync(f, { recursive: true, force: true })));
  const dataFolder = () => {
    const dir = mkdtempSync(join(tmpdir(), "rollcall-rotate-"));
    folders.push(dir);
    return seedDataFolder(join(dir, "data"));
  };
  const env = (dataDir: string, keys: Record<string, string> = {}) => ({ ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined, ROLLCALL_SECRET_KEY: undefined, ROLLCALL_SECRET_KEY_PREVIOUS: undefined, ...keys });
  const config = (e: Record<string, string | undefined>) => loadConfig(Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as Record<string, string>);

  /** A source with a client secret and a webhook with its signing secret, saved under the key `e` gives. */
  async function saveSecrets(e: Record<string, string | undefined>): Promise<string> {
    const rt = await openRuntime(config(e), { command: "test" });
    try {
      const workspace = await createWorkspace(rt.store.db, { name: "acme" });
      const ctx = { db: rt.store.db, workspace, actor: "test", secrets: rt.secrets, entraCustomUrls: true };
      await createEntraSource(ctx, { name: "contoso", config: { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", loginUrl: "https://login.example.test", graphUrl: "https://graph.example.test" } as never, credential: { kind: "secret", secret: "the-client-secret-value" } });
      const saved = await updateNotificationSettings(rt.store.db, rt.secrets, workspace, { webhookUrl: "http://127.0.0.1:9/hook" }, "test", { webhookPrivateNetwork: true });
      // Sync on change: a Graph subscription's clientState, as Graph accepted it.
      await sql`insert into graph_subscriptions (source_id, resource, subscription_id, client_state_ciphertext, expires_at, state)
        select id, 'users', 'sub-1', ${rt.secrets.seal("the-client-state")}, now() + interval '28 days', 'active' from sources`.execute(rt.store.db);
      return saved.webhookSecret!;
    } finally {
      await rt.close();
    }
  }
  /** What the key `e` gives opens of them. */
  async function openSecrets(e: Record<string, string | undefined>): Promise<{ client: unknown; webhook: unknown; clientState: string }> {
    const rt = await openRuntime(config(e), { command: "test" });
    try {
      const workspace = await resolveWorkspace(rt.store.db, "acme");
      const source = await loadSourceForSync({ db: rt.store.db, workspace, secrets: rt.secrets }, "contoso");
      const target = await deliveryTarget(rt.store.db, rt.secrets, { workspaceId: workspace.id, channel: "webhook", target: "http://127.0.0.1:9/hook" });
      const { rows } = await sql<{ sealed: string }>`select client_state_ciphertext as sealed from graph_subscriptions`.execute(rt.store.db);
      return { client: source.credential, webhook: target?.secret, clientState: rt.secrets.open(rows[0]!.sealed) };
    } finally {
      await rt.close();
    }
  }

  it("on the embedded database: a new secret.key, every secret still opening, the old key gone", async () => {
    const dataDir = dataFolder();
    const webhook = await saveSecrets(env(dataDir));
    const before = readFileSync(join(dataDir, "secret.key"), "utf8");
    const rotated = await runCli(["secret-key", "rotate", "--json"], env(dataDir));
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.json()).toEqual({ key: "secret.key", sources: 1, webhooks: 1 });
    expect(readFileSync(join(dataDir, "secret.key"), "utf8")).not.toBe(before);
    expect(existsSync(join(dataDir, "secret.key.previous"))).toBe(false);
    expect(await openSecrets(env(dataDir))).toEqual({ client: { kind: "secret", secret: "the-client-secret-value" }, webhook, clientState: "the-client-state" });
  });

  it("with ROLLCALL_SECRET_KEY: refused, changing nothing, until the old key is given as ROLLCALL_SECRET_KEY_PREVIOUS", async () => {
    const dataDir = dataFolder();
    const [oldKey, newKey] = [randomBytes(32).toString("hex"), randomBytes(32).toString("hex")];
    const webhook = await saveSecrets(env(dataDir, { ROLLCALL_SECRET_KEY: oldKey }));
    const refused = await runCli(["secret-key", "rotate"], env(dataDir, { ROLLCALL_SECRET_KEY: newKey }));
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining("No key given opens the secret of source acme/contoso, the webhook of workspace acme, the Graph subscription of source acme/contoso (users): nothing was changed")]);
    expect((await openSecrets(env(dataDir, { ROLLCALL_SECRET_KEY: oldKey }))).webhook).toBe(webhook);

    // During the change every process opens secrets saved under either key.
    expect((await openSecrets(env(dataDir, { ROLLCALL_SECRET_KEY: newKey, ROLLCALL_SECRET_KEY_PREVIOUS: ` ${oldKey} ` }))).webhook).toBe(webhook);
    const rotated = await runCli(["secret-key", "rotate"], env(dataDir, { ROLLCALL_SECRET_KEY: newKey, ROLLCALL_SECRET_KEY_PREVIOUS: oldKey }));
    expect([rotated.code, rotated.stdout]).toEqual([0, "encrypted 1 source secret(s) and 1 webhook secret(s) again with the new key (ROLLCALL_SECRET_KEY); ROLLCALL_SECRET_KEY_PREVIOUS can now be removed from every process\n"]);
    expect(await openSecrets(env(dataDir, { ROLLCALL_SECRET_KEY: newKey }))).toEqual({ client: { kind: "secret", secret: "the-client-secret-value" }, webhook, clientState: "the-client-state" });
    await expect(openSecrets(env(dataDir, { ROLLCALL_SECRET_KEY: oldKey }))).rejects.toThrow(/cannot be decrypted with this secret key/);
  });
});
