import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { directorySnapshot, openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import type { RunSummary } from "../../src/sync/run-record.ts";
import { oneAtATime } from "../../src/sync/first-sync.ts";

describe("writes on one connection of a streamed sync", () => {
  it("run one at a time, and after a failed one fail with its error without running", async () => {
    const write = oneAtATime();
    const ran: string[] = [];
    const duplicate = Object.assign(new Error("duplicate key value"), { code: "23505" });
    const first = write(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ran.push("first");
    });
    const failing = write(async () => {
      ran.push("failing");
      throw duplicate;
    });
    const later = write(async () => {
      ran.push("later");
    });
    await first;
    await expect(failing).rejects.toBe(duplicate);
    await expect(later).rejects.toBe(duplicate);
    await expect(write(async () => {})).rejects.toBe(duplicate);
    expect(ran).toEqual(["first", "failing"]);
  });
});

// A first sync into an empty workspace on PostgreSQL is streamed into the directory (src/sync/first-sync.ts);
// everywhere else, and here with streamFirstSync: false, it is staged, merged, planned and applied. Both
// directories are synced from one emulator and must end up alike, run after run.
describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("a first sync streamed on PostgreSQL, against the staged one", () => {
  let streamed: Harness;
  let staged: Harness;
  const tenant = () => streamed.emulator.tenants.get(streamed.emulator.tenantId);
  const config = {
    groupMode: "all" as const,
    country: "US",
    mapping: { aliases: "onPremisesExtensionAttributes.extensionAttribute13", cardNumbers: "onPremisesExtensionAttributes.extensionAttribute10" },
  };

  beforeAll(async () => {
    streamed = await openHarness("postgres", { users: 80, groups: 10 });
    staged = await openHarness("postgres", {}, streamed.emulator);
    const t = tenant();
    const members = t.listUsers().filter((u) => u.userType !== "Guest" && u.mail);
    members.forEach((u, n) => t.updateUser(u.id, { onPremisesExtensionAttributes: { extensionAttribute13: `alias-${n}`, extensionAttribute10: null } }));
    // Pairs listed in external id order too, so that both paths let the same one of each pair win.
    const pairs = members.slice(0, -1).flatMap((u, i) => (u.id < members[i + 1]!.id ? [[u, members[i + 1]!] as const] : []));
    const [[mailA, mailB], [aliasA, aliasB], [cardA, cardB]] = [pairs[0]!, pairs[1]!, pairs[2]!];
    t.updateUser(mailB.id, { mail: mailA.mail });
    t.updateUser(aliasB.id, { onPremisesExtensionAttributes: { extensionAttribute13: `alias-shared,${aliasA.onPremisesExtensionAttributes!.extensionAttribute13}` } });
    t.updateUser(cardA.id, { onPremisesExtensionAttributes: { extensionAttribute10: "4000123412341234" } });
    t.updateUser(cardB.id, { onPremisesExtensionAttributes: { extensionAttribute10: "4000123412341234" } });
    t.updateUser(members[5]!.id, { mobilePhone: "call me maybe" });
    await streamed.addSource("corp", config);
    await staged.addSource("corp", config);
  });
  afterAll(async () => {
    await staged?.close();
    await streamed?.close();
  });

  const both = async (options: Parameters<Harness["sync"]>[1] = {}) => {
    const a = await streamed.sync("corp", options);
    const b = await staged.sync("corp", { ...options, streamFirstSync: false });
    expect(a.error).toBeUndefined();
    expect(b.error).toBeUndefined();
    return [a, b] as const;
  };

  it("a dry run is staged even into an empty workspace, changes no user, and moves no delta link", async () => {
    const [a, b] = await both({ dryRun: true });
    // Streaming commits as it goes, so a dry run never streams (src/sync/runner.ts).
    expect(await pathOf(streamed, a)).toBe("staged");
    expect(a.counts).toEqual(b.counts);
    expect(a.counts.created).toBeGreaterThan(50);
    expect(await changesOf(streamed, a)).toEqual(await changesOf(staged, b));
    for (const h of [streamed, staged]) expect((await sql<{ n: number }>`select count(*)::int as n from users`.execute(h.store.db)).rows[0]!.n).toBe(0);
    expect((await everything(streamed)).mirror.users).toEqual((await everything(staged)).mirror.users);
    for (const h of [streamed, staged]) expect((await everything(h)).state).toEqual([{ users: false, groups: false, full: false }]);
  });

  it("writes the users, cards, aliases, groups, memberships, mirror, conflicts and warnings the staged path writes", async () => {
    const [a, b] = await both();
    expect(await pathOf(streamed, a)).toBe("streamed");
    expect(await pathOf(staged, b)).toBe("staged");
    expect(a.counts).toEqual(b.counts);
    expect(a.counts).toMatchObject({ conflicts: 1 });
    expect(a.counts.warnings).toBeGreaterThanOrEqual(3); // the shared alias, the shared card, the phone
    expect(await everything(streamed)).toEqual(await everything(staged));
    expect(await changesOf(streamed, a)).toEqual(await changesOf(staged, b));
  });

  it("leaves the next runs, delta and full, the same to do", async () => {
    const t = tenant();
    const [first, second] = t.listUsers().filter((u) => u.userType !== "Guest" && u.accountEnabled);
    t.updateUser(first!.id, { jobTitle: "Moved On", accountEnabled: false });
    t.deleteUser(second!.id);
    const group = t.listGroups()[0]!;
    t.updateGroup(group.id, { displayName: `${group.displayName} (renamed)` });
    for (const options of [{}, { full: true }]) {
      const [a, b] = await both(options);
      expect(a.mode).toBe(b.mode);
      expect(a.counts).toEqual(b.counts);
      expect(await everything(streamed)).toEqual(await everything(staged));
      expect(await changesOf(streamed, a)).toEqual(await changesOf(staged, b));
    }
  });

  it("streams a round that reports a removal, and lists again through staging one that lists a user twice", async () => {
    // Graph leaves users deleted before a first round out of it, as the emulator does, but "the @removed object can be
    // returned in the initial delta query response" [delta-query-overview]: a user deleted above, reported so.
    const deleted = tenant().listUsers({ includeDeleted: true }).find((u) => !tenant().getUser(u.id))!;
    for (const [fetch, path] of [[removingFirst("/users/delta", deleted.id), "streamed"], [repeatingFirst("/users/delta"), "staged"]] as const) {
      const again = await openHarness("postgres", {}, streamed.emulator);
      try {
        await again.addSource("corp", config);
        const run = await again.sync("corp", { fetch });
        expect(run.error).toBeUndefined();
        expect(await pathOf(again, run)).toBe(path);
        const note = await sql<{ note: string | null }>`select progress->>'note' as note from sync_runs where id = ${run.runId}`.execute(again.store.db);
        if (path === "staged") expect(note.rows[0]!.note).toMatch(/Listing again through staging: a listed user or membership collided/);
        expect(await everything(again)).toEqual(await everything(streamed));
      } finally {
        await again.close();
      }
    }
  });
});

describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("a streamed first sync in every group mode, against the staged one", () => {
  let first: Harness;
  beforeAll(async () => {
    first = await openHarness("postgres", { users: 60, groups: 10 });
  });
  afterAll(async () => first?.close());

  const modes = [
    { groupMode: "none" as const },
    { groupMode: "attribute" as const, groupAttribute: "department" },
    // One selected group Entra ID lacks: both paths warn about it.
    { groupMode: "selected" as const, groups: ["All Employees", "Engineering", "No Such Group"] },
    { groupMode: "all" as const, ignoreGroupsContaining: ["team"], includeGuests: true },
  ];
  it.each(modes)("%o", async (mode) => {
    const [streamed, staged] = [await openHarness("postgres", {}, first.emulator), await openHarness("postgres", {}, first.emulator)];
    try {
      await streamed.addSource("corp", { country: "US", ...mode });
      await staged.addSource("corp", { country: "US", ...mode });
      const a = await streamed.sync("corp");
      const b = await staged.sync("corp", { streamFirstSync: false });
      expect(a.error).toBeUndefined();
      expect(await pathOf(streamed, a)).toBe("streamed");
      expect(a.counts).toEqual(b.counts);
      expect(await everything(streamed)).toEqual(await everything(staged));
      expect(await changesOf(streamed, a)).toEqual(await changesOf(staged, b));
      if (mode.groupMode === "selected") expect((await changesOf(streamed, a)).filter((c) => c.includes("No Such Group"))).toHaveLength(1);
    } finally {
      await streamed.close();
      await staged.close();
    }
  });

  it("streams a round that splits groups over pages, and lists again through staging one that lists a group's members twice", async () => {
    first.emulator.setKnobs({ deltaMembersPerPage: 5 });
    try {
      for (const [fetch, path] of [[httpFetch, "streamed"], [repeatingFirst("/groups/delta", (g) => Boolean((g["members@delta"] as unknown[] | undefined)?.length)), "staged"]] as const) {
        const [streamed, staged] = [await openHarness("postgres", {}, first.emulator), await openHarness("postgres", {}, first.emulator)];
        try {
          await streamed.addSource("corp", { groupMode: "all" });
          await staged.addSource("corp", { groupMode: "all" });
          const a = await streamed.sync("corp", { fetch });
          const b = await staged.sync("corp", { streamFirstSync: false });
          expect(a.error).toBeUndefined();
          expect(await pathOf(streamed, a)).toBe(path);
          expect(a.counts).toEqual(b.counts);
          expect(await everything(streamed)).toEqual(await everything(staged));
        } finally {
          await streamed.close();
          await staged.close();
        }
      }
    } finally {
      first.emulator.setKnobs({ deltaMembersPerPage: 1000 });
    }
  });
});

describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("a streamed first sync that collides while a page of users is being written", () => {
  it("rolls that page back with the rest, and lists again through staging from an empty directory", async () => {
    const h = await openHarness("postgres", { users: 60, groups: 10 });
    try {
      await h.addSource("corp", { groupMode: "all" });
      // Slow writes, in the order that lost a page: the groups' colliding COPY is queued on the mirror's connection
      // first; the users' page then waits behind it there, while its directory rows are still being written.
      const copyInto = h.store.copyInto.bind(h.store);
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      h.store.copyInto = async (trx, table, columns, chunks) => {
        await pause(table === "entra_members" ? 300 : ["users", "user_identifiers", "created_users", "change_log"].includes(table) ? 150 : 0);
        return copyInto(trx, table, columns, chunks);
      };
      const fetch = repeatingFirst("/groups/delta", (g) => Boolean((g["members@delta"] as unknown[] | undefined)?.length));
      const run = await h.sync("corp", { fetch });
      expect(run.error).toBeUndefined();
      expect(await pathOf(h, run)).toBe("staged");
      const members = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.userType !== "Guest");
      expect(run.counts).toMatchObject({ created: members.length, unchanged: 0 });
    } finally {
      await h.close();
    }
  });
});

/** Which path the run took, by the timings it recorded. */
async function pathOf(h: Harness, run: RunSummary): Promise<"streamed" | "staged"> {
  const { rows } = await sql<{ timings: Record<string, number> }>`select progress->'timings' as timings from sync_runs where id = ${run.runId}`.execute(h.store.db);
  return "listing.users" in rows[0]!.timings ? "staged" : "streamed";
}

/** Everything the source keeps, without database ids: the directory, cards and aliases, the mirror, the delta state. */
async function everything(h: Harness) {
  const db = h.store.db;
  const rows = async (query: ReturnType<typeof sql>) => (await query.execute(db)).rows;
  return {
    directory: await directorySnapshot(db, "corp"),
    identifiers: await rows(sql`select i.kind, i.key, i.value, i.position, u.external_id from user_identifiers i join users u on u.id = i.user_id order by i.kind, i.key`),
    pins: await rows(sql`select count(*)::int as n from users where pin_hash is not null`),
    mirror: {
      users: await rows(sql`select id, data from entra_users order by id`),
      groups: await rows(sql`select id, data, dirty from entra_groups order by id`),
      members: await rows(sql`select group_id, member_id, kind from entra_members order by group_id, member_id`),
      dirty: await rows(sql`select id from entra_dirty_users order by id`),
      departed: await rows(sql`select id from entra_departed order by id`),
    },
    state: await rows(sql`select users_delta_link is not null as users, groups_delta_link is not null as groups, last_full_at is not null as full from source_state`),
  };
}

/** A run's change log, each entry on the external id of its user or group, sorted, with every id masked but Entra's. */
async function changesOf(h: Harness, run: RunSummary): Promise<string[]> {
  // As jsonb, whose keys come out in one order whichever path wrote the entry's json.
  const { rows } = await sql<Record<string, unknown>>`select c.action, c.subject, c.before::jsonb as before, c.after::jsonb as after, u.external_id as user_ext, g.external_id as group_ext
    from change_log c left join users u on u.id = c.user_id left join groups g on g.id = c.group_id where c.run_id = ${run.runId}`.execute(h.store.db);
  const tenant = h.emulator.tenants.get(h.emulator.tenantId);
  const entraIds = new Set([...tenant.listUsers(), ...tenant.listGroups()].map((o) => o.id));
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  return rows.map((r) => JSON.stringify(r).replace(uuid, (id) => (entraIds.has(id) ? id : "<id>"))).sort();
}

/** Graph's delta pages of `path` with `id` reported removed (soft-deleted) at the end of the first one. */
function removingFirst(path: string, id: string): HttpFetch {
  let removed = false;
  return async (url, init) => {
    const response = await httpFetch(url, init);
    if (removed || !url.includes(path) || !response.ok) return response;
    const body = (await response.json()) as { value: Record<string, unknown>[] };
    body.value.push({ id, "@removed": { reason: "changed" } });
    removed = true;
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
}

/**
 * Graph's delta pages of `path` with one object of the first page listed again at its end, as Graph may within a
 * round: the first one `pick` accepts.
 */
function repeatingFirst(path: string, pick: (o: Record<string, unknown>) => boolean = () => true): HttpFetch {
  let repeated = false;
  return async (url, init) => {
    const response = await httpFetch(url, init);
    if (repeated || !url.includes(path) || !response.ok) return response;
    const body = (await response.json()) as { value: Record<string, unknown>[] };
    const object = body.value.find(pick);
    if (object) body.value.push(structuredClone(object));
    repeated = true;
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
}
