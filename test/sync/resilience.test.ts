import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { getRun } from "../../src/core/runs.ts";
import { getUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { loadSourceForSync } from "../../src/core/sources.ts";
import { runSync } from "../../src/sync/runner.ts";

describe.each(engines)("throttling, faults, failures and two tenants (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 120, groups: 10 });
    await h.addSource("corp", { groupMode: "all", country: "US" });
  });
  afterAll(async () => h?.close());

  it("converges under throttling and faults, waiting what Retry-After says before each retry", async () => {
    h.emulator.setKnobs({ throttleRate: 0.3, faultRate: 0.15, retryAfterSeconds: 0.3, retryAfterForm: "mixed", deltaMembersPerPage: 25 });
    h.emulator.resetStats();
    try {
      const first = await h.sync("corp");
      expect(first.error).toBeUndefined();
      expect(first.status).toBe("succeeded");
      const t = tenant();
      const someone = t.listUsers().find((u) => u.userType === "Member")!;
      t.updateUser(someone.id, { displayName: "Throttled Rename" });
      t.addMember(t.listGroups()[1]!.id, someone.id);
      const delta = await h.sync("corp");
      expect(delta).toMatchObject({ mode: "delta", status: "succeeded" });
      expect(await differences(h, "corp")).toEqual([]);

      const stats = h.emulator.stats();
      expect(stats.throttled).toBeGreaterThan(0);
      expect(first.graphThrottled + delta.graphThrottled).toBeGreaterThan(0);
      const records = stats.requests.filter((r) => !r.batchItem);
      let checked = 0;
      for (const throttled of records.filter((r) => r.status === 429 && r.retryAfter && r.clientRequestId)) {
        const retry = records.find((r) => r.clientRequestId === throttled.clientRequestId && r.seq > throttled.seq);
        if (!retry) continue;
        expect(retry.retryAttempt).toBeGreaterThan(0);
        const seconds = Number(throttled.retryAfter);
        const waitMs = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(throttled.retryAfter!) - throttled.at;
        // The retry starts no earlier than Retry-After after the 429 was answered (HTTP dates have 1 s resolution).
        expect(retry.at - (throttled.at + throttled.durationMs)).toBeGreaterThanOrEqual(Math.min(waitMs, 300) - 50);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    } finally {
      h.emulator.setKnobs({ throttleRate: 0, faultRate: 0, deltaMembersPerPage: 1000 });
    }
  });

  it("a run that fails mid-way leaves the directory as it was and a failed run record; the next run converges", async () => {
    const t = tenant();
    const victims = t.listUsers().filter((u) => u.userType === "Member").slice(5, 8);
    for (const v of victims) t.updateUser(v.id, { jobTitle: "Half Applied" });
    // The network goes away after the first Graph pages: the listing is incomplete, nothing may be applied.
    let calls = 0;
    const failing: HttpFetch = async (url, init) => {
      if (url.includes("/v1.0/") && ++calls > 1) throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
      return httpFetch(url, init);
    };
    const failed = await h.sync("corp", { fetch: failing });
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatchObject({ code: "source_unreachable" });
    const record = await getRun(h.ctx, failed.runId);
    expect(record).toMatchObject({ status: "failed", error: { code: "source_unreachable" } });
    expect(record.finishedAt).not.toBeNull();
    for (const v of victims) expect((await getUser(h.ctx, v.userPrincipalName)).jobTitle).not.toBe("Half Applied");

    // Now the apply itself fails half-way (a database error on the memberships step): the transaction rolls back.
    t.addMember(t.listGroups()[2]!.id, victims[0]!.id);
    await sql`create function fail_once() returns trigger language plpgsql as $$ begin raise exception 'disk full (simulated)'; end $$`.execute(h.store.db);
    await sql`create trigger fail_members before insert on group_members for each row execute function fail_once()`.execute(h.store.db);
    const broken = await h.sync("corp");
    expect(broken.status).toBe("failed");
    expect(broken.error!.message).toMatch(/disk full/);
    // It had planned changes, yet applied none (the apply is one transaction): every count says so, beside its error.
    const nothing = { created: 0, updated: 0, linked: 0, disabled: 0, deleted: 0, conflicts: 0, membershipsAdded: 0, membershipsRemoved: 0, groupsCreated: 0, errors: 1 };
    expect(broken.counts).toMatchObject(nothing);
    expect((await getRun(h.ctx, broken.runId)).counts).toMatchObject(nothing);
    for (const v of victims) expect((await getUser(h.ctx, v.userPrincipalName)).jobTitle).not.toBe("Half Applied");
    await sql`drop trigger fail_members on group_members`.execute(h.store.db);

    const next = await h.sync("corp");
    expect(next.status).toBe("succeeded");
    for (const v of victims) expect((await getUser(h.ctx, v.userPrincipalName)).jobTitle).toBe("Half Applied");
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a groups listing that fails after the users were listed and merged applies nothing; the next run converges", async () => {
    const t = tenant();
    const mover = t.listUsers().filter((u) => u.userType === "Member")[9]!;
    t.updateUser(mover.id, { jobTitle: "Merged Early" });
    t.addMember(t.listGroups()[3]!.id, mover.id);
    const groupsDown: HttpFetch = async (url, init) => {
      if (url.includes("/groups/")) throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
      return httpFetch(url, init);
    };
    const failed = await h.sync("corp", { fetch: groupsDown });
    expect(failed).toMatchObject({ status: "failed", error: { code: "source_unreachable" } });
    expect((await getUser(h.ctx, mover.userPrincipalName)).jobTitle).not.toBe("Merged Early");
    // The users chain completed, so its merge (with its delta link) stands; the row stays dirty until applied.
    const { rows } = await sql<{ job: string; dirty: boolean }>`select data->>'jobTitle' as job, exists (select 1 from entra_dirty_users d where d.id = e.id) as dirty from entra_users e where e.id = ${mover.id}`.execute(h.store.db);
    expect(rows[0]).toEqual({ job: "Merged Early", dirty: true });

    const next = await h.sync("corp");
    expect(next).toMatchObject({ status: "succeeded", mode: "delta" });
    expect((await getUser(h.ctx, mover.userPrincipalName)).jobTitle).toBe("Merged Early");
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a staging write that fails while later pages are fetched fails the run cleanly; the next run converges", async () => {
    const t = tenant();
    const joiner = t.listUsers().filter((u) => u.userType === "Member")[11]!;
    t.addMember(t.listGroups()[4]!.id, joiner.id);
    h.emulator.setKnobs({ deltaMembersPerPage: 25 }); // many groups pages, fetched ahead of their writes
    let memberWrites = 0;
    const failing = {
      ...h.store,
      copyRows: async (...args: Parameters<typeof h.store.copyRows>) => {
        if (args[0] === "sync_stage_members" && ++memberWrites === 2) throw new Error("could not extend file: No space left on device");
        return h.store.copyRows(...args);
      },
    };
    try {
      const source = await loadSourceForSync(h.ctx, "corp");
      const failed = await runSync(failing, { workspaceId: h.ctx.workspace.id, source, trigger: "manual", full: true }, { fetch: httpFetch });
      expect(failed).toMatchObject({ status: "failed", error: { message: expect.stringMatching(/No space left on device/) } });
      expect(memberWrites).toBe(2);
      const next = await h.sync("corp");
      expect(next).toMatchObject({ status: "succeeded" });
      expect(await differences(h, "corp")).toEqual([]);
    } finally {
      h.emulator.setKnobs({ deltaMembersPerPage: 1000 });
    }
  });

  it("two Entra sources claiming the same email give a conflict on that user, never an overwrite", async () => {
    const other = h.emulator.tenants.add({ users: 3, groups: 0 });
    const claimed = tenant().listUsers().find((u) => u.userType === "Member" && u.mail)!;
    other.createUser({ displayName: "Impostor", userPrincipalName: `impostor@${other.domain}`, mail: claimed.mail });
    await h.addSource("fabrikam", {}, { tenantId: other.id, clientId: other.defaultApp.clientId, clientSecret: other.defaultApp.clientSecret });
    const run = await h.sync("fabrikam");
    expect(run.status).toBe("succeeded");
    expect(run.counts.conflicts).toBe(1);
    const user = await getUser(h.ctx, claimed.mail!);
    expect(user.source.name).toBe("corp");
    expect(user.displayName).toBe(claimed.displayName);
    const history = await listChanges(h.store.db, h.ctx.workspace.id, { userId: user.id });
    expect(history[0]).toMatchObject({ action: "conflict", runId: run.runId });
    expect(JSON.stringify(history[0]!.after)).toMatch(/two tenants claim the same person/);
  });
});
