import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { stagingRow } from "../../src/storage/queries/imports.ts";

// Migration 010: users and groups get time-ordered ids (UUID version 7), so bulk writes append to the
// user-keyed indexes instead of scattering over them; an import's new users too.
const version7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const pause = () => new Promise((resolve) => setTimeout(resolve, 3));

describe.each(engines)("time-ordered ids on %s", (engine) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(engine);
  });
  afterAll(() => store.dispose());

  it("gives new users and groups version 7 ids that sort in the order they were created", async () => {
    const ws = (await sql<{ id: string }>`select id from workspaces where name = 'default'`.execute(store.db)).rows[0]!.id;
    const users: string[] = [];
    const groups: string[] = [];
    for (let i = 0; i < 3; i++) {
      users.push((await sql<{ id: string }>`insert into users (workspace_id, display_name, source_type, source_name) values (${ws}, ${`U${i}`}, 'manual', 'manual') returning id`.execute(store.db)).rows[0]!.id);
      groups.push((await sql<{ id: string }>`insert into groups (workspace_id, name, source_type, source_name) values (${ws}, ${`G${i}`}, 'manual', 'manual') returning id`.execute(store.db)).rows[0]!.id);
      await pause();
    }
    for (const id of [...users, ...groups]) expect(id).toMatch(version7);
    expect([...users].sort()).toEqual(users);
    expect([...groups].sort()).toEqual(groups);
    // The first 48 bits are the creation time in milliseconds.
    const millis = parseInt(users[0]!.replace(/-/g, "").slice(0, 12), 16);
    expect(Math.abs(millis - Date.now())).toBeLessThan(60_000);
  });
});

it("stages an import's new users with version 7 ids, in row order", async () => {
  const ids: string[] = [];
  for (let row = 2; row < 5; row++) {
    ids.push(String(stagingRow("run", { row, email: `u${row}@example.com`, userPrincipalName: null, displayName: `U${row}` })[2]));
    await pause();
  }
  for (const id of ids) expect(id).toMatch(version7);
  expect([...ids].sort()).toEqual(ids);
});
