import type { Runtime } from "../../src/runtime.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { syncSource } from "../../src/sync/service.ts";

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

/**
 * Three workspaces, each with a source of the emulator's tenant that really ran: "acme", whose run failed (a wrong
 * secret); "beta", whose secret expired (its run went through before Entra ID noticed); "calm", healthy.
 */
export async function seedThreeWorkspaces(rt: Runtime, emulator: RunningEmulator): Promise<void> {
  const settings = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null };
  const seeded = [
    { workspace: "acme", source: "corp", secret: "not the secret", secretExpiresOn: inDays(200) },
    { workspace: "beta", source: "hr", secret: emulator.clientSecret, secretExpiresOn: inDays(-3) },
    { workspace: "calm", source: "main", secret: emulator.clientSecret, secretExpiresOn: inDays(200) },
  ];
  for (const s of seeded) {
    const workspace = await createWorkspace(rt.store.db, { name: s.workspace });
    const ctx = { db: rt.store.db, workspace, actor: "test", secrets: rt.secrets, entraCustomUrls: true };
    await createEntraSource(ctx, { name: s.source, config: { ...settings, secretExpiresOn: s.secretExpiresOn }, credential: { kind: "secret", secret: s.secret } });
    await syncSource(rt, workspace, s.source, { trigger: "api", actor: "test" }).catch(() => undefined);
  }
}
