import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { deleteUser } from "../../src/core/users.ts";

/** Each synced user's manager as Entra ID has it, by Entra object id: [] when the directory agrees. */
async function managerDifferences(h: Harness): Promise<string[]> {
  const t = h.emulator.tenants.get(h.emulator.tenantId);
  const { rows } = await sql<{ ext: string; mgr: string | null }>`select u.external_id as ext, m.external_id as mgr
    from users u left join users m on m.id = u.manager_id where u.source_id is not null`.execute(h.store.db);
  const synced = new Set(rows.map((r) => r.ext));
  const problems: string[] = [];
  for (const r of rows) {
    if (!t.getUser(r.ext)) continue; // gone from Entra ID: the source no longer says
    const want = t.getManager(r.ext)?.id ?? null;
    const expected = want && synced.has(want) ? want : null;
    if (r.mgr !== expected) problems.push(`${r.ext}: has ${r.mgr}, Entra ID says ${want}`);
  }
  return problems;
}

const managerEntries = async (h: Harness, runId: string) =>
  (await listChanges(h.store.db, h.ctx.workspace.id, { runId, limit: 1000 })).filter((c) => c.action === "update" && JSON.stringify(c.after).includes('"manager"'));

describe.each(engines)("managers from Entra ID (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType === "Member");
  beforeAll(async () => {
    h = await openHarness(engine, { users: 60, groups: 2 });
    await h.addSource("corp", { syncManagers: true, deletionThreshold: { percent: 100, count: 1000 } });
  });
  afterAll(async () => h?.close());

  it("a full run gives every user its manager, the org tree across plan chunks", async () => {
    const run = await h.sync("corp", { planChunkSize: 7 });
    expect(run.status).toBe("succeeded");
    expect(await managerDifferences(h)).toEqual([]);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users where manager_id is not null`.execute(h.store.db);
    expect(rows[0]!.n).toBeGreaterThan(members().length * 0.7);
  });

  it("delta runs follow a manager set, changed and removed, logging names before and after; a dry run logs and keeps nothing", async () => {
    const t = tenant();
    const [a, b, c] = members().slice(-3);
    const before = t.getManager(a!.id);
    const cHad = t.getManager(c!.id);
    expect(before?.id).not.toBe(b!.id);
    t.setManager(a!.id, b!.id);
    t.setManager(c!.id, null);
    const dry = await h.sync("corp", { dryRun: true });
    expect(dry.status).toBe("succeeded");
    expect((await managerEntries(h, dry.runId)).length).toBe(cHad ? 2 : 1);
    expect(await managerDifferences(h)).not.toEqual([]);

    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await managerDifferences(h)).toEqual([]);
    const entries = await managerEntries(h, run.runId);
    const onA = entries.find((e) => e.subject === (a!.mail ?? a!.userPrincipalName))!;
    expect(onA.after).toMatchObject({ manager: `${b!.displayName} <${b!.mail ?? b!.userPrincipalName}>`, changed: ["manager"] });
    if (before) expect(onA.before).toMatchObject({ manager: expect.stringContaining(before.displayName!) });
    if (cHad) expect(entries.find((e) => e.subject === (c!.mail ?? c!.userPrincipalName))).toMatchObject({ before: { manager: expect.stringContaining(cHad.displayName!) }, after: { manager: null } });

    // A full run finds nothing more to do: delta and full agree.
    const full = await h.sync("corp", { full: true });
    expect(full).toMatchObject({ mode: "full", status: "succeeded" });
    expect(await managerEntries(h, full.runId)).toEqual([]);
  });

  it("a manager deleted in Entra ID leaves its reports without one, recorded on each", async () => {
    const t = tenant();
    const boss = members().find((u) => t.listDirectReports(u.id).length >= 2)!;
    const reports = t.listDirectReports(boss.id);
    t.deleteUser(boss.id);
    const run = await h.sync("corp");
    expect(run.status).toBe("succeeded");
    expect(await managerDifferences(h)).toEqual([]);
    const entries = await managerEntries(h, run.runId);
    for (const r of reports) {
      expect(entries.find((e) => e.subject === (r.mail ?? r.userPrincipalName))).toMatchObject({ before: { manager: expect.stringContaining(boss.displayName!) }, after: { manager: null } });
    }
  });

  it("a manager deleted here by hand leaves its reports without one, recorded; the next run brings both back", async () => {
    const t = tenant();
    const boss = members().find((u) => t.listDirectReports(u.id).length >= 1)!;
    const reports = t.listDirectReports(boss.id);
    await deleteUser(h.ctx, boss.userPrincipalName);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users r join users m on m.id = r.manager_id where m.external_id = ${boss.id}`.execute(h.store.db);
    expect(rows[0]!.n).toBe(0);
    const logged = (await listChanges(h.store.db, h.ctx.workspace.id, { limit: 200 })).filter((c) => c.action === "update" && (c.after as { reason?: string }).reason?.startsWith("the manager, "));
    expect(logged.map((c) => c.subject).sort()).toEqual(reports.map((r) => r.mail ?? r.userPrincipalName).sort());
    expect(logged[0]!.before).toMatchObject({ manager: expect.stringContaining(boss.displayName!) });
    expect((await h.sync("corp")).status).toBe("succeeded");
    expect(await managerDifferences(h)).toEqual([]);
  });

  it("a manager the source does not sync (a guest) is left out, saying so on the user", async () => {
    const t = tenant();
    const guest = t.listUsers().find((u) => u.userType === "Guest") ?? t.createUser({ userType: "Guest", displayName: "Visiting Guest", userPrincipalName: `visiting_x.com#EXT#@${t.domain}` });
    const report = members().find((u) => t.getManager(u.id))!;
    t.setManager(report.id, guest.id);
    const run = await h.sync("corp");
    expect(run.status).toBe("succeeded");
    const [entry] = await managerEntries(h, run.runId);
    expect(entry).toMatchObject({ subject: report.mail ?? report.userPrincipalName, after: { manager: null, reason: expect.stringContaining(`Entra ID names ${guest.id}, a user this source does not sync`) } });
    expect(await managerDifferences(h)).toEqual([]);
  });
});

describe.each(engines)("managers not synced (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 20, groups: 0 });
    await h.addSource("corp", {});
  });
  afterAll(async () => h?.close());

  it("Graph is not asked for managers and no user gets one", async () => {
    h.emulator.resetStats();
    expect((await h.sync("corp")).status).toBe("succeeded");
    const deltas = h.emulator.stats().requests.filter((r) => r.url.includes("/users/delta"));
    expect(deltas.length).toBeGreaterThan(0);
    for (const r of deltas) expect(decodeURIComponent(r.url)).not.toMatch(/manager/);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users where manager_id is not null`.execute(h.store.db);
    expect(rows[0]!.n).toBe(0);
  });
});
