import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { resolveWorkspace, updateWorkspace, type Workspace } from "../../src/core/workspaces.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../../src/core/tokens.ts";
import { getNotificationSettings, updateNotificationSettings } from "../../src/core/notification-settings.ts";
import { createEntraSource, listSources } from "../../src/core/sources.ts";
import { secretBox } from "../../src/security/encryption.ts";

const secrets = secretBox(Buffer.alloc(32, 7));

// A change and its activity entry are one transaction: when the entry cannot be written, the change is not made.
describe.each(engines)("changes and their activity entries on %s", (engine) => {
  let store: TestStore;
  let workspace: Workspace;
  let tokenId: string;

  beforeAll(async () => {
    store = await openTestStore(engine);
    workspace = await resolveWorkspace(store.db, "default");
    tokenId = (await createApiToken(store.db, workspace, { name: "deploy" }, "test")).id;
    await sql`
      create function refuse_activity() returns trigger language plpgsql as $$
      begin raise exception 'activity log refused %', new.action; end $$`.execute(store.db);
    await sql`create trigger refuse_activity before insert on change_log for each row execute function refuse_activity()`.execute(store.db);
  });
  afterAll(() => store?.dispose());

  it("creates no token and revokes none", async () => {
    await expect(createApiToken(store.db, workspace, { name: "ci" }, "test")).rejects.toThrow("activity log refused create token");
    await expect(revokeApiToken(store.db, workspace, tokenId, "test")).rejects.toThrow("activity log refused revoke token");
    expect((await listApiTokens(store.db, workspace)).map((t) => [t.name, t.revokedAt])).toEqual([["deploy", null]]);
  });

  it("keeps the notification settings and the workspace's default country", async () => {
    await expect(updateNotificationSettings(store.db, secrets, workspace, { emailTo: ["ops@example.com"] }, "test")).rejects.toThrow("activity log refused");
    expect((await getNotificationSettings(store.db, workspace)).emailTo).toEqual([]);
    await expect(updateWorkspace(store.db, workspace, { defaultCountry: "GB" }, "test")).rejects.toThrow("activity log refused");
    expect((await resolveWorkspace(store.db, "default")).defaultCountry).toBe(workspace.defaultCountry);
  });

  it("adds no source, half-made or whole", async () => {
    const ctx = { db: store.db, workspace, actor: "test", secrets, entraCustomUrls: true };
    const config = { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222" };
    await expect(createEntraSource(ctx, { name: "contoso", config, credential: { kind: "secret", secret: "test-secret" } })).rejects.toThrow("activity log refused");
    expect(await listSources(ctx)).toEqual([]);
    const states = await sql<{ n: number }>`select count(*)::int as n from source_state`.execute(store.db);
    expect(states.rows[0]!.n).toBe(0);
  });
});
