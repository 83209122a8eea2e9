import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { httpFetch } from "../../src/net/http.ts";
import { loadSourceForSync } from "../../src/core/sources.ts";
import { createUser } from "../../src/core/users.ts";
import { runSync } from "../../src/sync/runner.ts";
import { lapTimer } from "../../src/sync/apply.ts";
import { RollcallError } from "../../src/errors.ts";

describe("the apply's steps", () => {
  it("record their milliseconds, and stop the apply at the next step once the run is aborted", () => {
    const timings: Record<string, number> = {};
    const abort = new AbortController();
    const lap = lapTimer(timings, abort.signal);
    lap("users");
    const reason = new RollcallError("sync_failed", "Cancelled by test");
    abort.abort(reason);
    expect(() => lap("groups")).toThrow(reason);
    expect(Object.keys(timings)).toEqual(["users", "groups"]);
  });
});

/**
 * Ctrl-C, or a cancel, that comes while a source's first run applies (streamed on PostgreSQL, first-sync.ts): the
 * run fails with the reason and nothing reaches the directory. Whatever comes next, the source converges: a dry
 * run previews every user, and a run that cannot stream (the workspace gained a user meanwhile) creates them.
 */
describe.each(engines)("a first sync stopped while it applies (%s)", (engine) => {
  let h: Harness;
  let inScope: number;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 40, groups: 4 });
    await h.addSource("corp", { groupMode: "all" });
    inScope = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.userType !== "Guest").length;
  });
  afterAll(async () => h?.close());

  it("fails with the reason, with nothing applied", async () => {
    const source = await loadSourceForSync(h.ctx, "corp");
    const abort = new AbortController();
    const reason = new RollcallError("sync_failed", "Interrupted (SIGINT): the run was stopped before it finished; nothing it had not committed was applied");
    const summary = await runSync(h.store, { workspaceId: h.ctx.workspace.id, source, trigger: "manual" }, {
      fetch: httpFetch,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.phase === "applying") abort.abort(reason);
      },
    });
    expect(summary).toMatchObject({ status: "failed", error: { code: "sync_failed", message: expect.stringContaining("Interrupted (SIGINT)") } });
    const held = await sql<{ users: number; groups: number; changes: number }>`select (select count(*)::int from users) as users,
      (select count(*)::int from groups) as groups, (select count(*)::int from change_log where run_id = ${summary.runId}) as changes`.execute(h.store.db);
    expect(held.rows[0]).toEqual({ users: 0, groups: 0, changes: 0 });
  });

  it("a dry run then previews every user as created", async () => {
    expect(await h.sync("corp", { dryRun: true })).toMatchObject({ status: "succeeded", counts: { created: inScope } });
  });

  it("a run that cannot stream, the workspace having gained a user, creates every user", async () => {
    await createUser(h.ctx, { email: "walk-in@example.com", displayName: "Walk In" });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { created: inScope } });
    expect(await differences(h, "corp")).toEqual([]);
  });
});
