import { scimInvalid } from "./protocol.ts";

/**
 * SCIM filters as Entra ID's provisioning service sends them (RFC 7644 3.4.2.2): `attribute eq "value"`, joined by
 * `and` ("Microsoft Entra-only uses the following operators: eq, and", the SCIM endpoint tutorial). Pure.
 */
export interface Comparison {
  /** As the resource type names it (one of the `supported` given to parseFilter), whatever case the filter used. */
  attribute: string;
  value: string;
}

/** An attribute path as compared: without its schema's URN, in lower case, spaces in a value filter made single. */
const schemaPrefix = /^urn:ietf:params:scim:schemas:(?:core:2\.0:(?:User|Group)|extension:enterprise:2\.0:User):/i;
const canonical = (path: string) => path.replace(schemaPrefix, "").replace(/\s+/g, " ").replace(/\[\s*/g, "[").replace(/\s*\]/g, "]").toLowerCase();

/** attribute path (a value filter in brackets may hold spaces), operator, value (quoted, or one bare word). */
const comparisonPattern = /^((?:[^\s[\]"]|\[[^\]]*\])+)\s+([A-Za-z]+)\s+("(?:[^"\\]|\\.)*"|[^\s"()]+)$/;

/**
 * The filter's comparisons, all of which must hold, or a SCIM 400 invalidFilter saying what is supported: `eq` on
 * the attributes `supported` lists (the ones the provisioning service looks resources up by), joined by `and`.
 */
export function parseFilter(text: string, supported: readonly string[]): Comparison[] {
  const wanted = `${supported.map((a) => `${a} eq "…"`).join(", ")}, joined by "and"`;
  const refuse = (why: string) => scimInvalid("invalidFilter", `${why}: give one of ${wanted}`, "filter");
  const parts = splitOutsideQuotes(text.trim());
  if (parts.some((p) => p.joiner === "or")) throw refuse(`filter "${text}" uses "or", which Entra ID never sends and this server does not take`);
  return parts.map(({ part }) => {
    const match = comparisonPattern.exec(part);
    if (!match) throw refuse(`filter "${text}" is not supported`);
    const [, path, operator, raw] = match as unknown as [string, string, string, string];
    if (operator.toLowerCase() !== "eq") throw refuse(`filter operator "${operator}" is not supported (only eq is)`);
    const attribute = supported.find((a) => canonical(a) === canonical(path));
    if (!attribute) throw refuse(`filter on "${path}" is not supported`);
    return { attribute, value: raw.startsWith('"') ? unescape(raw) : raw };
  });
}

/** The comparisons of `text` and the word joining each to the one before, split at `and`/`or` outside quotes and brackets. */
function splitOutsideQuotes(text: string): Array<{ part: string; joiner: "and" | "or" | null }> {
  const parts: Array<{ part: string; joiner: "and" | "or" | null }> = [];
  let [start, depth, quoted, joiner] = [0, 0, false, null as "and" | "or" | null];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (depth === 0 && /\s/.test(c!)) {
      const word = /^\s+(and|or)\s+/i.exec(text.slice(i));
      if (word) {
        parts.push({ part: text.slice(start, i).trim(), joiner });
        joiner = word[1]!.toLowerCase() as "and" | "or";
        i += word[0].length - 1;
        start = i + 1;
      }
    }
  }
  parts.push({ part: text.slice(start).trim(), joiner });
  return parts;
}

function unescape(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    throw scimInvalid("invalidFilter", `the filter's value ${quoted} is not a valid JSON string`, "filter");
  }
}
