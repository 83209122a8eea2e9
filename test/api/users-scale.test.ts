import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { signIn, testApi, type Caller, type TestApi } from "./support.ts";

const count = 100_000;

interface Seeded {
  id: string;
  email: string;
  displayName: string;
  enabled: boolean;
  tags: string[];
  source: string;
  nightShift: boolean;
}

describe.each(engines)("listing 100,000 users on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const users: Seeded[] = [];

  beforeAll(async () => {
    api = await testApi(engine, { config: { loginAttempts: 1000 } });
    const workspace = await resolveWorkspace(api.store.db, "default");
    for (let i = 0; i < count; i++) {
      const n = String(i).padStart(6, "0");
      users.push({
        id: randomUUID(),
        email: `user-${n}@corp.example`,
        displayName: `Person ${n}`,
        enabled: i % 5 !== 0,
        tags: i % 3 === 0 ? ["Imported", "north"] : ["Imported"],
        source: i % 2 ? "hr.csv" : "payroll.xlsx",
        nightShift: i % 10 === 0,
      });
    }
    const started = performance.now();
    await api.store.copyRows(
      "users",
      ["id", "workspace_id", "email", "display_name", "enabled", "source_type", "source_name", "tags"],
      users.map((u) => [u.id, workspace.id, u.email, u.displayName, u.enabled, "import", u.source, `{${u.tags.join(",")}}`]),
    );
    const group = await api.store.db
      .insertInto("groups")
      .values({ workspace_id: workspace.id, name: "Night shift", source_type: "import", source_name: "hr.csv" })
      .returning("id")
      .executeTakeFirstOrThrow();
    await api.store.copyRows(
      "group_members",
      ["workspace_id", "group_id", "member_user_id"],
      users.filter((u) => u.nightShift).map((u) => [workspace.id, group.id, u.id]),
    );
    await sql`ANALYZE`.execute(api.store.db);
    console.log(`[${engine}] seeded ${count} users in ${Math.round(performance.now() - started)} ms`);
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
  }, 300_000);
  afterAll(() => api?.close());

  async function timed(url: string) {
    const started = performance.now();
    const reply = await as("GET", url);
    console.log(`[${engine}] GET ${url}: ${Math.round(performance.now() - started)} ms`);
    expect(reply.status, JSON.stringify(reply.body).slice(0, 300)).toBe(200);
    return reply.body;
  }

  it("answers a filtered, searched, sorted page with the right users and total", async () => {
    const expected = users
      .filter((u) => u.email.includes("user-04") && u.enabled && u.tags.includes("north") && u.source === "hr.csv" && u.nightShift === false)
      .sort((a, b) => (a.email < b.email ? 1 : -1));
    const url = "workspaces/default/users?q=USER-04&enabled=true&tag=north&source=hr.csv&sourceType=import&sort=email&order=desc&limit=25&offset=10";
    const body = await timed(url);
    expect(body.total).toBe(expected.length);
    expect(body.items.map((u: { email: string }) => u.email)).toEqual(expected.slice(10, 35).map((u) => u.email));
    expect(body.items[0]).toMatchObject({ source: { type: "import", name: "hr.csv" }, tags: ["Imported", "north"], groups: [], enabled: true });
  });

  it("answers group-filtered and unfiltered pages", async () => {
    const inGroup = users.filter((u) => u.nightShift && !u.enabled).sort((a, b) => (a.displayName < b.displayName ? -1 : 1));
    const grouped = await timed("workspaces/default/users?group=night%20shift&enabled=false&limit=10");
    expect(grouped.total).toBe(inGroup.length);
    expect(grouped.items.map((u: { id: string }) => u.id)).toEqual(inGroup.slice(0, 10).map((u) => u.id));
    expect(grouped.items[0].groups).toEqual(["Night shift"]);

    const last = await timed("workspaces/default/users?limit=500&offset=99900");
    expect(last.total).toBe(count);
    expect(last.items).toHaveLength(100);
    expect(last.items.at(-1).displayName).toBe("Person 099999");
    expect(last.next).toBeNull();

    // The same page by cursor: where the page before it ended.
    const before = await timed("workspaces/default/users?limit=1&offset=99899");
    const byCursor = await timed(`workspaces/default/users?limit=500&after=${before.next}`);
    expect(byCursor.items.map((u: { id: string }) => u.id)).toEqual(last.items.map((u: { id: string }) => u.id));
    expect(byCursor.next).toBeNull();
  });

  it("acts on the 10,000 users of a filter, and on all 100,000, in one request each; the answer lists 100 of them", async () => {
    let started = performance.now();
    const enabled = await as("POST", "workspaces/default/users/bulk", { action: "enable", filter: { group: "Night shift" } });
    console.log(`[${engine}] bulk enable of 10,000 users by filter: ${Math.round(performance.now() - started)} ms`);
    expect(enabled.body).toMatchObject({ changed: users.filter((u) => u.nightShift && !u.enabled).length, unchanged: users.filter((u) => u.nightShift && u.enabled).length, more: 9_900 });
    expect((await timed("workspaces/default/users?enabled=false&limit=1")).total).toBe(users.filter((u) => !u.enabled && !u.nightShift).length);

    started = performance.now();
    const everyone = await as("POST", "workspaces/default/users/bulk", { action: "disable", filter: {} });
    console.log(`[${engine}] bulk disable of 100,000 users by filter: ${Math.round(performance.now() - started)} ms, ${JSON.stringify(everyone.body).length} bytes answered`);
    const stillDisabled = users.filter((u) => !u.enabled && !u.nightShift).length;
    expect(everyone.body).toMatchObject({ changed: count - stillDisabled, unchanged: stillDisabled, more: count - 100 });
    expect(everyone.body.users).toHaveLength(100);
    expect((await timed("workspaces/default/users?enabled=true&limit=1")).total).toBe(0);
    const { rows } = await sql<{ action: string; n: number }>`select action, count(*)::int as n from change_log group by action order by action`.execute(api.store.db);
    expect(rows).toEqual([{ action: "disable", n: count - stillDisabled }, { action: "enable", n: enabled.body.changed }]);
  }, 120_000);
});
