import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
});
