import { effectiveMapping, type EntraConfig } from "./config.ts";

/**
 * Graph answers 400 "Could not find a property named 'x' on type 'microsoft.graph.user'" to a `$select` naming a
 * property it does not have: every listing fails the same way until the source's settings change. The setting
 * that asks for it and the command that changes it, for `sources test` and for a failed run alike.
 */

/** The property a Graph error message says the user type does not have, if that is what it says. */
export function unknownPropertyIn(graphMessage: string): string | undefined {
  return /property named '([^']+)'/i.exec(graphMessage)?.[1];
}

/**
 * Which setting asks Graph for a user property it does not have (or, `refused`, one the delta query refuses), and how
 * to change it. With `refused` only the fix is given: the caller says what Graph refused.
 */
export function unknownPropertyAdvice(config: EntraConfig, property: string, refused?: "refused"): string {
  const root = (path: string) => path.split(".")[0]!.toLowerCase();
  const lower = property.toLowerCase();
  const fields = Object.entries(effectiveMapping(config)).filter(([, path]) => root(path) === lower).map(([field]) => field);
  const fixes: string[] = [];
  if (config.groupMode === "attribute" && config.groupAttribute && root(config.groupAttribute) === lower) {
    fixes.push(`the group attribute is ${config.groupAttribute}: set an existing user property with \`rollcall sources update NAME --group-attribute PROPERTY\` (e.g. department)`);
  }
  for (const field of fields) fixes.push(`the mapping reads ${field} from it: change it with \`rollcall sources update NAME --map ${field}=PROPERTY\``);
  const fix = fixes.length ? `Fix the source: ${fixes.join("; ")}.` : "Fix the source's mapping or group attribute.";
  if (refused) return fix;
  if (lower.startsWith("extension_")) {
    // A directory extension exists only once an app registers it in that tenant, under exactly this name.
    return `Graph has no user property named '${property}': no directory extension of that name is registered in this tenant, so every sync would fail. `
      + `Its full name is extension_, the ID of the app that registered it without dashes, _ and its name (those synced by Entra Connect are on its "Tenant Schema Extension App"); `
      + `an admin finds it with GET https://graph.microsoft.com/v1.0/applications(appId='APP ID')/extensionProperties. ${fix}`;
  }
  return `Graph has no user property named '${property}', so every sync would fail. ${fix} Custom properties are read as onPremisesExtensionAttributes.extensionAttribute1…15 or as a directory extension, extension_APPID_NAME.`;
}
