import type { RunningEmulator } from "../../src/emulator/index.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { createEntraSource, loadSourceForSync, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { runSync, type SyncRequest } from "../../src/sync/runner.ts";
import type { EntraConfigInput } from "../../src/sources/entra/config.ts";
import { sql } from "kysely";
import { openTestStore, type EngineName, type TestStore } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/** A fresh database and a fresh emulator, wired together over real HTTPS (the emulator's CA trusted in-process). */
export interface Harness {
  store: TestStore;
  emulator: RunningEmulator;
  ctx: SourceContext;
  addSource(name: string, config?: Partial<EntraConfigInput>, tenant?: { tenantId: string; clientId: string; clientSecret: string }): Promise<void>;
  sync(name: string, options?: Partial<Pick<SyncRequest, "full" | "dryRun" | "force">> & { fetch?: HttpFetch; streamFirstSync?: boolean; planChunkSize?: number }): ReturnType<typeof runSync>;
  close(): Promise<void>;
}

/** `shared`: another harness's emulator, which this one leaves running when it closes. */
export async function openHarness(engine: EngineName, emulatorOptions: Parameters<typeof startTrustedEmulator>[0] = {}, shared?: RunningEmulator): Promise<Harness> {
  const emulator = shared ?? (await startTrustedEmulator({ users: 60, groups: 8, seed: 7, ...emulatorOptions }));
  return harnessOver(await openTestStore(engine), emulator, !shared);
}

/** A harness over a store opened elsewhere (a PostgreSQL server of the test's own); `ownsEmulator`: close() closes it too. */
export async function harnessOver(store: TestStore, emulator: RunningEmulator, ownsEmulator: boolean): Promise<Harness> {
  const workspace = await resolveWorkspace(store.db, "default");
  const ctx: SourceContext = { db: store.db, workspace, actor: "test", secrets: secretBox(Buffer.alloc(32, 7)), entraCustomUrls: true };
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
    async sync(name, { fetch = httpFetch, streamFirstSync, planChunkSize, ...options } = {}) {
      const source = await loadSourceForSync(ctx, name);
      return runSync(store, { workspaceId: workspace.id, source, trigger: "manual", ...options }, { fetch, streamFirstSync, planChunkSize, retry: { maxAttempts: 8, baseDelayMs: 20, maxDelayMs: 2000 } });
    },
    async close() {
      await store.dispose();
      if (ownsEmulator) await emulator.close();
    },
  };
}

/**
 * What the directory must look like after a sync of a source with users = all, guests excluded, group mode
 * all, on-remove disable: every member user present and alike, every other synced user disabled, every group
 * with exactly its direct members (users and nested groups). Returns the differences (empty = converged).
 */
export async function differences(h: Harness, sourceName: string, tenantId = h.emulator.tenantId): Promise<string[]> {
  const tenant = h.emulator.tenants.get(tenantId);
  const problems: string[] = [];
  const expected = new Map(tenant.listUsers().filter((u) => u.userType !== "Guest").map((u) => [u.id, u]));
  const { rows: users } = await sql<{ external_id: string; user_principal_name: string; display_name: string; enabled: boolean }>`
    select u.external_id, u.user_principal_name, u.display_name, u.enabled from users u join sources s on s.id = u.source_id where lower(s.name) = lower(${sourceName})`.execute(h.store.db);
  const held = new Map(users.map((u) => [u.external_id, u]));
  for (const [id, g] of expected) {
    const u = held.get(id);
    if (!u) problems.push(`missing user ${g.userPrincipalName}`);
    else if (u.user_principal_name !== g.userPrincipalName || u.display_name !== (g.displayName ?? g.userPrincipalName) || u.enabled !== g.accountEnabled) {
      problems.push(`user ${g.userPrincipalName} differs: ${JSON.stringify(u)}`);
    }
  }
  for (const u of users) if (!expected.has(u.external_id) && u.enabled) problems.push(`user ${u.user_principal_name} should be disabled`);
  const { rows: members } = await sql<{ group_ext: string; member_ext: string }>`
    select g.external_id as group_ext, coalesce(mu.external_id, mg.external_id) as member_ext from group_members m join groups g on g.id = m.group_id
    join sources s on s.id = g.source_id left join users mu on mu.id = m.member_user_id left join groups mg on mg.id = m.member_group_id
    where lower(s.name) = lower(${sourceName})`.execute(h.store.db);
  const have = new Set(members.map((m) => `${m.group_ext}>${m.member_ext}`));
  const want = new Set(tenant.state().memberships.filter((m) => m.kind === "group" || expected.has(m.memberId)).map((m) => `${m.groupId}>${m.memberId}`));
  for (const w of want) if (!have.has(w)) problems.push(`missing membership ${w}`);
  for (const x of have) if (!want.has(x)) problems.push(`extra membership ${x}`);
  const { rows: groups } = await sql<{ external_id: string }>`select g.external_id from groups g join sources s on s.id = g.source_id where lower(s.name) = lower(${sourceName})`.execute(h.store.db);
  const groupIds = new Set(groups.map((g) => g.external_id));
  for (const g of tenant.listGroups()) if (!groupIds.has(g.id)) problems.push(`missing group ${g.displayName}`);
  if (groupIds.size !== tenant.listGroups().length) problems.push(`${groupIds.size} groups held, ${tenant.listGroups().length} in Entra`);
  return problems;
}

/**
 * What a source holds in the directory, independent of database ids and timestamps: its users with every synced
 * field, its groups, and their direct memberships. Two databases synced from the same tenant must give equal snapshots.
 */
export async function directorySnapshot(db: TestStore["db"], sourceName: string): Promise<{ users: unknown[]; groups: unknown[]; memberships: string[] }> {
  const source = sql`(select id from sources where lower(name) = lower(${sourceName}))`;
  const { rows: users } = await sql`select external_id, user_principal_name, email, display_name, given_name, surname, department, job_title,
      employee_id, mobile_phone, business_phones, preferred_language, enabled, tags, custom_attributes, source_name
    from users where source_id = ${source} order by external_id`.execute(db);
  const { rows: groups } = await sql`select external_id, name, description from groups where source_id = ${source} order by external_id`.execute(db);
  const { rows: members } = await sql<{ m: string }>`select g.external_id || '>' || coalesce(mu.external_id, mg.external_id) as m
    from group_members gm join groups g on g.id = gm.group_id left join users mu on mu.id = gm.member_user_id left join groups mg on mg.id = gm.member_group_id
    where g.source_id = ${source}`.execute(db);
  return { users, groups, memberships: members.map((r) => r.m).sort() };
}
