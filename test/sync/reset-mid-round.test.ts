import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { differences, openHarness, type Harness } from "./harness.ts";

/**
 * Graph may answer any page of a round, not only a stored deltaLink, with 410 Gone (resyncRequired, a Location
 * holding the initial query): a synchronization reset for maintenance or a tenant migration, after which "the
 * application must restart with a full synchronization" [delta-query-overview: Synchronization reset]. A full
 * listing (a source's first run, streamed or staged, or a --full run) then lists again from the start, once.
 */
describe.each(engines)("a synchronization reset in the middle of a full listing (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 60, groups: 8 });
    h.emulator.setKnobs({ deltaMembersPerPage: 10 }); // the groups round spans pages: it has nextLinks to reset
    await h.addSource("corp", { groupMode: "all" });
  });
  afterAll(async () => h?.close());

  /** Resets the tenant's sync state just before the round's first nextLink is followed. */
  const resettingOnce = (): { fetch: HttpFetch; resets: () => number } => {
    let resets = 0;
    const fetch: HttpFetch = async (url, init) => {
      if (resets === 0 && url.includes("/delta?$skiptoken=")) {
        resets++;
        h.emulator.tenants.get(h.emulator.tenantId).resetDeltaTokens();
      }
      return httpFetch(url, init);
    };
    return { fetch, resets: () => resets };
  };

  it("a source's first run lists again from the start and converges", async () => {
    const reset = resettingOnce();
    const run = await h.sync("corp", { fetch: reset.fetch });
    expect(reset.resets()).toBe(1);
    expect(run.error).toBeUndefined();
    expect(run.status).toBe("succeeded");
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("so does a full run", async () => {
    h.emulator.tenants.get(h.emulator.tenantId).createUser({ displayName: "Late Joiner" });
    const reset = resettingOnce();
    const run = await h.sync("corp", { fetch: reset.fetch, full: true });
    expect(reset.resets()).toBe(1);
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "full", status: "succeeded" });
    expect(await differences(h, "corp")).toEqual([]);
  });
});
