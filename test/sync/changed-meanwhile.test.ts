import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { httpFetch } from "../../src/net/http.ts";
import { loadSourceForSync } from "../../src/core/sources.ts";
import { createUser, deleteUser, getUser } from "../../src/core/users.ts";
import { runSync } from "../../src/sync/runner.ts";
import { openStore, type Store } from "../../src/storage/database.ts";
import { markDirtyOutsideRun, seenMarks } from "../../src/sync/dirty.ts";

/**
 * An edit that lands between a run's plan and its apply. One that takes a value the run writes makes the apply
 * collide with it (a unique index): it rolls back, and the run plans again against the directory as it is. One
 * that marks a synced user for the next run (an edit, a delete) keeps its mark: the run clears only those it
 * planned from (sync/dirty.ts).
 */
describe.each(engines)("a change made while a run goes from plan to apply (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 2 });
    await h.addSource("corp", { groupMode: "all" });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded" });
  });
  afterAll(async () => h?.close());

  /** A sync whose apply transaction starts only once `meanwhile` is done (the run has planned by then). */
  async function syncWith(meanwhile: () => Promise<unknown>, phases: string[] = []) {
    let applying = false;
    let done = false;
    const db = new Proxy(h.store.db, {
      get(target, property) {
        if (property === "transaction" && applying && !done) {
          done = true;
          return () => ({ execute: async (work: never) => (await meanwhile(), target.transaction().execute(work)) });
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const source = await loadSourceForSync(h.ctx, "corp");
    const summary = await runSync({ ...h.store, db } as Store, { workspaceId: h.ctx.workspace.id, source, trigger: "manual" }, {
      fetch: httpFetch,
      onProgress: (p) => {
        applying ||= p.phase === "applying";
        if (phases.at(-1) !== p.phase) phases.push(p.phase);
      },
    });
    expect(done).toBe(true);
    return summary;
  }

  it("a user the run updates, deleted by hand meanwhile, stays deleted until the next run brings it back updated", async () => {
    const someone = tenant().listUsers().find((u) => u.userType === "Member" && u.mail)!;
    tenant().updateUser(someone.id, { displayName: "Renamed Meanwhile" });
    expect(await syncWith(() => deleteUser(h.ctx, someone.mail!))).toMatchObject({ status: "succeeded", counts: { updated: 1 } });
    await expect(getUser(h.ctx, someone.mail!)).rejects.toMatchObject({ code: "not_found" });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { created: 1 } });
    expect(await getUser(h.ctx, someone.mail!)).toMatchObject({ displayName: "Renamed Meanwhile", source: { name: "corp" } });
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("an email the run gives a new user, taken by hand meanwhile, links that user", async () => {
    const newcomer = tenant().createUser({ displayName: "New Comer", userPrincipalName: `new.comer@${tenant().domain}`, mail: `new.comer@${tenant().domain}` });
    const phases: string[] = [];
    const run = await syncWith(() => createUser(h.ctx, { email: newcomer.mail, displayName: "Typed By Hand" }), phases);
    expect(run).toMatchObject({ status: "succeeded", counts: { created: 0, linked: 1 } });
    // Its progress never goes back to a first plan's 0: the second plan is a phase of its own.
    expect(phases.slice(phases.indexOf("applying"))).toEqual(["applying", "replanning", "applying", "done"]);
    expect(await getUser(h.ctx, newcomer.mail!)).toMatchObject({ displayName: "New Comer", source: { name: "corp", externalId: newcomer.id } });
    expect(await differences(h, "corp")).toEqual([]);
  });

  it.runIf(engine === "postgres")("a run starting to plan waits for a mark in flight, and sees it", async () => {
    const marker = await openStore({ kind: "postgres", url: h.store.url! }); // another process's connections
    const [{ id: sourceId }] = (await sql<{ id: string }>`select id from sources where name = 'corp'`.execute(h.store.db)).rows as [{ id: string }];
    let commit = () => {};
    try {
      let marked!: () => void;
      const markedYet = new Promise<void>((resolve) => (marked = resolve));
      const marking = marker.db.transaction().execute(async (trx) => {
        await markDirtyOutsideRun(trx, sql`select source_id, id from entra_users where source_id = ${sourceId} limit 1`);
        marked();
        await new Promise<void>((resolve) => (commit = resolve));
      });
      await markedYet;
      let seen: number | undefined;
      const seeing = seenMarks(h.store.db, sourceId).then((version) => (seen = version));
      await sleep(500);
      expect(seen).toBeUndefined(); // waiting for the mark to commit
      commit();
      await marking;
      await seeing;
      const newest = await sql<{ version: string }>`select max(version) as version from entra_dirty_users where source_id = ${sourceId}`.execute(h.store.db);
      expect(seen).toBe(Number(newest.rows[0]!.version));
    } finally {
      commit(); // a failed expectation must not leave the marking transaction open
      await marker.close();
    }
  });
});
