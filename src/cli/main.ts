import { Command } from "commander";
import { allCommands } from "./all-commands.ts";
import { noteFlagsOf, printError, refuseLocalOnlyWhenServerSet } from "./io.ts";
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
  .hook("preAction", (_program, command) => {
    noteFlagsOf(command);
    refuseLocalOnlyWhenServerSet(command);
  });

for (const command of allCommands()) program.addCommand(command);

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
