import { Command, Help } from "commander";
import { commandEntries, entryRun } from "./all-commands.ts";
import { noteFlagsOf, printError } from "./print-error.ts";
import { RollcallError } from "../errors.ts";
import { version } from "../version.ts";

// Output piped into a reader that stops early (`rollcall users list --json | head`) is not an error of ours: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const program = new Command("rollcall")
  .description("Rollcall keeps your application's user directory in step with Microsoft Entra ID, spreadsheets and manual entry.")
  .version(version)
  .hook("preAction", async (_program, command) => {
    noteFlagsOf(command);
    (await import("./io.ts")).refuseLocalOnlyWhenServerSet(command);
  });

// The command run is loaded; the others are listed by name and description only (all-commands.ts).
const running = entryRun(process.argv.slice(2));
for (const entry of commandEntries) program.addCommand(entry === running ? await entry.load() : new Command(entry.name).description(entry.description));
const terms = new Map(commandEntries.map((e) => [e.name, e.term]));
program.configureHelp({ subcommandTerm: (command) => terms.get(command.name()) ?? new Help().subcommandTerm(command) });

/**
 * A usage error (missing argument or option, unknown option, bad value) is invalid_input wherever it happens:
 * exit 2, and with --json the one JSON error document instead of commander's text. addCommand does not pass
 * these settings down, so every command gets them.
 */
const json = process.argv.includes("--json");
function usageErrors(command: Command): void {
  command
    // A hint, not the whole help: the error stays the last thing on screen, as in gh and kubectl.
    .showHelpAfterError(json ? false : `(run \`${commandPath(command)} --help\` for usage)`)
    .configureOutput({ writeErr: (text) => (json ? undefined : process.stderr.write(text)), outputError: (text, write) => (json ? undefined : write(text)) })
    .exitOverride((error) => {
      if (error.exitCode === 0) process.exit(0);
      if (json) printError(new RollcallError("invalid_input", error.message.replace(/^error: /, ""), { reason: error.code }), true);
      process.exit(2);
    });
  for (const sub of command.commands) usageErrors(sub);
}
usageErrors(program);

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

await program.parseAsync(process.argv);
