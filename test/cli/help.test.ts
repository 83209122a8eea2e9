import { Help, type Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { allCommands, commandEntries } from "../../src/cli/all-commands.ts";
import { runCli } from "../support/cli.ts";

/** `rollcall … --help` explains every flag and argument: a flag with no text leaves an admin guessing what it takes. */
function leaves(command: Command, path: string[] = ["rollcall"]): { path: string; command: Command }[] {
  const here = [...path, command.name()];
  return [{ path: here.join(" "), command }, ...command.commands.flatMap((sub) => leaves(sub, here))];
}

describe("rollcall --help", () => {
  let loaded: Command[] = [];
  beforeAll(async () => {
    loaded = await allCommands();
  });

  it("describes every command, flag and argument", () => {
    const undescribed = loaded.flatMap((command) => leaves(command)).flatMap(({ path, command }) => [
      ...(command.description() ? [] : [`${path}: the command`]),
      ...command.options.filter((o) => !o.hidden && !o.negate && !o.description).map((o) => `${path} ${o.flags}`),
      ...command.registeredArguments.filter((a) => !a.description).map((a) => `${path} <${a.name()}>`),
    ]);
    expect(undescribed).toEqual([]);
  });

  // The root lists commands it has not loaded from their entries: an entry out of step would list a command wrongly.
  it("lists each command as the command itself would be listed", () => {
    const listed = commandEntries.map((e) => ({ name: e.name, term: e.term, description: e.description }));
    expect(listed).toEqual(loaded.map((c) => ({ name: c.name(), term: new Help().subcommandTerm(c), description: c.description() })));
  });

  it("lists every command, and a command's help shows its options", async () => {
    const root = await runCli(["--help"], {});
    expect(root.code).toBe(0);
    for (const entry of commandEntries) expect(root.stdout).toMatch(new RegExp(`^  ${entry.term.replace(/[[\]]/g, "\\$&")} +\\S`, "m"));
    const [viaHelp, viaFlag] = await Promise.all([runCli(["help", "users"], {}), runCli(["users", "--help"], {})]);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stdout).toContain("Usage: rollcall users [options] [command]");
    expect(viaHelp.stdout).toMatch(/^ {2}list \[options\] +/m);
    const list = await runCli(["users", "list", "--help"], {});
    expect(list.stdout).toContain("--sort <field>");
  });
});
