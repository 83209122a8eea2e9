import { scimInvalid } from "./protocol.ts";

/** One `attribute eq "value"` comparison, the filters Entra ID's provisioning service sends (RFC 7644 3.4.2.2). */
export interface EqualityFilter {
  /** As the resource type names it (`userName`, `externalId`, `displayName`, `id`), whatever case the filter used. */
  attribute: string;
  value: string;
}

const comparison = /^\s*([A-Za-z][\w.:-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

/**
 * The filter's comparison, or a SCIM 400 invalidFilter naming what is supported. Only equality on the attributes
 * `supported` lists is: the ones the provisioning service looks resources up by. Pure.
 */
export function parseFilter(text: string, supported: readonly string[]): EqualityFilter {
  const match = comparison.exec(text);
  const wanted = supported.map((a) => `${a} eq "…"`).join(", ");
  if (!match) throw scimInvalid("invalidFilter", `filter "${text}" is not supported: give one of ${wanted}`, "filter");
  const named = match[1]!.toLowerCase();
  const attribute = supported.find((a) => a.toLowerCase() === named);
  if (!attribute) throw scimInvalid("invalidFilter", `filter on "${match[1]}" is not supported: give one of ${wanted}`, "filter");
  return { attribute, value: unescape(match[2]!) };
}

function unescape(quoted: string): string {
  try {
    return JSON.parse(`"${quoted}"`) as string;
  } catch {
    throw scimInvalid("invalidFilter", `the filter's value "${quoted}" is not a valid JSON string`, "filter");
  }
}
