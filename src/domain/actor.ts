import type { RunTrigger } from "../storage/schema.ts";

/**
 * Who made a change, as the change log and sync runs store it: an admin's e-mail; `cli:USER`, the operating-system
 * account that ran the local CLI (plain `cli` in entries made before it was recorded, or where the account has no
 * name); `token:NAME`, an API token, `token:NAME by EMAIL` when a signed-in admin created it; `sync:SOURCE`,
 * `scim:SOURCE`, Entra ID's provisioning service pushing to a SCIM source; `schedule`, `demo`.
 */

const localCli = "cli";
const tokenCreatedBy = /^token:(.*) by (\S+@\S+)$/;

/** The local CLI run by `username` (os.userInfo()), or by no account it can name. */
export function cliActor(username: string | undefined): string {
  const name = username?.trim();
  return name ? `${localCli}:${name}` : localCli;
}

/**
 * A token name that ends as a creator would (" by ada@example.com"): given without a creator (the CLI), it would read
 * as created by that address, and a filter on another token's name would find it.
 */
export const tokenNameProblem = (name: string): string | null =>
  / by \S+@\S+$/.test(name) ? `must not end in " by ${name.split(" by ").at(-1)}": the change log would read that as the admin who created the token` : null;

/** An API token, and the admin who created it when one did. */
export function tokenActor(name: string, createdBy: string | null | undefined): string {
  return createdBy ? `token:${name} by ${createdBy}` : `token:${name}`;
}

/** Entra ID's provisioning service, pushing to the SCIM source of this name. */
export function scimActor(sourceName: string): string {
  return `scim:${sourceName}`;
}

/** Whether the local CLI made it (a person on the server's machine, not through the API). */
export function isCliActor(actor: string): boolean {
  return actor === localCli || actor.startsWith(`${localCli}:`);
}

/** The actor as a reader sees it: "alice (CLI)", "CLI", "API token \"deploy\" (created by ada@example.com)", an e-mail. */
export function describeActor(actor: string): string {
  if (actor === localCli) return "CLI";
  if (actor.startsWith(`${localCli}:`)) return `${actor.slice(localCli.length + 1)} (CLI)`;
  const created = tokenCreatedBy.exec(actor);
  if (created) return `API token "${created[1]}" (created by ${created[2]})`;
  if (actor.startsWith("token:")) return `API token "${actor.slice("token:".length)}"`;
  if (actor.startsWith("scim:")) return `SCIM (${actor.slice("scim:".length)})`;
  return actor;
}

/** The stored actor of one as describeActor words it ("alice (CLI)" → "cli:alice"); any other text as it is. */
function storedActor(text: string): string {
  const cli = /^(.*) \(cli\)$/i.exec(text);
  if (cli?.[1]) return cliActor(cli[1]);
  const token = /^api token "(.*)"(?: \(created by (\S+@\S+)\))?$/i.exec(text);
  if (token) return tokenActor(token[1]!, token[2]);
  const scim = /^scim \((.+)\)$/i.exec(text);
  return scim ? scimActor(scim[1]!) : text;
}

/**
 * The stored actors an activity filter names, as SQL LIKE patterns of the lower-cased actor: itself, and for `cli`
 * every account's `cli:USER`, for `token:NAME` the token whoever created it. It takes an actor as stored or as
 * shown (describeActor: "alice (CLI)", 'API token "deploy"'), since the activity shows the latter.
 */
export function actorPatterns(filter: string): string[] {
  const exact = storedActor(filter.trim()).toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  if (exact === localCli) return [exact, `${exact}:%`];
  if (exact.startsWith("token:")) return [exact, `${exact} by %@%`];
  return [exact];
}

/** The sync run that made a change-log entry, as the entry's reader needs it: which source, and who or what started it. */
export interface RunOfChange {
  /** Null when its source was removed since. */
  source: string | null;
  trigger: RunTrigger;
  /** Who started it (an actor as stored); null on runs older than its recording. */
  requestedBy: string | null;
}

/** Who started a run, and how: "ada@example.com (console or API)", "alice (CLI)", "Schedule", "Change in Entra ID (sync on change)". */
export function runStarter(r: { trigger: RunTrigger | string; requestedBy: string | null }): string {
  if (r.trigger === "schedule") return "Schedule";
  if (r.trigger === "notification") return "Change in Entra ID (sync on change)";
  // The local CLI's actor says so itself ("alice (CLI)"; "CLI" for runs before it named its account).
  if (r.requestedBy && isCliActor(r.requestedBy)) return describeActor(r.requestedBy);
  const how = r.trigger === "manual" ? "CLI" : r.trigger === "api" ? "console or API" : r.trigger;
  return r.requestedBy ? `${describeActor(r.requestedBy)} (${how})` : how;
}

/**
 * Who made a change, as a reader sees it. An entry a sync run made is logged under whoever started the run, and says it
 * was the sync, so that it does not read as their edit: "the sync of contoso, started by ada@example.com (console or
 * API)", "the scheduled sync of contoso", "the sync of contoso on a change in Entra ID". Any other: describeActor.
 */
export function changeActor(change: { actor: string; runId: string | null; run?: RunOfChange | null }): string {
  if (!change.runId) return describeActor(change.actor);
  const run = change.run;
  if (!run) return `a sync run, started by ${describeActor(change.actor)}`;
  const of = `sync of ${run.source ?? "a removed source"}`;
  if (run.trigger === "schedule") return `the scheduled ${of}`;
  if (run.trigger === "notification") return `the ${of} on a change in Entra ID`;
  return `the ${of}, started by ${runStarter(run)}`;
}
