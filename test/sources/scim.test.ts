import { describe, expect, it } from "vitest";
import { RollcallError } from "../../src/errors.ts";
import { applyPatch, parsePatch, parsePath } from "../../src/sources/scim/patch.ts";
import { parseFilter } from "../../src/sources/scim/filter.ts";
import { scimBoolean, scimErrorBody } from "../../src/sources/scim/protocol.ts";
import { userFromScim } from "../../src/sources/scim/resources.ts";

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const patch = (resource: Record<string, unknown>, ...Operations: unknown[]) => applyPatch(resource, parsePatch({ Operations }));
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return scimErrorBody(error as RollcallError);
  }
  throw new Error("not refused");
};

/** SCIM PATCH and filters as Entra ID's provisioning service sends them (the Known issues page's list among them). */
describe("SCIM PATCH", () => {
  it("takes Entra ID's capitalised ops and paths with value filters, creating the entry a filter names", () => {
    const user = { userName: "pat@x.example", emails: [{ type: "work", value: "old@x.example", primary: true }], name: { givenName: "Pat" } };
    expect(patch(user, { op: "Replace", path: 'emails[type eq "work"].value', value: "new@x.example" }, { op: "Add", path: 'phoneNumbers[type eq "mobile"].value', value: "+4915123456789" })).toEqual({
      ...user,
      emails: [{ type: "work", value: "new@x.example", primary: true }],
      phoneNumbers: [{ type: "mobile", value: "+4915123456789" }],
    });
    expect(user.emails[0]!.value).toBe("old@x.example"); // the argument is left as it was
  });

  it("applies an operation without a path whose value holds paths and the enterprise extension", () => {
    const patched = patch({ active: true, name: { givenName: "Pat" } }, { op: "replace", value: { active: "False", "name.familyName": "Lee", [enterprise]: { department: "Research" } } });
    expect(patched).toEqual({ active: "False", name: { givenName: "Pat", familyName: "Lee" }, [enterprise]: { department: "Research" } });
    expect(patch({}, { op: "Replace", path: `${enterprise}:employeeNumber`, value: "E-1" })).toEqual({ [enterprise]: { employeeNumber: "E-1" } });
  });

  it("applies the Known issues page's requests with and without the aadOptscim062020 flag as printed", () => {
    const user = { userName: "u@x.example", displayName: "Old", emails: [{ type: "work", value: "old@x.example", primary: true }], name: { givenName: "Old", familyName: "Name" }, externalId: "e", active: true };
    const flagged = patch(user,
      { op: "replace", path: 'emails[type eq "work"].value', value: "TestMhvaes@test.microsoft.com" },
      { op: "replace", value: { displayName: "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua", [`${enterprise}:employeeNumber`]: "Aklq" } });
    expect(flagged).toEqual({ ...user, displayName: "Bjfe", emails: [{ type: "work", value: "TestMhvaes@test.microsoft.com", primary: true }], name: { givenName: "Kkom", familyName: "Unua" }, [enterprise]: { employeeNumber: "Aklq" } });
    expect(userFromScim(flagged, null).fields).toMatchObject({ displayName: "Bjfe", email: "TestMhvaes@test.microsoft.com", givenName: "Kkom", surname: "Unua", employeeId: "Aklq" });
    const unflagged = patch(user,
      { op: "Replace", path: "externalId", value: "Eqpj" },
      { op: "Replace", path: `${enterprise}:employeeNumber`, value: "Eqpj" },
      { op: "Add", path: "nickName", value: "Babs" },
      { op: "Replace", path: "active", value: "False" });
    expect(userFromScim(unflagged, null)).toMatchObject({ externalId: "Eqpj", fields: { employeeId: "Eqpj", enabled: false }, problems: [] });
  });

  it("adds members once, and removes them by a value list or a value filter", () => {
    const group = { displayName: "Pilots", members: [{ value: "a" }] };
    const added = patch(group, { op: "Add", path: "members", value: [{ $ref: null, value: "a" }, { value: "b" }, { value: "c" }] });
    expect(added.members).toEqual([{ value: "a" }, { value: "b" }, { value: "c" }]);
    expect(patch(added, { op: "Remove", path: "members", value: [{ value: "B" }] }).members).toEqual([{ value: "a" }, { value: "c" }]);
    expect(patch(added, { op: "remove", path: 'members[value eq "c"]' }).members).toEqual([{ value: "a" }, { value: "b" }]);
    expect(patch(added, { op: "remove", path: "members" }).members).toBeUndefined();
  });

  it("refuses an unknown op, a remove without a path and a path it cannot read, naming the operation", () => {
    expect(refusal(() => parsePatch({ Operations: [{ op: "Move", path: "active" }] }))).toMatchObject({ status: "400", scimType: "invalidSyntax", detail: expect.stringContaining("Operations[0].op must be add, replace or remove") });
    expect(refusal(() => parsePatch({ operations: [] }))).toMatchObject({ scimType: "invalidSyntax" });
    expect(refusal(() => patch({}, { op: "remove" }))).toMatchObject({ scimType: "noTarget" });
    expect(refusal(() => parsePath('emails[type co "work"]'))).toMatchObject({ scimType: "invalidPath" });
    expect(refusal(() => parsePath("urn:example:unknown:attr"))).toMatchObject({ scimType: "invalidPath" });
  });
});

describe("SCIM filters and values", () => {
  it("reads equality on the attributes a resource type supports, in any case, with escaped quotes", () => {
    expect(parseFilter('userName eq "Test_User_1"', ["userName", "externalId"])).toEqual([{ attribute: "userName", value: "Test_User_1" }]);
    expect(parseFilter('USERNAME Eq "a \\"b\\""', ["userName"])).toEqual([{ attribute: "userName", value: 'a "b"' }]);
    expect(refusal(() => parseFilter('title eq "x"', ["userName", "externalId"]))).toMatchObject({ scimType: "invalidFilter", detail: 'filter on "title" is not supported: give one of userName eq "…", externalId eq "…", joined by "and"' });
    expect(refusal(() => parseFilter('userName sw "x"', ["userName"]))).toMatchObject({ scimType: "invalidFilter", detail: expect.stringContaining('filter operator "sw" is not supported (only eq is)') });
  });

  it("reads the forms the Entra ID documentation shows: and, a value filter in the path, a schema URN, a bare value", () => {
    const users = ["userName", "externalId", "id", 'emails[type eq "work"].value', "manager"];
    // "Microsoft Entra-only uses the following operators: eq, and"; an older job checks a manager as id and manager.
    expect(parseFilter('id eq "u-1" and manager eq "m-2"', users)).toEqual([{ attribute: "id", value: "u-1" }, { attribute: "manager", value: "m-2" }]);
    expect(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "m" AND userName eq "x and y"', users)).toEqual([{ attribute: "manager", value: "m" }, { attribute: "userName", value: "x and y" }]);
    // Any attribute users are unique by must be filterable: the tutorial's example is the work email.
    expect(parseFilter('emails[type eq "work"].value eq "Pat@x.example"', users)).toEqual([{ attribute: 'emails[type eq "work"].value', value: "Pat@x.example" }]);
    expect(parseFilter('emails[ TYPE eq "work" ].VALUE eq "p@x.example"', users)[0]!.attribute).toBe('emails[type eq "work"].value');
    // The sample code's query, a mailNickname without quotes.
    expect(parseFilter("externalId eq jyoung", users)).toEqual([{ attribute: "externalId", value: "jyoung" }]);
    expect(refusal(() => parseFilter('userName eq "a" or userName eq "b"', users))).toMatchObject({ scimType: "invalidFilter", detail: expect.stringContaining('uses "or", which Entra ID never sends') });
    expect(refusal(() => parseFilter('userName eq "a" and', users))).toMatchObject({ scimType: "invalidFilter" });
    expect(refusal(() => parseFilter("title pr", users))).toMatchObject({ scimType: "invalidFilter", detail: expect.stringContaining('filter "title pr" is not supported') });
  });

  it("reads Entra ID's string booleans", () => {
    expect([true, false, "True", "False", " true ", "FALSE"].map(scimBoolean)).toEqual([true, false, true, false, true, false]);
    expect([undefined, "yes", 1].map(scimBoolean)).toEqual([undefined, undefined, undefined]);
  });

  it("maps a user: a userName that is no address is kept apart, phones read in the country, bad ones left out with a warning", () => {
    const input = userFromScim({ userName: "Test_User_1", emails: [{ type: "other", value: "o@x.example" }, { type: "work", value: "w@x.example" }], phoneNumbers: [{ type: "work", value: "030 1234567" }, { type: "mobile", value: "n/a" }, { type: "fax", value: "1" }], [enterprise]: { employeeNumber: "7" } }, "DE");
    expect(input.fields).toMatchObject({ userPrincipalName: null, email: "w@x.example", displayName: "Test_User_1", businessPhones: ["+49301234567"], mobilePhone: null, employeeId: "7", enabled: true });
    expect(input.otherUserName).toBe("Test_User_1");
    expect(input.warnings.map((w) => w.field)).toEqual(['phoneNumbers[type eq "mobile"].value']);
    expect(userFromScim({ userName: "pat@x.example", active: "False" }, null).fields).toMatchObject({ userPrincipalName: "pat@x.example", enabled: false });
    expect(userFromScim({ displayName: "x".repeat(300), active: 1 }, null).problems.map((p) => p.field)).toEqual(["userName", "active", "displayName"]);
  });
});
