import { describe, expect, it } from "vitest";
import { userFieldsSchema, withinFieldLimits } from "../../src/domain/user.ts";

const schema = userFieldsSchema.partial();
const textFields = ["userPrincipalName", "email", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId", "mobilePhone", "preferredLanguage"];
const listFields = ["businessPhones", "aliases", "cardNumbers", "tags"];

/** Values around every limit the schema has: at it, one past it, empty, blank, padded, of another type. */
function candidates(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const field of textFields) {
    for (let n = 0; n <= 300; n += n < 30 ? 1 : n < 250 ? 7 : 1) out.push({ displayName: "Ada", [field]: "x".repeat(n) });
    out.push({ displayName: "Ada", [field]: null }, { displayName: "Ada", [field]: "  " }, { displayName: "Ada", [field]: ` ${"x".repeat(35)} ` }, { displayName: "Ada", [field]: 12 });
  }
  for (const field of listFields) {
    for (let n = 0; n <= 60; n++) out.push({ displayName: "Ada", [field]: Array.from({ length: n }, (_, i) => `e${i}`) });
    for (const length of [0, 1, 63, 64, 65, 127, 128, 129, 253, 254, 255]) out.push({ displayName: "Ada", [field]: ["x".repeat(length)] });
    out.push({ displayName: "Ada", [field]: [" "] }, { displayName: "Ada", [field]: "e1" }, { displayName: "Ada", [field]: [1] });
  }
  for (const length of [63, 64, 65]) out.push({ displayName: "Ada", customAttributes: { ["k".repeat(length)]: "v" } });
  for (const length of [4095, 4096, 4097]) out.push({ displayName: "Ada", customAttributes: { site: "v".repeat(length) } });
  out.push({ displayName: "Ada", customAttributes: { site: 1 } }, { displayName: "Ada", enabled: "yes" }, { displayName: "Ada", enabled: false });
  out.push({ displayName: "Ada", pin: "1234" }, { displayName: "Ada", pin: 1234 }, { displayName: "Ada", nickname: "x" }, { email: "a@b.co" });
  return out;
}

describe("withinFieldLimits", () => {
  it("vouches only for values the schema accepts, and for most of them", () => {
    let vouched = 0;
    let accepted = 0;
    for (const fields of candidates()) {
      const ok = schema.safeParse(fields).success;
      if (ok) accepted++;
      if (withinFieldLimits(fields)) {
        vouched++;
        expect({ fields, ok }).toEqual({ fields, ok: true });
      }
    }
    // Not a check that always says no: it vouches for nearly every value the schema accepts.
    expect(vouched).toBeGreaterThan(accepted * 0.9);
  });

  it("vouches for a typical imported row", () => {
    const row = { email: "ada@example.com", displayName: "Ada Lovelace", givenName: "Ada", surname: "Lovelace", department: "R&D", mobilePhone: "+447911123456", cardNumbers: ["000123"], enabled: true };
    expect(withinFieldLimits(row)).toBe(true);
    expect(withinFieldLimits({ ...row, displayName: null })).toBe(false);
  });
});
