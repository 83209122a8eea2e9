import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { getUser } from "../../src/core/users.ts";
import { getGroup } from "../../src/core/groups.ts";

/** Asks Graph for only the changed properties of updated objects, as a client may (Prefer: return=minimal). */
const minimal: HttpFetch = (url, init = {}) => {
  if (!url.includes("/delta")) return httpFetch(url, init);
  const prefer = [init.headers?.prefer, "return=minimal"].filter(Boolean).join(", ");
  return httpFetch(url, { ...init, headers: { ...init.headers, prefer } });
};

describe.each(engines)("delta objects that omit properties (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 4 });
    await h.addSource("corp", { groupMode: "all" });
    expect(await h.sync("corp")).toMatchObject({ mode: "full", status: "succeeded" });
  });
  afterAll(async () => h?.close());

  it("an absent property keeps its mirrored value, an explicit null clears it", async () => {
    const t = tenant();
    const [a, b] = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled && u.displayName && u.jobTitle);
    const guest = t.listUsers().find((u) => u.userType === "Guest")!;
    const group = t.listGroups()[0]!;
    t.updateUser(a!.id, { jobTitle: "Only This Changed" });
    t.updateUser(b!.id, { jobTitle: null });
    t.updateUser(guest.id, { department: "Guests Stay Out" });
    t.updateGroup(group.id, { description: "New description" });

    const run = await h.sync("corp", { fetch: minimal });
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(run.counts).toMatchObject({ created: 0, updated: 2 });
    expect(await getUser(h.ctx, a!.userPrincipalName)).toMatchObject({ displayName: a!.displayName, jobTitle: "Only This Changed" });
    expect(await getUser(h.ctx, b!.userPrincipalName)).toMatchObject({ displayName: b!.displayName, jobTitle: null });
    expect(await getGroup(h.ctx, group.displayName)).toMatchObject({ name: group.displayName, description: "New description" });
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a full run after partial rounds changes nothing", async () => {
    const run = await h.sync("corp", { full: true });
    expect(run).toMatchObject({ mode: "full", status: "succeeded" });
    expect(run.counts).toMatchObject({ created: 0, updated: 0, disabled: 0 });
  });

  // Graph may send an object more than once in a round, each time with some of its properties
  // (https://learn.microsoft.com/graph/delta-query-overview): every occurrence counts, not only the last.
  describe("an object sent twice in one round", () => {
    afterEach(() => {
      for (const o of [...tenant().listUsers(), ...tenant().listGroups()]) tenant().splitInDelta(o.id, null);
    });

    it("a delta round folds the occurrences: properties and members@delta from both", async () => {
      const t = tenant();
      const user = t.listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.jobTitle && u.department)!;
      t.updateUser(user.id, { jobTitle: "Split Title", department: "Split Department" });
      t.splitInDelta(user.id, [["jobTitle"], ["department"]]);
      const outside = (groupId: string) => t.listUsers().filter((u) => u.userType === "Member" && !t.listMembers(groupId).some((m) => m.id === u.id));
      const group = t.listGroups().find((g) => t.listMembers(g.id).some((m) => m.kind === "user") && outside(g.id).length > 0)!;
      const leaving = t.listMembers(group.id).find((m) => m.kind === "user")!;
      const joining = outside(group.id)[0]!;
      t.addMember(group.id, joining.id);
      t.removeMember(group.id, leaving.id);
      t.updateGroup(group.id, { displayName: "Split Group", description: "Split description" });
      t.splitInDelta(group.id, [["displayName"], ["description"]]);

      const run = await h.sync("corp");
      expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
      expect(await getUser(h.ctx, user.userPrincipalName)).toMatchObject({ jobTitle: "Split Title", department: "Split Department", displayName: user.displayName });
      expect(await getGroup(h.ctx, "Split Group")).toMatchObject({ description: "Split description" });
      expect(run.counts).toMatchObject({ membershipsAdded: 1, membershipsRemoved: 1 });
      expect(await differences(h, "corp")).toEqual([]);
    });

    it("so do a full run and a source's first run", async () => {
      const t = tenant();
      const user = t.listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.jobTitle && u.department && u.jobTitle !== "Split Title")!;
      t.splitInDelta(user.id, [["jobTitle"], []]);
      const group = t.listGroups().find((g) => g.displayName !== "Split Group" && t.listMembers(g.id).length > 1)!;
      t.splitInDelta(group.id, [["displayName"], ["description"]]);
      const full = await h.sync("corp", { full: true });
      expect(full).toMatchObject({ mode: "full", status: "succeeded" });
      expect(full.counts).toMatchObject({ created: 0, updated: 0, disabled: 0, groupsUpdated: 0, groupsDeleted: 0, membershipsRemoved: 0 });
      expect(await differences(h, "corp")).toEqual([]);

      // A first run: staged, or (PostgreSQL, no user listed twice) streamed into the directory (first-sync.ts).
      for (const userTwice of [true, false]) {
        if (!userTwice) t.splitInDelta(user.id, null);
        const fresh = await openHarness(engine, {}, h.emulator);
        try {
          await fresh.addSource("corp", { groupMode: "all" });
          const first = await fresh.sync("corp");
          expect(first).toMatchObject({ mode: "full", status: "succeeded" });
          const timings = await sql<{ staged: boolean }>`select progress->'timings' ? 'listing.users' as staged from sync_runs where id = ${first.runId}`.execute(fresh.store.db);
          expect(timings.rows[0]!.staged).toBe(engine === "pglite" || userTwice);
          expect(await getUser(fresh.ctx, user.userPrincipalName)).toMatchObject({ jobTitle: user.jobTitle, department: user.department, displayName: user.displayName });
          expect(await getGroup(fresh.ctx, group.displayName)).toMatchObject({ name: group.displayName, description: group.description });
          expect(await differences(fresh, "corp")).toEqual([]);
        } finally {
          await fresh.close();
        }
      }
    });
  });
});
