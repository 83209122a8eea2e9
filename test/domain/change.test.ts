import { describe, expect, it } from "vitest";
import { actionLabel, changeKind, changeNotes, changedFields, fieldLabel, joinedGroups, replacedGroup, replacedUser } from "../../src/domain/change.ts";
import { changeDetails } from "../../src/cli/change-lines.ts";
import { describeActor } from "../../src/domain/actor.ts";

describe("change-log wording", () => {
  it("writes the groups a created user joined as a list cell: a name with a comma in it stays one group", () => {
    const change = { id: "1", at: "2026-12-04T00:00:00Z", actor: "cli", action: "create", kind: "create" as const, subject: "ada@example.com", runId: null, run: null, before: null, after: { groups: ["Sales, EMEA", "Ops"] } };
    expect(changeDetails(change, "  ")).toContain('  groups: "Sales, EMEA"; Ops');
  });

  it("names the deleted user a created one replaces first, then its groups; other entries name none", () => {
    const replaces = { id: "0b4c5a9e-1111-4222-8333-444455556666", deletedAt: "2026-12-01T09:30:00.000Z", deletedBy: "ops@contoso.test", source: "contoso" };
    const change = { id: "2", at: "2026-12-04T00:00:00Z", actor: "ops@contoso.test", action: "create", kind: "create" as const, subject: "carl@contoso.test", runId: "r", run: null, before: null, after: { displayName: "Carl", groups: ["Ops"], replaces } };
    expect(replacedUser(change)).toEqual(replaces);
    expect(changeDetails(change, "  ")).toEqual([
      `  replaces deleted user ${replaces.id}, deleted 2026-12-01T09:30:00.000Z by ops@contoso.test; their history: rollcall users history ${replaces.id}`,
      "  groups: Ops",
    ]);
    expect(replacedUser({ ...change, action: "update" })).toBeNull();
    expect(replacedUser({ ...change, after: { displayName: "Carl" } })).toBeNull();
  });

  it("names the deleted group a group a sync created replaces, and no user", () => {
    const replaces = { id: "7a1c5a9e-1111-4222-8333-444455556666", deletedAt: "2026-12-01T09:30:00.000Z", deletedBy: "sync:contoso", source: "contoso" };
    const change = { id: "3", at: "2026-12-04T00:00:00Z", actor: "sync:contoso", action: "create group", kind: "create group" as const, subject: "Pilots", runId: "r", run: null, before: null, after: { name: "Pilots", description: null, replaces } };
    expect(replacedGroup(change)).toEqual(replaces);
    expect(replacedUser(change)).toBeNull();
    expect(changeDetails(change, "  ")[0]).toBe(`  replaces deleted group ${replaces.id} (the same Entra group), deleted 2026-12-01T09:30:00.000Z by ${describeActor("sync:contoso")}`);
    expect(replacedGroup({ ...change, action: "create" })).toBeNull();
  });

  it("lists a sync update's changed fields only, by their labels' keys, with before and after", () => {
    const change = { action: "update", before: { department: "Sales", jobTitle: "Rep", updatedAt: "x" }, after: { department: "Finance", jobTitle: "Rep", changed: ["department"], externalId: "e1" } };
    expect(changedFields(change)).toEqual([{ field: "department", from: "Sales", to: "Finance" }]);
  });

  it("compares a source's settings one by one, nested values as JSON", () => {
    const change = {
      action: "update source",
      before: { config: { groupMode: "all", deletionThreshold: { percent: 10, count: 20 }, country: null } },
      after: { config: { groupMode: "selected", deletionThreshold: { percent: 10, count: 5 }, country: null }, secret: "replaced" },
    };
    expect(changedFields(change).map((f) => [fieldLabel(f.field), f.from, f.to])).toEqual([
      ["Setting: Group mode", "all", "selected"], ["Setting: Deletion threshold", "percent=10, count=20", "percent=10, count=5"], ["Secret", "(empty)", "replaced"],
    ]);
    expect(fieldLabel("config.ignoreGroupsContaining")).toBe("Setting: Ignore groups containing");
    expect(changedFields({ action: "add source", before: null, after: { config: { schedule: { everyMs: 3600000 } } } })[0]).toMatchObject({ to: "everyMs=3600000" });
  });

  it("compares custom attributes key by key, whatever their order, also within a sync's changed fields", () => {
    const change = { action: "update", before: { customAttributes: { a: "1", b: "2", c: "3" } }, after: { customAttributes: { c: "3", b: "2", a: "9", d: "4" } } };
    expect(changedFields(change).map((f) => [fieldLabel(f.field), f.from, f.to])).toEqual([["Custom attribute “a”", "1", "9"], ["Custom attribute “d”", "(empty)", "4"]]);
    const synced = { action: "update", before: { department: "Ops", customAttributes: { a: "1" } }, after: { department: "HR", customAttributes: {}, changed: ["customAttributes"] } };
    expect(changedFields(synced)).toEqual([{ field: "customAttributes.a", from: "1", to: "(empty)" }]);
  });

  it("reads warnings, conflicts and disables as words, not as fields", () => {
    const warning = { action: "warning", before: null, after: { messages: ["mobilePhone: \"12\" is not a valid number for US; dropped"], externalId: "e1" } };
    expect(changeNotes(warning)).toEqual(["mobilePhone: \"12\" is not a valid number for US; dropped"]);
    expect(changedFields(warning)).toEqual([]);
    const conflict = { action: "conflict", before: null, after: { message: "a group called \"Sales\" already exists", externalId: "g1" } };
    expect(changeNotes(conflict)).toEqual(["a group called \"Sales\" already exists"]);
    const disable = { action: "disable", before: { enabled: true }, after: { enabled: false, reason: "removed from Entra ID" } };
    expect(changeNotes(disable)).toEqual(["removed from Entra ID"]);
    expect(changedFields(disable)).toEqual([{ field: "enabled", from: "yes", to: "no" }]);
    // A sync's disable keeps the whole user before it: only what it wrote is shown, not every other field "emptied".
    const synced = { action: "disable", before: { email: "ada@example.com", displayName: "Ada", sourceType: "entra", enabled: true }, after: { enabled: false, reason: "out of scope" } };
    expect(changedFields(synced)).toEqual([{ field: "enabled", from: "yes", to: "no" }]);
  });

  it("names the groups a created user joined, and labels actions", () => {
    expect(joinedGroups({ action: "create", before: null, after: { email: "a@x", groups: ["Pilots", "Staff"] } })).toEqual(["Pilots", "Staff"]);
    expect(joinedGroups({ action: "update", before: null, after: { groups: ["Pilots"] } })).toEqual([]);
    expect(actionLabel("link")).toBe("Linked");
    expect(actionLabel("add to group Pilots & Crew")).toBe("Added to group Pilots & Crew");
    expect(actionLabel("remove from group")).toBe("Removed from group");
    expect(changeKind("add to group Pilots")).toBe("add to group");
    expect(changeKind("remove from group  Sales")).toBe("remove from group");
    // Only a verb followed by its group is a membership entry.
    expect(changeKind("add to groups")).toBe("add to groups");
    expect(changeKind("create group")).toBe("create group");
    expect(actionLabel("group.rename")).toBe("Group rename");
  });
});
