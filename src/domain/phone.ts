import { Metadata, getCountries, getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from "libphonenumber-js/max";

/**
 * `extension`: the one the text gave ("ext. 123", "x123", "#123"), which E.164 cannot hold: the number is kept
 * without it, and whoever stores the number says the extension was dropped.
 */
export type PhoneResult = { ok: true; e164: string; extension?: string } | { ok: false; reason: string };

/**
 * A phone number as E.164, read in the workspace's (or source's) default country when it has no
 * international prefix. Pure: the same input always gives the same answer.
 */
export function normalizePhone(raw: string, defaultCountry: string | null | undefined): PhoneResult {
  const text = raw.trim();
  if (text === "") return { ok: false, reason: "is empty" };
  const country = defaultCountry && isCountryCode(defaultCountry) ? (defaultCountry.toUpperCase() as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(text, country ? { defaultCountry: country } : undefined);
  if (!parsed) {
    return {
      ok: false,
      reason: country
        ? `"${raw}" is not a phone number (read as ${country}; use the +country format for other countries)`
        : `"${raw}" is not a phone number in international format: write it with its +country code, or set the workspace's default country (the console's Settings, or rollcall workspaces update --default-country) to read local numbers`,
    };
  }
  if (!checkedWhileParsing(parsed, text.startsWith("+") ? undefined : country) && !parsed.isValid()) {
    return { ok: false, reason: `"${raw}" is not a valid number for ${parsed.country ?? country ?? "its country"}` };
  }
  return parsed.ext ? { ok: true, e164: parsed.number, extension: parsed.ext } : { ok: true, e164: parsed.number };
}

/** The words for an extension dropped from `raw`, kept as `e164`: a warning at that number, never a problem. */
export function droppedExtension(raw: string, e164: string, extension: string): string {
  return `"${raw.trim()}" has the extension ${extension}, which a phone number in E.164 cannot hold: kept ${e164} without it`;
}

/**
 * The digits a search term written as a phone number gives, to find them in stored E.164 numbers: "07911 123456" and
 * "7911 123456" give "7911123456" (a national number without its trunk 0), "+44 7911 123456" and "0044 7911 123456"
 * "447911123456". Null for any other term, or fewer than 4 digits. Pure.
 */
export function phoneSearchDigits(term: string): string | null {
  const text = term.trim();
  if (!/^\+?[\d\s().\-/]+$/.test(text)) return null;
  const digits = text.replace(/\D/g, "");
  const withoutPrefix = text.startsWith("+") ? digits : digits.replace(/^00?/, "");
  return withoutPrefix.length >= 4 ? withoutPrefix : null;
}

export function isCountryCode(value: string): boolean {
  return /^[A-Za-z]{2}$/.test(value) && isSupportedCountry(value.toUpperCase() as CountryCode);
}

const metadata = new Metadata();
const countriesPerCallingCode = new Map<string, number>();
for (const c of getCountries()) countriesPerCallingCode.set(getCountryCallingCode(c), (countriesPerCallingCode.get(getCountryCallingCode(c)) ?? 0) + 1);

/**
 * Whether parsing already did what `isValid()` would do again (about half the cost of a phone, on
 * 100,000 rows a second): for a calling code shared by several countries (+1, +44, +7…) the parser picks
 * the country by matching the number against each country's number types, except for countries it
 * recognises by their leading digits. A country picked that way is one the number is valid for. A local
 * number that matched no country keeps the default country unchecked, hence `localCountry`.
 * test/domain/phone.test.ts compares this with `isValid()` on thousands of numbers.
 */
function checkedWhileParsing(parsed: PhoneNumber, localCountry: CountryCode | undefined): boolean {
  if (!parsed.country || parsed.country === localCountry || (countriesPerCallingCode.get(parsed.countryCallingCode) ?? 0) < 2) return false;
  metadata.selectNumberingPlan(parsed.country);
  return !metadata.numberingPlan?.leadingDigits();
}
