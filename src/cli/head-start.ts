import { warmUpPGlite } from "../storage/pglite-head-start.ts";
import { isBulkCommandLine } from "./bulk-commands.ts";

/** Top-level commands that open this machine's database, unless a server is named. */
const localCommands = new Set(["users", "groups", "workspaces", "tokens", "migrate", "admins", "import", "export", "sources", "sync", "runs", "activity", "notifications", "user-role"]);

/**
 * Whether a command line will open the embedded database, guessed without the CLI's parser: anything that may mean
 * otherwise (a server, PostgreSQL, help, another command) says no.
 */
export function opensEmbeddedDatabase(args: string[], env: Record<string, string | undefined>): boolean {
  const [command] = args;
  if (!command || !localCommands.has(command)) return false;
  if (env.DATABASE_URL || env.ROLLCALL_SERVER?.trim()) return false;
  return !args.some((a) => a === "--server" || a.startsWith("--server=") || a === "--help" || a === "-h");
}

/** Run by bin/rollcall.js before the CLI's code loads (storage/pglite-head-start.ts). */
export function startDatabaseEarly(args: string[], env: Record<string, string | undefined>): void {
  if (opensEmbeddedDatabase(args, env)) warmUpPGlite(!isBulkCommandLine(args));
}
