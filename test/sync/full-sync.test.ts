import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { listUsers } from "../../src/core/users.ts";
import { listGroups } from "../../src/core/groups.ts";

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

    const groups = (await listGroups(h.ctx, {}, { limit: 500, offset: 0 })).items;
    expect(groups.length).toBe(tenant.listGroups().length);
    const nested = tenant.state().memberships.find((m) => m.kind === "group");
    if (nested) {
      const parent = groups.find((g) => g.source.externalId === nested.groupId)!;
      const child = tenant.getGroup(nested.memberId)!;
      expect(parent.members).toContain(child.displayName);
    }
  });
});
