import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";

/**
 * Two Entra sources of one workspace sync at once, their tenants claiming one person and the same group names.
 * Each plans against the directory before the other applies (on PostgreSQL both start streaming, finding the
 * workspace empty), so one's apply collides with the other's: it plans again, and gets conflicts instead.
 */
describe.each(engines)("two sources' first syncs at once (%s)", (engine) => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness(engine, { users: 50, groups: 4 });
  });
  afterEach(async () => h?.close());

  // On PostgreSQL, staged as well: there both applies run at once, the second waiting on the first's rows.
  it.each(engine === "postgres" ? [true, false] : [true])("give a claimed user or group to one source and a conflict to the other, and sync everyone else (streamed if it can: %s)", async (streamFirstSync) => {
    const corp = h.emulator.tenants.get(h.emulator.tenantId);
    const other = h.emulator.tenants.add({ users: 40, groups: 4 });
    const claimed = corp.listUsers().find((u) => u.userType === "Member" && u.mail)!;
    other.createUser({ displayName: "Impostor", userPrincipalName: `impostor@${other.domain}`, mail: claimed.mail });
    await h.addSource("corp", { groupMode: "all" });
    await h.addSource("fabrikam", { groupMode: "all" }, { tenantId: other.id, clientId: other.defaultApp.clientId, clientSecret: other.defaultApp.clientSecret });

    const [a, b] = await Promise.all([h.sync("corp", { streamFirstSync }), h.sync("fabrikam", { streamFirstSync })]);
    expect([a.status, b.status], JSON.stringify([a.error, b.error])).toEqual(["succeeded", "succeeded"]);
    expect((a.counts.conflicts ?? 0) + (b.counts.conflicts ?? 0)).toBe(1);

    const held = async (source: string) => (await sql<{ external_id: string }>`select u.external_id from users u join sources s on s.id = u.source_id
      where s.name = ${source}`.execute(h.store.db)).rows.map((r) => r.external_id).sort();
    const members = (t: typeof corp) => t.listUsers().filter((u) => u.userType !== "Guest").map((u) => u.id);
    const [corpHeld, otherHeld] = [await held("corp"), await held("fabrikam")];
    const impostor = other.listUsers().find((u) => u.displayName === "Impostor")!.id;
    // The claimed person is held once, by one of the two sources; everyone else by their own.
    expect([corpHeld.includes(claimed.id), otherHeld.includes(impostor)].filter(Boolean)).toHaveLength(1);
    expect(corpHeld).toEqual(members(corp).filter((id) => id !== claimed.id || corpHeld.includes(id)).sort());
    expect(otherHeld).toEqual(members(other).filter((id) => id !== impostor || otherHeld.includes(id)).sort());

    const names = new Set([...corp.listGroups(), ...other.listGroups()].map((g) => g.displayName.toLowerCase()));
    const groups = await sql<{ n: number }>`select count(*)::int as n from groups where source_id is not null`.execute(h.store.db);
    expect(groups.rows[0]!.n).toBe(names.size); // a name both tenants use went to one of them
  });
});
