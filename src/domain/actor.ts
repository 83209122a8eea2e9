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

/**
 * The stored actors an activity filter names, as SQL LIKE patterns of the lower-cased actor: itself, and for `cli`
 * every account's `cli:USER`, for `token:NAME` the token whoever created it.
 */
export function actorPatterns(filter: string): string[] {
  const exact = filter.trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  if (exact === localCli) return [exact, `${exact}:%`];
  if (exact.startsWith("token:")) return [exact, `${exact} by %@%`];
  return [exact];
}
