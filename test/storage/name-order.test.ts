import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { listUsers } from "../../src/core/users.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";

/** Names of a directory that spans Germany, Poland, Japan, Israel and the Arab world. */
const names = [
  "Zoë Adams", "Łukasz Nowak", "Lukas Berg", "Müller Hans", "Mueller Hans", "Muller Hans", "Ádám Kovács", "Adam Smith", "Ärzte Team",
  "Bernd", "Marek", "Ola", "Ösel", "Ślązak", "Sławek", "Szymon", "Żaneta", "Zenon", "さくら", "あおい", "サクラ", "田中", "דוד", "ليلى",
  "Émile", "Eva", "Straße", "Strasse", "Strauss",
];

describe.each(engines)("the users list's order by name on %s", (engine) => {
  let store: TestStore;
  let ctx: WorkspaceContext;
  beforeAll(async () => {
    store = await openTestStore(engine);
    const workspace = await createWorkspace(store.db, { name: "names" });
    ctx = { db: store.db, workspace, actor: "test" };
    await store.db
      .insertInto("users")
      .values(names.map((display_name, i) => ({ workspace_id: workspace.id, display_name, email: `u${i}@example.com`, custom_attributes: "{}", source_type: "manual", source_name: "manual" })))
      .execute();
  });
  afterAll(() => store?.dispose());

  it("sorts as the Unicode root collation does: accented letters beside their base letter, scripts in turn, kana in gojūon order", async () => {
    const sorted = async (order: "asc" | "desc") => (await listUsers(ctx, {}, { limit: 100, offset: 0, sort: "displayName", order })).items.map((u) => u.displayName);
    const ascending = await sorted("asc");
    expect(ascending).toEqual([...names].sort(new Intl.Collator("und").compare));
    // What an admin in Berlin, Warsaw or Tokyo looks for: not code-point order, which puts every accented name after Z.
    const before = (a: string, b: string) => expect(ascending.indexOf(a), `${a} before ${b}`).toBeLessThan(ascending.indexOf(b));
    before("Ärzte Team", "Bernd");
    before("Lukas Berg", "Łukasz Nowak");
    before("Łukasz Nowak", "Marek");
    before("Ösel", "Sławek");
    before("Sławek", "Ślązak");
    before("Müller Hans", "Ola");
    before("あおい", "さくら");
    before("Zoë Adams", "דוד");
    expect(await sorted("desc")).toEqual([...ascending].reverse());
  });
});
