import { describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { sourceSuite } from "../support/source-context.ts";
import { createEntraSource, updateEntraSource } from "../../src/core/sources.ts";

/**
 * A group both selected (--group-mode selected --groups) and ignored (--ignore-groups, --ignore-groups-containing)
 * would never be synced, silently: a run then deletes it with its members. Such settings are refused, naming both.
 */
describe.each(engines)("a selected group that the source also ignores (%s)", (engine) => {
  const suite = sourceSuite(engine);

  const base = { tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001" };
  const credential = { kind: "secret" as const, secret: "s" };

  it("is refused on add and on update, at the groups field", async () => {
    await expect(createEntraSource(suite.ctx, { name: "corp", credential, config: { ...base, groupMode: "selected", groups: ["Staff", "Sales"], ignoreGroups: ["sales"] } })).rejects.toMatchObject({
      code: "invalid_input",
      details: { fields: [{ field: "groups", message: '"Sales" is also ignored ("sales" in ignoreGroups), so it would not be synced: take it out of one of the two lists' }] },
    });
    await createEntraSource(suite.ctx, { name: "corp", credential, config: { ...base, groupMode: "selected", groups: ["Staff"], ignoreGroupsContaining: ["test"] } });
    await expect(updateEntraSource(suite.ctx, "corp", { config: { groups: ["Staff", "Test Lab"] } })).rejects.toMatchObject({
      code: "invalid_input",
      details: { fields: [{ field: "groups", message: '"Test Lab" is also ignored ("test" in ignoreGroupsContaining), so it would not be synced: take it out of one of the two lists' }] },
    });
    // Group mode all ignores what it likes; only a selection names groups to keep.
    await updateEntraSource(suite.ctx, "corp", { config: { groupMode: "all", ignoreGroups: ["Staff"] } });
  });
});
