import { describe, expect, it } from "vitest";
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import { normalizePhone } from "../../src/domain/phone.ts";

/** The library's full check, done the slow way (parse, then isValid), as the reference. */
function reference(raw: string, country: CountryCode | undefined): boolean {
  const parsed = parsePhoneNumberFromString(raw, country ? { defaultCountry: country } : undefined);
  return parsed !== undefined && parsed.isValid();
}

/** Deterministic pseudo-random digits, so a failure is reproducible. */
function digits(seed: number, length: number): string {
  let x = seed;
  let out = "";
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += String(x % 10);
  }
  return out;
}

describe("normalizePhone", () => {
  it("reads numbers in E.164, local numbers in the default country, and rejects invalid ones with the reason", () => {
    expect(normalizePhone("+44 7911 123456", null)).toEqual({ ok: true, e164: "+447911123456" });
    expect(normalizePhone("07911 123456", "gb")).toEqual({ ok: true, e164: "+447911123456" });
    expect(normalizePhone("+44 7624 369230", "GB")).toEqual({ ok: true, e164: "+447624369230" });
    expect(normalizePhone("(202) 555-0143", "US")).toEqual({ ok: true, e164: "+12025550143" });
    expect(normalizePhone("+44 1111 111111", "GB")).toMatchObject({ ok: false, reason: expect.stringContaining("not a valid number") });
    expect(normalizePhone("07911 123456", null)).toMatchObject({ ok: false, reason: expect.stringContaining("international format") });
    expect(normalizePhone("12", "GB")).toMatchObject({ ok: false });
    expect(normalizePhone("  ", "GB")).toEqual({ ok: false, reason: "is empty" });
  });

  it("keeps a number given with an extension and says which extension E.164 could not hold", () => {
    expect(normalizePhone("+1 425 555 0100 ext. 123", null)).toEqual({ ok: true, e164: "+14255550100", extension: "123" });
    expect(normalizePhone("(425) 555-0100 x123", "US")).toEqual({ ok: true, e164: "+14255550100", extension: "123" });
    expect(normalizePhone("07911 123456 #77", "GB")).toEqual({ ok: true, e164: "+447911123456", extension: "77" });
    expect(normalizePhone("(425) 555-0100", "US")).toEqual({ ok: true, e164: "+14255550100" });
  });

  it("compiles each of the library's patterns once, not on every check (patches/libphonenumber-js+*.patch)", () => {
    const numbers = Array.from({ length: 1000 }, (_, i) => [`+44 7911 ${100000 + i}`, `(202) 555-${String(1000 + i).slice(-4)}`]).flat();
    for (const n of numbers.slice(0, 2)) normalizePhone(n, "US");
    const Native = globalThis.RegExp;
    let built = 0;
    globalThis.RegExp = class extends Native {
      constructor(...args: ConstructorParameters<RegExpConstructor>) {
        super(...args);
        built++;
      }
    } as RegExpConstructor;
    try {
      for (const n of numbers) expect(normalizePhone(n, "US").ok).toBe(true);
    } finally {
      globalThis.RegExp = Native;
    }
    // Unpatched, the library builds a RegExp for each pattern it tries, about ten per number. Patched, it still
    // builds one or two for its short prefix patterns (IDD, national prefix).
    expect(built).toBeLessThan(numbers.length * 2);
  });

  it("accepts exactly the numbers the library's full validation accepts, for shared and single calling codes", () => {
    // Shared calling codes (+1 NANPA, +44 GB/GG/IM/JE, +7 RU/KZ, +47 NO/SJ, +61 AU/CX/CC, +262, +590, +599) and single ones.
    const prefixes = ["+1", "+44", "+447", "+4479", "+447624", "+441481", "+7", "+77", "+47", "+61", "+262", "+590", "+599", "+33", "+49", "+353", "+81"];
    const countries: (CountryCode | undefined)[] = [undefined, "GB", "US", "CA", "JE", "FR"];
    let seed = 1;
    let accepted = 0;
    let checked = 0;
    for (const prefix of prefixes) {
      for (let i = 0; i < 150; i++) {
        const national = digits(seed++, 7 + (i % 5));
        for (const raw of [`${prefix}${national}`, `0${national}`, national]) {
          for (const country of countries) {
            const expected = reference(raw, country);
            expect({ raw, country, ok: normalizePhone(raw, country ?? null).ok }).toEqual({ raw, country, ok: expected });
            if (expected) accepted++;
            checked++;
          }
        }
      }
    }
    // The sample must contain both outcomes for the comparison to mean anything.
    expect(accepted).toBeGreaterThan(checked / 50);
    expect(accepted).toBeLessThan(checked);
  });
});
