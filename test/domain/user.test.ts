import { describe, expect, it } from "vitest";
import { normaliseUserFields, userFieldsSchema, withinFieldLimits } from "../../src/domain/user.ts";

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

describe("normaliseUserFields", () => {
  it("composes (NFC) names, addresses, aliases and tags given decomposed (NFD), as a Mac's export writes them", () => {
    const nfd = (text: string) => text.normalize("NFD");
    const { value, problems } = normaliseUserFields(
      { displayName: nfd("Jürgen Müller"), givenName: nfd("Jürgen"), surname: nfd("Müller"), email: nfd("jürgen@bücher.de"), department: nfd("Qualitätssicherung"), aliases: [nfd("jü")], tags: [nfd("Zespół")] },
      "DE",
    );
    expect(problems).toEqual([]);
    expect(value).toMatchObject({ displayName: "Jürgen Müller", givenName: "Jürgen", surname: "Müller", email: "jürgen@bücher.de", department: "Qualitätssicherung", aliases: ["jü"], tags: ["Zespół"] });
  });

  it("takes internationalised addresses as written, Unicode or Punycode, and says why one is refused", () => {
    for (const email of ["user@bücher.de", "user@xn--bcher-kva.de", "jürgen.müller@example.de", "山田@例え.jp", "דוד@example.co.il"]) {
      expect(normaliseUserFields({ displayName: "A", email }, null).problems, email).toEqual([]);
    }
    expect(normaliseUserFields({ displayName: "A", email: "user@bücher" }, null).problems).toEqual([{ field: "email", message: '"user@bücher" is not a valid email address', value: "user@bücher" }]);
    expect(normaliseUserFields({ displayName: "A", userPrincipalName: "jürgen müller@contoso.de" }, null).problems[0]!.message).toBe('"jürgen müller@contoso.de" is not a valid user principal name (name@domain)');
  });

  it("strips invisible characters pasted into identifiers, reads a no-break space as a space, and trims", () => {
    const { value, problems } = normaliseUserFields(
      {
        email: "zw@x.com\u200B",
        userPrincipalName: "soft\u00ADhy@x.com",
        employeeId: "\uFEFFE-7\u2060",
        mobilePhone: "\u200E07911\u00A0123456\u00A0",
        businessPhones: ["+1 202\u00A0555 0143\u200C"],
        aliases: ["\u200Dada", "\u200B"],
        cardNumbers: ["\u200B0042", "0043\u00A0"],
      },
      "GB",
    );
    expect(problems).toEqual([]);
    expect(value).toMatchObject({
      email: "zw@x.com", userPrincipalName: "softhy@x.com", employeeId: "E-7", mobilePhone: "+447911123456",
      businessPhones: ["+12025550143"], aliases: ["ada"], cardNumbers: ["0042", "0043"],
    });
  });

  it("keeps invisible characters in names (a zero-width joiner belongs in some), and tells twins apart only by what is visible", () => {
    const name = "Ana\u200Dïs";
    expect(normaliseUserFields({ displayName: name, givenName: name, surname: name }, null).value).toMatchObject({ displayName: name, givenName: name, surname: name });
    expect(normaliseUserFields({ cardNumbers: ["0042", "\u200B0042"], aliases: ["ada", "a\u00ADda"] }, null).problems.map((p) => p.field)).toEqual(["aliases[1]", "cardNumbers[1]"]);
    expect(normaliseUserFields({ email: "\u200B", aliases: ["a\u00A0da"] }, null)).toMatchObject({ value: { email: null }, problems: [{ field: "aliases[0]", message: '"a da" must not contain spaces' }] });
  });
});

describe("preferred language", () => {
  it("takes a language tag in any case and keeps its canonical form, as Microsoft 365 writes it", () => {
    for (const [given, kept] of [["en-us", "en-US"], ["ES-es", "es-ES"], ["fr", "fr"], ["zh-hant-tw", "zh-Hant-TW"], [" de-CH ", "de-CH"]]) {
      expect(normaliseUserFields({ preferredLanguage: given }, null)).toMatchObject({ value: { preferredLanguage: kept }, problems: [] });
    }
  });

  it("refuses what is no language tag, saying how to write one", () => {
    const problem = (value: string) => normaliseUserFields({ preferredLanguage: value }, null).problems;
    expect(problem("en_US")).toEqual([{ field: "preferredLanguage", message: '"en_US" is not a language tag: write it as en-US', value: "en_US" }]);
    for (const value of ["English", "e", "en-", "en US", "12"]) {
      expect(problem(value), value).toEqual([{ field: "preferredLanguage", message: `"${value}" is not a language tag: write a language code, then a country or region, as en-US or es-ES`, value }]);
    }
  });
});

describe("one-line fields", () => {
  it("refuses a line break in a name or another text field, wherever it is", () => {
    const { problems } = normaliseUserFields({ displayName: "Multi\nLine Name", department: "Sales\r\nEMEA", jobTitle: "Lead\n" }, null);
    expect(normaliseUserFields({ displayName: "Ada\r\n" }, null).problems).toEqual([]);
    expect(problems).toEqual([
      { field: "displayName", message: "must be on one line (it holds a line break)", value: "Multi\nLine Name" },
      { field: "department", message: "must be on one line (it holds a line break)", value: "Sales\r\nEMEA" },
    ]);
  });
});
