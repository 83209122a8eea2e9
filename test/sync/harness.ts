import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { httpFetch, trustExtraCa } from "../../src/net/http.ts";
import { createEntraSource, loadSourceForSync, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { runSync, type SyncRequest } from "../../src/sync/runner.ts";
import type { EntraConfigInput } from "../../src/sources/entra/config.ts";
import { openTestStore, type EngineName, type TestStore } from "../support/db.ts";

/** A fresh database and a fresh emulator, wired together over real HTTPS (the emulator's CA trusted in-process). */
export interface Harness {
  store: TestStore;
  emulator: RunningEmulator;
  ctx: SourceContext;
  addSource(name: string, config?: Partial<EntraConfigInput>, tenant?: { tenantId: string; clientId: string; clientSecret: string }): Promise<void>;
  sync(name: string, options?: Partial<Pick<SyncRequest, "full" | "dryRun" | "force">>): ReturnType<typeof runSync>;
  close(): Promise<void>;
}

export async function openHarness(engine: EngineName, emulatorOptions: Parameters<typeof startEmulator>[0] = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-sync-"));
  const emulator = await startEmulator({ port: 0, dataDir, users: 60, groups: 8, seed: 7, quiet: true, ...emulatorOptions });
  trustExtraCa(emulator.caPem);
  const store = await openTestStore(engine);
  const workspace = await resolveWorkspace(store.db, "default");
  const ctx: SourceContext = { db: store.db, workspace, actor: "test", secrets: secretBox(Buffer.alloc(32, 7)) };
  return {
    store,
    emulator,
    ctx,
    async addSource(name, config = {}, tenant = emulator) {
      await createEntraSource(ctx, {
        name,
        config: { tenantId: tenant.tenantId, clientId: tenant.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, ...config },
        credential: { kind: "secret", secret: tenant.clientSecret },
      });
    },
    async sync(name, options = {}) {
      const source = await loadSourceForSync(ctx, name);
      return runSync(store, { workspaceId: workspace.id, source, trigger: "manual", ...options }, { fetch: httpFetch, retry: { maxAttempts: 8, baseDelayMs: 20, maxDelayMs: 2000 } });
    },
    async close() {
      await store.dispose();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
