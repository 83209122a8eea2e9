import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { sql } from "kysely";
import { differences, openHarness, type Harness } from "./harness.ts";
import { getUser, listUsers, updateUser } from "../../src/core/users.ts";
import { groupHistory, listGroupsWithMembers } from "../../src/core/groups.ts";

const page = { limit: 1000, offset: 0, sort: "displayName" as const, order: "asc" as const };

describe.each(engines)("first full sync (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine);
    await h.addSource("corp", { groupMode: "all", country: "US" });
  });
  afterAll(async () => h?.close());

  it("creates every member user with the ID synced tag, leaves guests out, and mirrors groups with direct and nested members", async () => {
    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "full", status: "succeeded" });
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const members = tenant.listUsers().filter((u) => u.userType !== "Guest");
    const { items, total } = await listUsers(h.ctx, { source: "corp" }, page);
    expect(total).toBe(members.length);
    expect(run.counts.created).toBe(members.length);
    for (const user of items) {
      expect(user.tags).toContain("ID synced");
      expect(user.source).toMatchObject({ type: "entra", name: "corp" });
    }
    const byId = new Map(items.map((u) => [u.source.externalId, u]));
    for (const g of members) expect(byId.get(g.id)?.userPrincipalName).toBe(g.userPrincipalName);

    const groups = (await listGroupsWithMembers(h.ctx, {}, { limit: 500, offset: 0 })).items;
    expect(groups.length).toBe(tenant.listGroups().length);
    const nested = tenant.state().memberships.find((m) => m.kind === "group");
    if (nested) {
      const parent = groups.find((g) => g.source.externalId === nested.groupId)!;
      const child = tenant.getGroup(nested.memberId)!;
      expect(parent.members).toContain(child.displayName);
    }

    // A created user's "create" entry names its groups; only nested groups get "add to group" entries.
    const log = (await sql<{ action: string; user_id: string | null; after: { groups?: string[] } | null }>`
      select action, user_id, after from change_log where run_id = ${run.runId}`.execute(h.store.db)).rows;
    const creates = log.filter((c) => c.action === "create");
    expect(creates).toHaveLength(members.length);
    const groupName = new Map(tenant.listGroups().map((g) => [g.id, g.displayName.trim()]));
    const sample = members.find((u) => tenant.state().memberships.some((m) => m.memberId === u.id))!;
    const expected = tenant.state().memberships.filter((m) => m.memberId === sample.id).map((m) => groupName.get(m.groupId)!).sort((a, b) => a.localeCompare(b));
    expect(creates.find((c) => c.user_id === byId.get(sample.id)!.id)!.after!.groups).toEqual(expected);
    expect(creates.reduce((n, c) => n + c.after!.groups!.length, 0)).toBe(run.counts.membershipsAdded! - log.filter((c) => c.action.startsWith("add to group ")).length);
    expect(log.filter((c) => c.action.startsWith("add to group ")).every((c) => c.user_id === null)).toBe(true);
    // A nested group's joining is in its own history too, as the one entry its holder's history reads.
    expect(nested).toBeDefined();
    const child = groups.find((g) => g.source.externalId === nested!.memberId)!;
    const parentName = groupName.get(nested!.groupId)!;
    const joined = (await groupHistory(h.ctx, child.id, { limit: 50 })).changes.filter((c) => c.action === `add to group ${parentName}`);
    expect(joined.map((c) => [c.subject, c.runId])).toEqual([[child.name, run.runId]]);
  });

  it("a later full run lists everything again but writes only what changed, and counts the rest unchanged", async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const members = tenant.listUsers().filter((u) => u.userType !== "Guest");
    const quiet = await h.sync("corp", { full: true });
    expect(quiet).toMatchObject({ mode: "full", status: "succeeded" });
    expect(quiet.counts).toMatchObject({ created: 0, updated: 0, disabled: 0, unchanged: members.length, membershipsAdded: 0, membershipsRemoved: 0 });
    expect(await changeLogOf(quiet.runId)).toEqual([]);

    const renamed = members.find((u) => u.accountEnabled)!;
    tenant.updateUser(renamed.id, { jobTitle: "Renamed By Full Run" });
    const held = new Set(tenant.state().memberships.map((m) => `${m.groupId}/${m.memberId}`));
    const [group, joiner] = tenant.listGroups().flatMap((g) => members.filter((u) => !held.has(`${g.id}/${u.id}`)).map((u) => [g, u] as const))[0]!;
    tenant.addMember(group.id, joiner.id);
    const changed = await h.sync("corp", { full: true });
    expect(changed.counts).toMatchObject({ updated: 1, unchanged: members.length - 1, membershipsAdded: 1, membershipsRemoved: 0 });
    expect((await getUser(h.ctx, renamed.userPrincipalName)).jobTitle).toBe("Renamed By Full Run");
    const joined = (await getUser(h.ctx, joiner.userPrincipalName)).id;
    expect((await changeLogOf(changed.runId)).filter((c) => c.user_id === joined)).toEqual([{ action: `add to group ${group.displayName.trim()}`, user_id: joined }]);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a field the source owns, changed by hand, is set back by the next run, delta or full", async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const [first, second] = tenant.listUsers().filter((u) => u.userType !== "Guest" && u.accountEnabled);
    await updateUser(h.ctx, first!.userPrincipalName, { enabled: false });
    const delta = await h.sync("corp");
    expect(delta).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(delta.counts).toMatchObject({ updated: 1 });
    expect((await getUser(h.ctx, first!.userPrincipalName)).enabled).toBe(true);
    await updateUser(h.ctx, second!.userPrincipalName, { enabled: false });
    expect((await h.sync("corp", { full: true })).counts).toMatchObject({ updated: 1 });
    expect((await getUser(h.ctx, second!.userPrincipalName)).enabled).toBe(true);
  });

  // PGlite has no autovacuum: the runner truncates the staging tables, or each listing would add its size to them.
  it.runIf(engine === "pglite")("keeps the staging tables from growing run after run", async () => {
    const size = () => bytesOf(["sync_stage_users", "sync_stage_groups", "sync_stage_members", "sync_plan_users"]);
    await h.sync("corp", { full: true });
    const after = await size();
    for (let i = 0; i < 3; i++) await h.sync("corp", { full: true });
    expect(await size()).toBeLessThanOrEqual(after);
  });

  // Each change rewrites a mirror row (and adds and removes a dirty row): without a vacuum after
  // the run, PGlite would keep every old version.
  it.runIf(engine === "pglite")("keeps the mirror from growing with the rows each run rewrites", async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const members = tenant.listUsers().filter((u) => u.userType !== "Guest");
    const round = async (n: number) => {
      for (const u of members.slice(0, 30)) tenant.updateUser(u.id, { jobTitle: `Round ${n} ${"x".repeat(200)}` });
      expect((await h.sync("corp")).counts.updated).toBe(30);
    };
    await round(1);
    const after = await bytesOf(["entra_users"]);
    for (let n = 2; n <= 7; n++) await round(n);
    // Six rounds keep about 60 KB of old versions unless vacuumed; where the new ones land can take a page.
    expect(await bytesOf(["entra_users"])).toBeLessThanOrEqual(after + 8192);
    // Every run deletes the dirty marks it applied. At this size page pruning hides their growth, so the
    // vacuum itself is checked.
    const { rows } = await sql<{ relname: string; vacuumed: boolean }>`select relname, vacuum_count > 0 as vacuumed from pg_stat_user_tables
      where relname in ('entra_users', 'entra_dirty_users')`.execute(h.store.db);
    expect(Object.fromEntries(rows.map((r) => [r.relname, r.vacuumed]))).toEqual({ entra_users: true, entra_dirty_users: true });
  });

  async function bytesOf(tables: string[]): Promise<number> {
    const { rows } = await sql<{ bytes: string }>`select sum(pg_total_relation_size(t))::text as bytes from unnest(${tables}::regclass[]) t`.execute(h.store.db);
    return Number(rows[0]!.bytes);
  }

  it("leaves alone the staged rows of another source's run that is still going", async () => {
    await h.addSource("elsewhere");
    const { rows } = await sql<{ id: string; workspace_id: string }>`select id, workspace_id from sources where name = 'elsewhere'`.execute(h.store.db);
    const running = randomUUID();
    await sql`insert into sync_runs (id, workspace_id, source_id, trigger, mode, status) values (${running}, ${rows[0]!.workspace_id}, ${rows[0]!.id}, 'manual', 'full', 'running')`.execute(h.store.db);
    await sql`insert into sync_stage_users (run_id, id, data) values (${running}, 'listed-elsewhere', '{}')`.execute(h.store.db);
    expect((await h.sync("corp", { full: true })).status).toBe("succeeded");
    const staged = await sql`select id from sync_stage_users where run_id = ${running}`.execute(h.store.db);
    expect(staged.rows).toEqual([{ id: "listed-elsewhere" }]);
    await sql`update sync_runs set status = 'failed' where id = ${running}`.execute(h.store.db);
  });

  async function changeLogOf(runId: string) {
    return (await sql<{ action: string; user_id: string | null }>`select action, user_id from change_log where run_id = ${runId}`.execute(h.store.db)).rows;
  }
});
