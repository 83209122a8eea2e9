import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { allCommands } from "../../src/cli/all-commands.ts";

/** `rollcall … --help` explains every flag and argument: a flag with no text leaves an admin guessing what it takes. */
function leaves(command: Command, path: string[] = ["rollcall"]): { path: string; command: Command }[] {
  const here = [...path, command.name()];
  return [{ path: here.join(" "), command }, ...command.commands.flatMap((sub) => leaves(sub, here))];
}

describe("rollcall --help", () => {
  const commands = allCommands().flatMap((command) => leaves(command));

  it("describes every command, flag and argument", () => {
    const undescribed = commands.flatMap(({ path, command }) => [
      ...(command.description() ? [] : [`${path}: the command`]),
      ...command.options.filter((o) => !o.hidden && !o.negate && !o.description).map((o) => `${path} ${o.flags}`),
      ...command.registeredArguments.filter((a) => !a.description).map((a) => `${path} <${a.name()}>`),
    ]);
    expect(undescribed).toEqual([]);
  });
});
