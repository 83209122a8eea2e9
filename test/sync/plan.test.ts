import { describe, expect, it } from "vitest";
import { exceedsThreshold, planUsers, type HeldUser, type UserPlanInput } from "../../src/sync/plan.ts";
import { planGroups, isIgnored } from "../../src/sync/plan-groups.ts";
import { mapUser } from "../../src/sources/entra/mapping.ts";
import { retryDelay, defaultRetry } from "../../src/sources/entra/graph.ts";
import { entraConfigSchema, userSelect } from "../../src/sources/entra/config.ts";

const config = entraConfigSchema.parse({ tenantId: "contoso.onmicrosoft.com", clientId: "11111111-1111-1111-1111-111111111111", country: "US" });
const graphUser = (id: string, extra: Record<string, unknown> = {}) => ({
  id, userPrincipalName: `${id}@contoso.test`, mail: `${id}@contoso.com`, displayName: `User ${id}`, accountEnabled: true, userType: "Member",
  businessPhones: [], mobilePhone: null, ...extra,
});
const held = (id: string, over: Partial<HeldUser> = {}): HeldUser => {
  const m = mapUser(graphUser(id), config);
  const { warnings: _w, externalId: _e, pin: _p, ...fields } = m;
  return { ...fields, id: `u-${id}`, sourceId: "s1", sourceType: "entra", sourceName: "corp", externalId: id, tags: ["ID synced"], ...over };
};
const input = (over: Partial<UserPlanInput>): UserPlanInput => ({
  source: { id: "s1", name: "corp" }, desired: [], held: [], holders: [], claimed: new Set(), onRemove: "disable", linkByEmail: true,
  owned: { aliases: false, cardNumbers: false, customKeys: [] }, ...over,
});

describe("mapUser", () => {
  it("defaults email to mail, else userPrincipalName, and normalises phones, dropping bad ones with a warning", () => {
    const u = mapUser(graphUser("a", { mail: null, mobilePhone: "(206) 555-0100", businessPhones: ["n/a", "+44 20 7946 0000"] }), config);
    expect(u.email).toBe("a@contoso.test");
    expect(u.mobilePhone).toBe("+12065550100");
    expect(u.businessPhones).toEqual(["+442079460000"]);
    expect(u.warnings).toHaveLength(1);
    expect(u.warnings[0]).toMatch(/businessPhones/);
  });
  it("never takes a guest's #EXT# userPrincipalName as its email: otherMails, else none, without a warning", () => {
    const upn = "ada_example.com#EXT#@contoso.onmicrosoft.com";
    const guest = (extra: Record<string, unknown>) => mapUser(graphUser("g", { userType: "Guest", userPrincipalName: upn, mail: null, ...extra }), config);
    expect(guest({ otherMails: ["ada@example.com"] })).toMatchObject({ email: "ada@example.com", userPrincipalName: upn, warnings: [] });
    expect(guest({ otherMails: ["not an address", "ada@example.org"] }).email).toBe("ada@example.org");
    expect(guest({})).toMatchObject({ email: null, userPrincipalName: upn, warnings: [] });
    expect(guest({ mail: "ada@example.com" }).email).toBe("ada@example.com");
    expect(userSelect(config)).not.toContain("otherMails");
    expect(userSelect({ ...config, includeGuests: true })).toContain("otherMails");
  });
  it("keeps a phone number given with an extension, with a warning naming the extension it dropped", () => {
    const u = mapUser(graphUser("x", { mobilePhone: "(425) 555-0100 x123", businessPhones: ["+1 425 555 0199 ext. 42", "+44 20 7946 0000"] }), config);
    expect(u.mobilePhone).toBe("+14255550100");
    expect(u.businessPhones).toEqual(["+14255550199", "+442079460000"]);
    expect(u.warnings).toEqual([
      'businessPhones: "+1 425 555 0199 ext. 42" has the extension 42, which a phone number in E.164 cannot hold: kept +14255550199 without it',
      'mobilePhone: "(425) 555-0100 x123" has the extension 123, which a phone number in E.164 cannot hold: kept +14255550100 without it',
    ]);
  });
  it("warns when a mapped email is empty instead of leaving the user without one in silence", () => {
    const c = entraConfigSchema.parse({ ...config, mapping: { email: "onPremisesExtensionAttributes.extensionAttribute3" } });
    const without = mapUser(graphUser("e"), c);
    expect([without.email, without.warnings]).toEqual([null, ["email: onPremisesExtensionAttributes.extensionAttribute3 is empty in Entra, so this user has no email"]]);
    const mapped = mapUser(graphUser("f", { onPremisesExtensionAttributes: { extensionAttribute3: "badge.f@contoso.com" } }), c);
    expect([mapped.email, mapped.warnings]).toEqual(["badge.f@contoso.com", []]);
  });
  it("composes (NFC) what Graph gives decomposed, so an address matches the one an import or a form stored", () => {
    const nfd = (text: string) => text.normalize("NFD");
    const u = mapUser(graphUser("m", { mail: nfd("jürgen.müller@contoso.com"), displayName: nfd("Jürgen Müller"), surname: nfd("Müller"), businessPhones: [] }), config);
    expect([u.email, u.displayName, u.surname]).toEqual(["jürgen.müller@contoso.com", "Jürgen Müller", "Müller"]);
  });
  it("maps extension attributes to card numbers and custom attributes", () => {
    const c = entraConfigSchema.parse({ ...config, mapping: { cardNumbers: "onPremisesExtensionAttributes.extensionAttribute10", "custom:site": "officeLocation" } });
    const u = mapUser(graphUser("b", { officeLocation: "HQ", onPremisesExtensionAttributes: { extensionAttribute10: "4111111111111111" } }), c);
    expect(u.cardNumbers).toEqual(["4111111111111111"]);
    expect(u.customAttributes).toEqual({ site: "HQ" });
    expect(userSelect(c)).toEqual(expect.arrayContaining(["onPremisesExtensionAttributes", "officeLocation", "accountEnabled", "userType"]));
  });
});

describe("planUsers", () => {
  it("creates new users, leaves identical ones alone and updates changed ones with before and after", () => {
    const plan = planUsers(input({
      desired: [mapUser(graphUser("new"), config), mapUser(graphUser("same"), config), mapUser(graphUser("moved", { displayName: "Renamed" }), config)],
      held: [held("same"), held("moved")],
    }));
    expect(plan.counts).toMatchObject({ created: 1, unchanged: 1, updated: 1 });
    const update = plan.changes.find((c) => c.action === "update");
    expect(update).toMatchObject({ changed: ["displayName"], before: { displayName: "User moved" }, after: { displayName: "Renamed" } });
  });
  it("a holder whose new address is refused keeps its old one, and so does everyone down the chain (a given to b, b's to c)", () => {
    const addresses = (id: string) => ({ mail: `${id}@contoso.com`, userPrincipalName: `${id}@contoso.test` });
    const stuck = held("m", { enabled: false });
    const [a, b, c] = [held("a"), held("b"), held("c")];
    const desired = [mapUser(graphUser("a", addresses("m")), config), mapUser(graphUser("b", addresses("a")), config), mapUser(graphUser("c", addresses("b")), config)];
    const futureKeys = new Map(desired.map((d) => [`u-${d.externalId}`, [d.email!, d.userPrincipalName!]]));
    const plan = planUsers(input({ desired, held: [a, b, c], holders: [stuck, a, b, c], futureKeys }));
    expect(plan.changes.map((ch) => [ch.action, ch.externalId])).toEqual([["conflict", "a"], ["conflict", "b"], ["conflict", "c"]]);
    expect(plan.claims).toEqual([]);
    expect([...plan.kept.keys()]).toEqual(["u-a", "u-b", "u-c"]);
    // Planned in a chunk of its own (the user given its address in another), the holder still says what it keeps.
    const alone = planUsers(input({ desired: desired.slice(0, 1), held: [a], holders: [stuck] }));
    expect(alone.kept).toEqual(new Map([["u-a", ["a@contoso.com", "a@contoso.test"]]]));
  });
  it("counts a user's warnings as one, the one change-log entry that holds its messages", () => {
    const twice = mapUser(graphUser("w", { mobilePhone: "n/a", businessPhones: ["none"] }), config);
    expect(twice.warnings).toHaveLength(2);
    const plan = planUsers(input({ desired: [twice, mapUser(graphUser("v", { mobilePhone: "n/a" }), config), mapUser(graphUser("ok"), config)] }));
    expect(plan.counts.warnings).toBe(2);
    expect(plan.warnings.map((w) => [w.externalId, w.messages.length])).toEqual([["w", 2], ["v", 1]]);
  });
  it("disables or deletes users that left the scope and counts them as removals; keep releases them", () => {
    for (const [onRemove, action] of [["disable", "disable"], ["delete", "delete"], ["keep", "release"]] as const) {
      const plan = planUsers(input({ held: [held("gone")], onRemove }));
      expect(plan.changes[0]?.action).toBe(action);
      expect(plan.counts.removals).toBe(action === "release" ? 0 : 1);
      expect(plan.counts.released).toBe(action === "release" ? 1 : 0);
    }
  });
  it("a user soft-deleted in Entra (restorable) is only disabled, even under on-remove delete, saying so; keep still releases", () => {
    for (const [onRemove, action] of [["disable", "disable"], ["delete", "disable"], ["keep", "release"]] as const) {
      const plan = planUsers(input({ held: [held("oops")], onRemove, restorable: new Set(["oops"]) }));
      expect(plan.changes).toHaveLength(1);
      expect(plan.changes[0]?.action).toBe(action);
      if (action === "disable") expect(plan.changes[0]).toMatchObject({ reason: expect.stringMatching(/^deleted in Entra ID, restorable/) });
      expect(plan.counts).toMatchObject({ removals: action === "release" ? 0 : 1, disabled: action === "disable" ? 1 : 0, deleted: 0 });
    }
    // Already disabled: nothing to do, nothing to count against the threshold.
    const again = planUsers(input({ held: [held("oops", { enabled: false })], onRemove: "delete", restorable: new Set(["oops"]) }));
    expect([again.changes, again.counts.removals, again.counts.unchanged]).toEqual([[], 0, 1]);
  });
  it("a user restored in Entra ID is enabled saying so; one disabled for another reason gets the usual one", () => {
    const desired = [mapUser(graphUser("back"), config), mapUser(graphUser("other"), config)];
    const plan = planUsers(input({ desired, held: [held("back", { enabled: false }), held("other", { enabled: false })], restored: new Set(["back"]) }));
    expect(plan.changes.map((c) => [c.externalId, c.action === "update" && c.logAction, c.action === "update" && c.reason])).toEqual([
      ["back", "enable", "restored in Entra ID from deleted users, enabled there"],
      ["other", "enable", "Entra ID has the account enabled: a sync sets the status Entra ID has"],
    ]);
    // Restored with the account disabled: nothing to enable.
    const blocked = planUsers(input({ desired: [mapUser(graphUser("back", { accountEnabled: false }), config)], held: [held("back", { enabled: false })], restored: new Set(["back"]) }));
    expect(blocked.changes).toEqual([]);
  });
  it("counts users newly disabled in Entra as removals", () => {
    const plan = planUsers(input({ desired: [mapUser(graphUser("x", { accountEnabled: false }), config)], held: [held("x")] }));
    expect(plan.changes[0]).toMatchObject({ action: "update", logAction: "disable" });
    expect(plan.counts).toMatchObject({ disabled: 1, removals: 1 });
  });
  it("links a manual user with the same email instead of duplicating it", () => {
    const manual = held("m", { id: "manual-1", sourceId: null, sourceType: "manual", sourceName: "manual", externalId: null, tags: ["Manual", "vip"], displayName: "Old" });
    const plan = planUsers(input({ desired: [mapUser(graphUser("m"), config)], holders: [manual] }));
    expect(plan.changes[0]).toMatchObject({ action: "update", logAction: "link", userId: "manual-1", tags: ["ID synced", "vip"] });
    expect(planUsers(input({ desired: [mapUser(graphUser("m"), config)], holders: [manual], linkByEmail: false })).changes[0]?.action).toBe("conflict");
  });
  describe("users kept when their source was removed", () => {
    // Manual now, with the Entra object ID and the removed source's name (core/source-removal.ts).
    const kept = (id: string, over: Partial<HeldUser> = {}) => held(id, { id: `kept-${id}`, sourceId: null, sourceType: "manual", sourceName: "old-corp", tags: ["Manual", "vip"], ...over });
    it("are taken back by their Entra object ID, whatever their email became and even with linking by email off", () => {
      const plan = planUsers(input({ desired: [mapUser(graphUser("k", { mail: "new.name@contoso.com" }), config)], holders: [kept("k")], linkByEmail: false }));
      expect(plan.changes).toEqual([expect.objectContaining({ action: "update", logAction: "link", userId: "kept-k", changed: ["email"], tags: ["ID synced", "vip"] })]);
      expect(plan.counts).toMatchObject({ linked: 1, created: 0, conflicts: 0 });
      expect(plan.taken).toEqual(["kept-k"]);
    });
    it("are not linked by email to another Entra user while their own object takes them back", () => {
      // k's email went to j in Entra; k is in the same run, so the kept user is k's.
      const plan = planUsers(input({ desired: [mapUser(graphUser("j", { mail: "k@contoso.com" }), config), mapUser(graphUser("k", { mail: "k2@contoso.com" }), config)], holders: [kept("k")] }));
      expect(plan.changes.map((c) => [c.action, "userId" in c ? c.userId : c.externalId])).toEqual([["conflict", "j"], ["update", "kept-k"]]);
    });
    it("are linked once per run: a user an earlier chunk linked is a conflict for the next", () => {
      const manual = held("m", { id: "manual-1", sourceId: null, sourceType: "manual", sourceName: "manual", externalId: null, tags: ["Manual"] });
      const first = planUsers(input({ desired: [mapUser(graphUser("a", { mail: "m@contoso.com", userPrincipalName: "a@contoso.test" }), config)], holders: [manual] }));
      expect(first.changes[0]).toMatchObject({ action: "update", logAction: "link", userId: "manual-1" });
      // The manual user's UPN is m@contoso.test: b wants it as its UPN, in a later chunk.
      const second = planUsers(input({ desired: [mapUser(graphUser("b", { mail: "b@contoso.com", userPrincipalName: "m@contoso.test" }), config)], holders: [manual], taken: new Set(first.taken) }));
      expect(second.changes[0]).toMatchObject({ action: "conflict", message: expect.stringMatching(/links to another Entra user/) });
    });
  });
  it("reports a conflict when another Entra source already claims the email", () => {
    const other = held("z", { id: "other-1", sourceId: "s2", sourceName: "fabrikam" });
    const plan = planUsers(input({ desired: [mapUser(graphUser("z"), config)], holders: [other] }));
    expect(plan.changes[0]).toMatchObject({ action: "conflict" });
    expect((plan.changes[0] as { message: string }).message).toMatch(/fabrikam/);
    expect(plan.counts).toMatchObject({ conflicts: 1, skipped: 1, created: 0 });
  });
  it("a held user whose new address is another's keeps the old one until then, and the rest follows Entra ID: disabled there, disabled here", () => {
    const ada = held("ada", { email: "ada.old@contoso.com" });
    const other = held("z", { id: "other-1", sourceId: "s2", sourceName: "fabrikam", email: "ada@contoso.com" });
    const desired = mapUser(graphUser("ada", { mail: "ada@contoso.com", accountEnabled: false, department: "Research" }), config);
    const plan = planUsers(input({ desired: [desired], held: [ada], holders: [other] }));
    expect(plan.changes).toEqual([
      expect.objectContaining({ action: "conflict", holderId: "other-1", message: expect.stringMatching(/fabrikam.*; the user keeps "ada.old@contoso.com" and "ada@contoso.test" until then, and the rest of it is synced$/) }),
      expect.objectContaining({ action: "update", logAction: "disable", userId: "u-ada", changed: ["department", "enabled"], after: expect.objectContaining({ email: "ada.old@contoso.com", enabled: false, department: "Research" }) }),
    ]);
    expect(plan.counts).toMatchObject({ conflicts: 1, skipped: 0, disabled: 1, removals: 1 });
    expect(plan.claims, "the address it could not take stays free for its holder").toEqual([]);
    // Nothing else changed: the conflict alone, as before.
    const same = planUsers(input({ desired: [mapUser(graphUser("ada", { mail: "ada@contoso.com" }), config)], held: [ada], holders: [other] }));
    expect(same.changes.map((c) => c.action)).toEqual(["conflict"]);
    expect(same.counts).toMatchObject({ conflicts: 1, unchanged: 1, skipped: 0 });
  });
  it("does not let two users of one run claim the same email", () => {
    const plan = planUsers(input({ desired: [mapUser(graphUser("a", { mail: "x@contoso.com" }), config), mapUser(graphUser("b", { mail: "x@contoso.com" }), config)] }));
    expect(plan.changes.map((c) => c.action)).toEqual(["create", "conflict"]);
    expect(planUsers(input({ desired: [mapUser(graphUser("c", { mail: "x@contoso.com" }), config)], claimed: new Set(plan.claims) })).changes[0]?.action).toBe("conflict");
  });
});

describe("threshold, retry delay and groups", () => {
  it("stops only above both the percentage and the count", () => {
    expect(exceedsThreshold(21, 100, { percent: 10, count: 20 })).toBe(true);
    expect(exceedsThreshold(20, 100, { percent: 10, count: 20 })).toBe(false);
    expect(exceedsThreshold(25, 1000, { percent: 10, count: 20 })).toBe(false);
  });
  it("waits what Retry-After says in each of its forms, else backs off", () => {
    expect(retryDelay("2", 1, defaultRetry)).toBe(2000);
    expect(retryDelay("0.5", 1, defaultRetry)).toBe(500);
    expect(retryDelay("315", 1, defaultRetry)).toBe(315_000); // as Graph has asked; retrying sooner extends the throttling
    expect(retryDelay("3600", 1, defaultRetry)).toBe(600_000);
    expect(retryDelay(new Date(10_000 + 3000).toUTCString(), 1, defaultRetry, 10_000)).toBeGreaterThan(1000);
    const backoff = retryDelay(null, 3, defaultRetry, 0, () => 0.5);
    expect(backoff).toBe(1500);
  });
  it("plans group creates, renames, deletes and name conflicts; ignores by name and contains", () => {
    const group = (name: string) => ({ name, externalId: "0d5e7a2c-1f3b-4c8d-9e6f-7a8b9c0d1e2f" });
    expect(isIgnored(group("All Staff"), { ignore: ["all staff"], ignoreContaining: [] })).toBe(true);
    expect(isIgnored(group("All Staff"), { ignore: ["0d5e7a2c-1f3b-4c8d-9e6f-7a8b9c0d1e2f"], ignoreContaining: [] })).toBe(true);
    expect(isIgnored(group("All Staff 2"), { ignore: ["All Staff"], ignoreContaining: [] })).toBe(false);
    expect(isIgnored(group("Project TEMP x"), { ignore: [], ignoreContaining: ["temp"] })).toBe(true);
    const plan = planGroups({
      desired: [{ externalId: "g1", name: "Sales", description: null }, { externalId: "g2", name: "Ops 2", description: null }, { externalId: "g3", name: "Manual", description: null }],
      held: [{ id: "h2", externalId: "g2", name: "Ops", description: null }, { id: "h4", externalId: "g4", name: "Old", description: null }],
      otherNames: new Set(["manual"]),
    });
    expect(plan.changes.map((c) => c.action)).toEqual(["delete", "update", "create", "conflict"]);
  });
  it("says which group holds a name a group cannot have, and what becomes of the group", () => {
    const plan = planGroups({
      desired: [{ externalId: "g1", name: "Sales", description: null }, { externalId: "g2", name: "sales", description: null }, { externalId: "g3", name: "Manual", description: null }, { externalId: "g4", name: "Sales", description: null }],
      held: [{ id: "h4", externalId: "g4", name: "Sales EU", description: null }],
      otherNames: new Set(["manual"]),
    });
    const messages = Object.fromEntries(plan.changes.filter((c) => c.action === "conflict").map((c) => [c.externalId, c.action === "conflict" ? c.message : ""]));
    expect(messages).toEqual({
      g2: '"sales" is the name of another Entra ID group of this source (object ID g1); this Entra ID group (object ID g2) is not synced until one of them is renamed',
      g3: '"Manual" is the name of a group of this workspace that does not come from this source (added by hand, imported or synced from another source); this Entra ID group (object ID g3) is not synced until one of them is renamed',
      g4: 'renamed in Entra ID to "Sales", the name of another Entra ID group of this source (object ID g1); it keeps its name "Sales EU" until one of them is renamed',
    });
    expect(plan.counts).toMatchObject({ groupsCreated: 1, groupsUpdated: 0, groupsUnchanged: 0, groupConflicts: 3 });
  });
  it("takes back a group kept when its source was removed, by object ID, renamed or not", () => {
    const plan = planGroups({
      desired: [{ externalId: "g1", name: "Sales", description: null }, { externalId: "g2", name: "Ops EU", description: null }],
      held: [],
      formers: [{ id: "k1", externalId: "g1", name: "Sales", description: null }, { id: "k2", externalId: "g2", name: "Ops", description: null }],
      otherNames: new Set(["marketing"]),
    });
    expect(plan.changes).toEqual([
      expect.objectContaining({ action: "update", id: "k1", name: "Sales", link: true }),
      expect.objectContaining({ action: "update", id: "k2", name: "Ops EU", link: true, before: expect.objectContaining({ name: "Ops" }) }),
    ]);
    expect(plan.counts).toMatchObject({ groupsCreated: 0, groupsUpdated: 2, groupConflicts: 0 });
  });
});
