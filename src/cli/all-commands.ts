import type { Command } from "commander";

/**
 * A top-level `rollcall` command as `rollcall --help` lists it (`term`: commander's "name [options] <args>"), and how
 * to load its definition: a command run loads its own module only (loading all of them cost every command, even
 * `--version`, ~0.17 s). test/cli/help.test.ts holds each entry to the command it loads.
 */
export interface CommandEntry {
  name: string;
  term: string;
  description: string;
  load: () => Promise<Command>;
}

/** Every top-level command, in the order `rollcall --help` lists them. */
export const commandEntries: CommandEntry[] = [
  { name: "users", term: "users", description: "list and manage users", load: async () => (await import("./commands/users.ts")).usersCommand() },
  { name: "groups", term: "groups", description: "list and manage groups and their members", load: async () => (await import("./commands/groups.ts")).groupsCommand() },
  { name: "workspaces", term: "workspaces", description: "list and manage workspaces", load: async () => (await import("./commands/workspaces.ts")).workspacesCommand() },
  { name: "tokens", term: "tokens", description: "API tokens for scripts (Authorization: Bearer …)", load: async () => (await import("./commands/workspaces.ts")).tokensCommand() },
  { name: "migrate", term: "migrate [options]", description: "bring the database schema up to date (also done at every start)", load: async () => (await import("./commands/workspaces.ts")).migrateCommand() },
  { name: "secret-key", term: "secret-key", description: "the key that encrypts stored secrets (client secrets, certificates, webhook secrets)", load: async () => (await import("./commands/secret-key.ts")).secretKeyCommand() },
  {
    name: "copy-database", term: "copy-database [options]",
    description: "copy the embedded database (ROLLCALL_DATA_DIR) into a new, empty PostgreSQL database, to run on it from then on (DATABASE_URL); stop `rollcall serve` first",
    load: async () => (await import("./commands/copy-database.ts")).copyDatabaseCommand(),
  },
  { name: "emulator", term: "emulator [options]", description: "run a local Microsoft Entra ID + Microsoft Graph emulator (HTTPS, own CA)", load: async () => (await import("../emulator/cli.ts")).emulatorCommand() },
  { name: "serve", term: "serve [options]", description: "serve the REST API and the web console (ROLLCALL_HOST:ROLLCALL_PORT)", load: async () => (await import("./commands/serve.ts")).serveCommand() },
  { name: "admins", term: "admins", description: "admin accounts that sign in to the web console and the API", load: async () => (await import("./commands/serve.ts")).adminsCommand() },
  { name: "import", term: "import [options] [file]", description: "import users from a CSV or Excel (.xlsx) file; all or nothing unless --partial", load: async () => (await import("./commands/import.ts")).importCommand() },
  { name: "export", term: "export [options]", description: "export users (all, or those the filters match) to CSV or .xlsx with the columns import reads back", load: async () => (await import("./commands/import.ts")).exportCommand() },
  { name: "template", term: "template [options] <file>", description: "write an empty import template (.csv or .xlsx)", load: async () => (await import("./commands/import.ts")).templateCommand() },
  { name: "sources", term: "sources", description: "Entra ID sources (Rollcall reads the tenant) and SCIM sources (Entra ID pushes to Rollcall): add, test, try a mapping on one user, change, remove", load: async () => (await import("./commands/sources.ts")).sourcesCommand() },
  { name: "sync", term: "sync [options] <source>", description: "sync an Entra ID source now", load: async () => (await import("./commands/sync.ts")).syncCommand() },
  { name: "runs", term: "runs", description: "sync run history", load: async () => (await import("./commands/sync.ts")).runsCommand() },
  {
    name: "activity", term: "activity [options]",
    description: "the workspace's changes not made by a sync run, newest first: who changed what (edits, imports, sources, tokens, settings)",
    load: async () => (await import("./commands/activity.ts")).activityCommand(),
  },
  { name: "demo", term: "demo [options]", description: "start a demo Entra ID tenant, sync it into the `demo` workspace, and serve the console", load: async () => (await import("./commands/demo.ts")).demoCommand() },
  {
    name: "login", term: "login [options]",
    description: "sign in with your Microsoft account (system browser); keeps a session token for later commands given --server or ROLLCALL_SERVER",
    load: async () => (await import("./commands/login.ts")).loginCommand(),
  },
  { name: "logout", term: "logout [options]", description: "end the session `rollcall login` started and forget its token", load: async () => (await import("./commands/login.ts")).logoutCommand() },
  {
    name: "whoami", term: "whoami [options]",
    description: "who the CLI acts as on the server: the account `rollcall login` signed in, or the API token in ROLLCALL_TOKEN",
    load: async () => (await import("./commands/login.ts")).whoamiCommand(),
  },
  {
    name: "user-role", term: "user-role [options] <user>",
    description: "give a user synced from Entra ID the admin or viewer role (they sign in with Microsoft), or none to take their access away",
    load: async () => (await import("./commands/login.ts")).userRoleCommand(),
  },
  {
    name: "notifications", term: "notifications",
    description: "warnings before things break (expiring client secrets, failed syncs and imports), by e-mail and webhook",
    load: async () => (await import("./commands/notifications.ts")).notificationsCommand(),
  },
];

/** The entry a command line runs (`rollcall NAME …`, `rollcall help NAME`), if any: the root takes no option before it. */
export function entryRun(args: string[]): CommandEntry | undefined {
  const words = args.filter((a) => !a.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  return commandEntries.find((e) => e.name === name);
}

/** Every top-level command, loaded (what the help test walks). */
export function allCommands(): Promise<Command[]> {
  return Promise.all(commandEntries.map((e) => e.load()));
}
