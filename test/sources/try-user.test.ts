import { describe, expect, it } from "vitest";
import { entraConfigSchema } from "../../src/sources/entra/config.ts";
import { describeMapping, hiddenPin } from "../../src/sources/entra/try-user.ts";

/** describeMapping: the sync's mapper's answer, with where each field came from and the PIN's property hidden. */
describe("trying a mapping on one Graph user", () => {
  const config = (mapping: Record<string, string>, extra: Record<string, unknown> = {}) =>
    entraConfigSchema.parse({ tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001", mapping, ...extra });

  it("hides a PIN mapped from a top-level property, and says only whether one would be set", () => {
    const tried = describeMapping({ id: "u1", userPrincipalName: "ada@contoso.com", employeeId: "8642" }, config({ pin: "employeeId" }));
    expect(tried.user.pin).toBe("set");
    expect(tried.graph.employeeId).toBe(hiddenPin);
    // employeeId reads employeeId by default: the PIN would be stored in plain text there, which the try says.
    expect(tried.user.employeeId).toBe(hiddenPin);
    expect(tried.warnings).toEqual(["employeeId: reads employeeId, which the PIN is mapped from too, so a sync would store the PIN in plain text in employeeId: map the PIN from a property no other field reads"]);
    expect(JSON.stringify(tried)).not.toContain("8642");
    const bad = describeMapping({ id: "u1", userPrincipalName: "ada@contoso.com", employeeId: "12ab" }, config({ pin: "employeeId" }));
    expect(bad.user.pin).toBe("not set");
    expect(bad.warnings[0]).toBe("pin: the mapped value is not 4 to 12 digits; ignored");
    expect(JSON.stringify(bad)).not.toContain("12ab");
  });

  it("never quotes the PIN in a warning about another field reading its property", () => {
    const tried = describeMapping({ id: "u1", userPrincipalName: "ada@contoso.com", onPremisesExtensionAttributes: { extensionAttribute3: "97531" } },
      config({ pin: "onPremisesExtensionAttributes.extensionAttribute3", mobilePhone: "onPremisesExtensionAttributes.extensionAttribute3", "custom:badge": "onPremisesExtensionAttributes.extensionAttribute3" }));
    expect(tried.user).toMatchObject({ pin: "set", mobilePhone: null, customAttributes: { badge: hiddenPin } });
    expect(tried.warnings).toEqual([
      expect.stringMatching(/^mobilePhone: "\(hidden: mapped to the PIN\)" is not a phone number/),
      expect.stringMatching(/^mobilePhone: reads onPremisesExtensionAttributes\.extensionAttribute3, which the PIN is mapped from too/),
      expect.stringMatching(/^customAttributes\.badge: reads onPremisesExtensionAttributes\.extensionAttribute3/),
    ]);
    expect(JSON.stringify(tried)).not.toContain("97531");
  });

  it("has no pin field when the source maps none", () => {
    const tried = describeMapping({ id: "u1", userPrincipalName: "ada@contoso.com" }, config({}));
    expect(tried.user).not.toHaveProperty("pin");
    expect(tried.origins).not.toHaveProperty("pin");
  });

  it("says which property gave a default email: mail, the UPN, or a guest's otherMails", () => {
    const guest = { id: "g1", userType: "Guest", userPrincipalName: "bo_example.org#EXT#@contoso.com", mail: null, otherMails: ["bo@example.org"] };
    expect(describeMapping(guest, config({}, { includeGuests: true })).origins.email).toBe("otherMails");
    expect(describeMapping({ id: "u1", userPrincipalName: "cy@contoso.com", mail: null }, config({})).origins.email).toBe("userPrincipalName");
    expect(describeMapping({ id: "u1", userPrincipalName: "cy@contoso.com", mail: "cy@example.com" }, config({})).origins.email).toBe("mail");
    expect(describeMapping({ id: "u1", userPrincipalName: "cy@contoso.com", employeeId: null }, config({ email: "employeeId" }))).toMatchObject({
      user: { email: null }, origins: { email: "employeeId" }, warnings: ["email: employeeId is empty in Entra, so this user has no email"],
    });
  });
});
