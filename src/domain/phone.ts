import { parsePhoneNumberFromString, type CountryCode, isSupportedCountry } from "libphonenumber-js/max";

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

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
        : `"${raw}" is not a phone number in international format (set the workspace's default country to read local numbers)`,
    };
  }
  if (!parsed.isValid()) {
    return { ok: false, reason: `"${raw}" is not a valid number for ${parsed.country ?? country ?? "its country"}` };
  }
  return { ok: true, e164: parsed.number };
}

export function isCountryCode(value: string): boolean {
  return /^[A-Za-z]{2}$/.test(value) && isSupportedCountry(value.toUpperCase() as CountryCode);
}
