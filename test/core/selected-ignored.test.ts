import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createEntraSource, updateEntraSource, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";

/**
 * A group both selected (--group-mode selected --groups) and ignored (--ignore-groups, --ignore-groups-containing)
 * would never be synced, silently: a run then deletes it with its members. Such settings are refused, naming both.
 */
describe.each(engines)("a selected group that the source also ignores (%s)", (engine) => {
  let store: TestStore;
  let ctx: SourceContext;
  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test", secrets: secretBox(Buffer.alloc(32, 7)), entraCustomUrls: true };
  });
  afterAll(async () => store?.dispose());

  const base = { tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001" };
  const credential = { kind: "secret" as const, secret: "s" };

  it("is refused on add and on update, at the groups field", async () => {
    await expect(createEntraSource(ctx, { name: "corp", credential, config: { ...base, groupMode: "selected", groups: ["Staff", "Sales"], ignoreGroups: ["sales"] } })).rejects.toMatchObject({
      code: "invalid_input",
      details: { fields: [{ field: "groups", message: '"Sales" is also ignored ("sales" in ignoreGroups), so it would not be synced: take it out of one of the two lists' }] },
    });
    await createEntraSource(ctx, { name: "corp", credential, config: { ...base, groupMode: "selected", groups: ["Staff"], ignoreGroupsContaining: ["test"] } });
    await expect(updateEntraSource(ctx, "corp", { config: { groups: ["Staff", "Test Lab"] } })).rejects.toMatchObject({
      code: "invalid_input",
      details: { fields: [{ field: "groups", message: '"Test Lab" is also ignored ("test" in ignoreGroupsContaining), so it would not be synced: take it out of one of the two lists' }] },
    });
    // Group mode all ignores what it likes; only a selection names groups to keep.
    await updateEntraSource(ctx, "corp", { config: { groupMode: "all", ignoreGroups: ["Staff"] } });
  });
});
