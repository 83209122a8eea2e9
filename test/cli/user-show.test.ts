import { describe, expect, it } from "vitest";
import { describeUser } from "../../src/cli/commands/users.ts";
import type { User } from "../../src/domain/user.ts";
import type { StatusChange } from "../../src/domain/user-status.ts";

/** `rollcall users show` in text: every field a user has a value in, custom attributes as the mapping names them. */
describe("rollcall users show", () => {
  it("lists names, language and custom attributes too, and leaves out what is empty", () => {
    const user: User = {
      id: "u1", userPrincipalName: null, email: "ada@example.com", displayName: "Ada Lovelace", givenName: "Ada", surname: "Lovelace",
      department: null, jobTitle: null, employeeId: null, mobilePhone: null, businessPhones: [], preferredLanguage: "en-GB", enabled: true,
      aliases: [], cardNumbers: ["0042"], customAttributes: { office: "London" }, source: { type: "manual", name: "manual", externalId: null },
      tags: ["Manual"], groups: [], manager: null, createdAt: "", updatedAt: "",
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
      tags: ["Manual"], groups: ["Day shift", "Night leads"], manager: null, createdAt: "", updatedAt: "",
      nestedGroups: [{ name: "All staff", through: ["Day shift", "Night leads"] }, { name: "Night shift", through: ["Night leads"] }],
    };
    expect(describeUser(user).split("\n").slice(-2)).toEqual([
      "  groups:      Day shift, Night leads",
      "  nested in:   All staff (through Day shift, Night leads), Night shift (through Night leads)",
    ]);
    expect(describeUser({ ...user, nestedGroups: [] })).not.toContain("nested in");
  });

  it("says who gave a user their status, when and why, and what the next sync of their source makes of it", () => {
    const anna: User = {
      id: "u2", userPrincipalName: "anna@contoso.com", email: "anna@contoso.com", displayName: "Anna Kowalska", givenName: null, surname: null,
      department: null, jobTitle: null, employeeId: null, mobilePhone: null, businessPhones: [], preferredLanguage: null, enabled: false,
      aliases: [], cardNumbers: [], customAttributes: {}, source: { type: "entra", name: "contoso", externalId: "e2" }, tags: ["ID synced"], groups: [], manager: null, createdAt: "", updatedAt: "",
    };
    const bySync: StatusChange = { enabled: false, action: "disable", at: "2026-12-07T03:07:03.613Z", actor: "ops@contoso.com", runId: "r1", syncSource: "contoso", reason: "Entra ID has the account disabled (sign-in blocked there)" };
    expect(describeUser({ ...anna, statusChange: bySync }).split("\n").slice(0, 3)).toEqual([
      "Anna Kowalska <anna@contoso.com>  DISABLED",
      "  status:      Disabled by the sync of contoso on 2026-12-07T03:07:03.613Z: Entra ID has the account disabled (sign-in blocked there) (run r1).",
      "  next sync:   Enabling them here lasts only until the next sync of contoso, which disables them again while Entra ID has the account disabled or outside the source's scope: enable the account in Entra ID.",
    ]);
    const byHand: StatusChange = { ...bySync, enabled: true, action: "enable", actor: "helpdesk@contoso.com", runId: null, syncSource: null, reason: null };
    expect(describeUser({ ...anna, enabled: true, statusChange: byHand }).split("\n").slice(1, 3)).toEqual([
      "  status:      Enabled by helpdesk@contoso.com on 2026-12-07T03:07:03.613Z.",
      "  next sync:   The next sync of contoso sets the status Entra ID has: if the account is disabled there, or outside the source's scope, it disables them again. Enable the account in Entra ID to make this last.",
    ]);
    const conflict = { message: '"anna@contoso.com" is already synced by Entra ID source "contoso" (user u2), which reads the same tenant', at: "2026-12-07T03:08:09.463Z", runId: "r2", syncSource: "contoso-eu" };
    expect(describeUser({ ...anna, statusChange: bySync, openConflict: conflict }).split("\n")[3]).toBe(
      '  conflict:    "anna@contoso.com" is already synced by Entra ID source "contoso" (user u2), which reads the same tenant (run r2, 2026-12-07T03:08:09.463Z)',
    );
    // A status from an older log than the user's (or none): nothing said rather than something wrong.
    expect(describeUser({ ...anna, enabled: true, statusChange: bySync }).split("\n")[1]).toBe("  next sync:   The next sync of contoso sets the status Entra ID has.");
  });
});
