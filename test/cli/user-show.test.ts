import { describe, expect, it } from "vitest";
import { describeUser } from "../../src/cli/commands/users.ts";
import type { User } from "../../src/domain/user.ts";

/** `rollcall users show` in text: every field a user has a value in, custom attributes as the mapping names them. */
describe("rollcall users show", () => {
  it("lists names, language and custom attributes too, and leaves out what is empty", () => {
    const user: User = {
      id: "u1", userPrincipalName: null, email: "ada@example.com", displayName: "Ada Lovelace", givenName: "Ada", surname: "Lovelace",
      department: null, jobTitle: null, employeeId: null, mobilePhone: null, businessPhones: [], preferredLanguage: "en-GB", enabled: true,
      aliases: [], cardNumbers: ["0042"], customAttributes: { office: "London" }, source: { type: "manual", name: "manual", externalId: null },
      tags: ["Manual"], groups: [], createdAt: "", updatedAt: "",
    };
    expect(describeUser(user).split("\n")).toEqual([
      "Ada Lovelace <ada@example.com>  enabled",
      "  id:          u1",
      '  source:      manual "manual"',
      "  tags:        Manual",
      "  given name:  Ada",
      "  surname:     Lovelace",
      "  language:    en-GB",
      "  cards:       0042",
      "  custom:office: London",
    ]);
  });

  it("lists the groups a user is in through nesting after their own, each with the groups it comes through", () => {
    const user = {
      id: "u2", userPrincipalName: null, email: "cy@example.com", displayName: "Cy", givenName: null, surname: null,
      department: null, jobTitle: null, employeeId: null, mobilePhone: null, businessPhones: [], preferredLanguage: null, enabled: true,
      aliases: [], cardNumbers: [], customAttributes: {}, source: { type: "manual", name: "manual", externalId: null } as const,
      tags: ["Manual"], groups: ["Day shift", "Night leads"], createdAt: "", updatedAt: "",
      nestedGroups: [{ name: "All staff", through: ["Day shift", "Night leads"] }, { name: "Night shift", through: ["Night leads"] }],
    };
    expect(describeUser(user).split("\n").slice(-2)).toEqual([
      "  groups:      Day shift, Night leads",
      "  nested in:   All staff (through Day shift, Night leads), Night shift (through Night leads)",
    ]);
    expect(describeUser({ ...user, nestedGroups: [] })).not.toContain("nested in");
  });
});
