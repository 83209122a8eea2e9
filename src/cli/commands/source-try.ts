import type { Command } from "commander";
import type { TriedUser } from "../../core/source-try.ts";
import { directoryCommand, runOn, type GlobalOptions } from "../io.ts";

/** `rollcall sources try NAME USER`: what the source's mapping makes of one Entra user, before any sync. */
export function sourceTryCommand(): Command {
  return directoryCommand("try", "show what the source's mapping makes of one Entra user (its UPN, mail or object ID), without syncing")
    .argument("<name>", "source name")
    .argument("<user>", "the Entra user: user principal name, mail or object ID")
    .action(async (name: string, user: string, flags: GlobalOptions) => runOn(flags, (directory) => directory.sources.tryUser(name, user), { human: describeTry }));
}

const shown = (value: unknown): string => {
  if (value === null || value === undefined || value === "") return "(none)";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "(none)";
  return String(value);
};

/** The fields as two columns, each value with the Graph property it came from; then scope, match and warnings. */
export function describeTry(tried: TriedUser): string {
  const { customAttributes, externalId, ...fields } = tried.user;
  const rows: [string, string, string | null][] = [["externalId", externalId, "id"]];
  for (const [field, value] of Object.entries(fields)) rows.push([field, shown(value), tried.origins[field] ?? null]);
  for (const [key, value] of Object.entries(customAttributes)) rows.push([`custom:${key}`, value, tried.origins[`customAttributes.${key}`] ?? null]);
  for (const [key, path] of Object.entries(tried.origins)) {
    if (key.startsWith("customAttributes.") && !(key.slice("customAttributes.".length) in customAttributes)) rows.push([`custom:${key.slice("customAttributes.".length)}`, "(none)", path]);
  }
  const width = Math.max(...rows.map(([field]) => field.length));
  const valueWidth = Math.min(40, Math.max(...rows.map(([, value]) => value.length)));
  const scope = tried.scope.inScope === null ? "unknown" : tried.scope.inScope ? "in scope" : "OUT OF SCOPE";
  return [
    `${tried.user.displayName}: what source ${tried.source} would sync (nothing was changed)`,
    ...rows.map(([field, value, from]) => `  ${field.padEnd(width)}  ${from ? `${value.padEnd(valueWidth)}  ← ${from}` : value}`),
    `scope:    ${scope}: ${tried.scope.reason}`,
    `match:    ${tried.match.action}: ${tried.match.message}`,
    ...(tried.warnings.length ? ["warnings:", ...tried.warnings.map((w) => `  ${w}`)] : ["warnings: none"]),
  ].join("\n");
}
