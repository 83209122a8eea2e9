import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { openStore } from "../../src/storage/database.ts";
import { toRollcallError } from "../../src/errors.ts";
import { getUser } from "../../src/core/users.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { postgresBinaries, startOwnPostgres, type OwnPostgres } from "../support/own-postgres.ts";
import { differences, harnessOver, type Harness } from "./harness.ts";

/** A sync running when its PostgreSQL server goes away (a restart, a failover), on a server of this file's own. */
describe.skipIf(!postgresBinaries)("a sync whose database goes away mid-run", () => {
  let server: OwnPostgres;
  let h: Harness;

  beforeAll(async () => {
    server = await startOwnPostgres();
    const store = await openStore({ kind: "postgres", url: server.url, connectTimeoutMs: 1_000 });
    h = await harnessOver({ ...store, dispose: () => store.close() }, await startTrustedEmulator({ users: 60, groups: 8, seed: 7 }), true);
    await h.addSource("corp", { groupMode: "all" });
  });
  afterAll(async () => {
    await h?.close();
    server?.remove();
  });

  it("ends as a failed run saying the database went away, written once it is back, with the source free; the next run converges", async () => {
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded" });
    const tenant = h.emulator.tenants.get(h.emulator.tenantId)!;
    const mover = tenant.listUsers().find((u) => u.userType === "Member")!;
    tenant.updateUser(mover.id, { jobTitle: "Moved During The Outage" });

    // The server stops (ending every session) while the run lists Entra ID, between two Graph pages.
    let graphCalls = 0;
    const cutting: HttpFetch = async (url, init) => {
      if (url.includes("/v1.0/") && ++graphCalls === 2) server.stop();
      return httpFetch(url, init);
    };
    const failure = await h.sync("corp", { fetch: cutting }).then(
      (summary) => summary,
      (error: unknown) => toRollcallError(error),
    );
    expect(failure).toMatchObject({ code: "database_unreachable" });

    server.start();
    const lastRun = async () =>
      (await sql<{ status: string; error: { code: string; message: string } | null; finished: boolean; leased: boolean }>`
        select r.status, r.error, r.finished_at is not null as finished, s.lease_run_id is not null as leased
        from sync_runs r join source_state s on s.source_id = r.source_id order by r.started_at desc limit 1`.execute(h.store.db)).rows[0];
    await expect.poll(lastRun, { timeout: 15_000 }).toMatchObject({ status: "failed", finished: true, leased: false });
    expect((await lastRun())!.error).toMatchObject({ code: "database_unreachable", message: expect.stringMatching(/^The database became unreachable during the run \(.+\); nothing the run had not committed was applied/) });
    expect((await getUser(h.ctx, mover.userPrincipalName)).jobTitle).not.toBe("Moved During The Outage");

    expect(await h.sync("corp")).toMatchObject({ status: "succeeded" });
    expect((await getUser(h.ctx, mover.userPrincipalName)).jobTitle).toBe("Moved During The Outage");
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a server that freezes mid-run (SIGSTOP, connections left open): the run fails within seconds and is written failed once the server goes on (SIGCONT)", { timeout: 60_000 }, async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId)!;
    const mover = tenant.listUsers().find((u) => u.userType === "Member")!;
    tenant.updateUser(mover.id, { jobTitle: "Moved While Frozen" });

    let graphCalls = 0;
    const freezing: HttpFetch = async (url, init) => {
      if (url.includes("/v1.0/") && ++graphCalls === 2) server.freeze();
      return httpFetch(url, init);
    };
    let failure: unknown;
    try {
      const started = performance.now();
      failure = await h.sync("corp", { fetch: freezing }).then(
        (summary) => summary,
        (error: unknown) => toRollcallError(error),
      );
      expect(performance.now() - started).toBeLessThan(15_000);
    } finally {
      server.thaw();
    }
    expect(failure).toMatchObject({ code: "database_unreachable" });

    const lastRun = async () =>
      (await sql<{ status: string; error: { code: string; message: string } | null; leased: boolean }>`
        select r.status, r.error, s.lease_run_id is not null as leased
        from sync_runs r join source_state s on s.source_id = r.source_id order by r.started_at desc limit 1`.execute(h.store.db)).rows[0];
    await expect.poll(lastRun, { timeout: 15_000 }).toMatchObject({ status: "failed", leased: false });
    expect((await lastRun())!.error).toMatchObject({ code: "database_unreachable", message: expect.stringMatching(/^The database became unreachable during the run \(.*no answer within 1 s.*\); nothing the run had not committed was applied/) });
    expect((await getUser(h.ctx, mover.userPrincipalName)).jobTitle).not.toBe("Moved While Frozen");

    expect(await h.sync("corp")).toMatchObject({ status: "succeeded" });
    expect((await getUser(h.ctx, mover.userPrincipalName)).jobTitle).toBe("Moved While Frozen");
  });
});
