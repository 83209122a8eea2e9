import { Command } from "commander";
import type { GroupWithMembers } from "../../domain/group.ts";
import { historyText } from "../change-lines.ts";
import { directoryCommand, nothingToChange, positiveInteger, runOn, suggest, table } from "../io.ts";
import { sourceCell } from "../../domain/source.ts";

function describeGroup(group: GroupWithMembers): string {
  return [
    `${group.name}${group.description ? ` — ${group.description}` : ""}`,
    `  id:      ${group.id}`,
    `  source:  ${group.source.type} "${group.source.name}"`,
    ...(group.memberOf.length ? [`  member of: ${group.memberOf.join(", ")}`] : []),
    `  members (${group.memberCount}):${group.members.length ? "" : " (none)"}`,
    ...group.members.map((member) => `    ${member}`),
  ].join("\n");
}

export function groupsCommand(): Command {
  const groups = new Command("groups").description("list and manage groups and their members");

  groups.addCommand(
    directoryCommand("list", "list groups with their direct members")
      .option("--source <name>", "only groups from this source")
      .option("-q, --search <text>", "name contains")
      .action(async (opts) =>
        runOn(opts, (directory) => directory.groups.list({ q: opts.search, source: opts.source }), { human: (list) => table(list.map((g) => ({ ...g, source: sourceCell(g.source) })), ["name", "description", "source", "memberCount"], opts.search || opts.source ? `No groups in workspace ${opts.workspace} match these filters.` : `No groups in workspace ${opts.workspace} yet: add one with ${suggest(["groups", "add", "NAME"], opts.workspace)}.`) }),
      ),
  );

  groups.addCommand(
    directoryCommand("show", "show a group and its members")
      .argument("<group>", "group name or id")
      .action(async (key: string, opts) => runOn(opts, (directory) => directory.groups.get(key), { human: describeGroup })),
  );

  groups.addCommand(
    directoryCommand("history", "one group's change log, newest first: the group's own changes and its members coming and going")
      .argument("<group>", "group name or id")
      .option("--limit <n>", "how many changes", positiveInteger, 50)
      .action(async (key: string, opts) => runOn(opts, (directory) => directory.groups.history(key, opts.limit), { human: (h) => historyText(`${h.group.name}`, h, true) })),
  );

  groups.addCommand(
    directoryCommand("add", "create a group")
      .alias("create")
      .argument("<name>", "the group's name (unique in the workspace, without case)")
      .option("--description <text>", "what the group is for")
      .action(async (name: string, opts) =>
        runOn(opts, (directory) => directory.groups.add({ name, description: opts.description }), { human: (g) => `added group ${g.name}` }),
      ),
  );

  groups.addCommand(
    directoryCommand("update", "rename a group or change its description (a group added here or imported; a synced group's name comes from Entra ID)")
      .argument("<group>", "group name or id")
      .option("--name <name>", "its new name (unique in the workspace, without case)")
      .option("--description <text>", 'what the group is for; "" for none')
      .action(async (key: string, opts) =>
        runOn(opts, async (directory) => {
          const input = { ...(opts.name !== undefined && { name: opts.name }), ...(opts.description !== undefined && { description: opts.description || null }) };
          if (Object.keys(input).length === 0) throw nothingToChange("groups update", '--name "New name" or --description TEXT');
          return directory.groups.update(key, input);
        }, { human: (g) => `updated group ${g.name}` }),
      ),
  );

  groups.addCommand(
    directoryCommand("remove", "delete a group (its members stay)")
      .alias("delete")
      .argument("<group>", "group name or id")
      .action(async (key: string, opts) => runOn(opts, (directory) => directory.groups.remove(key), { human: (g) => `removed group ${g.name}${g.memberOf.length ? `; it left ${g.memberOf.join(", ")}` : ""}` })),
  );

  const members = new Command("members").description("list, add or remove direct members of a group");
  members.addCommand(
    directoryCommand("list", "list direct members")
      .argument("<group>", "group name or id")
      .action(async (key: string, opts) => runOn(opts, async (directory) => (await directory.groups.get(key)).members, { human: (m) => m.join("\n") || "(no members)" })),
  );
  members.addCommand(
    directoryCommand("add", "add a user (id or email) or a group (name) as a direct member")
      .argument("<group>", "group name or id")
      .argument("<member>", "a user's id, email or user principal name, or a group's name or id")
      .action(async (key: string, member: string, opts) =>
        runOn(opts, (directory) => directory.groups.addMember(key, member), { human: (g) => `${member} ${g.added ? "is" : "was already"} a member of ${g.name}` }),
      ),
  );
  members.addCommand(
    directoryCommand("remove", "remove a direct member")
      .argument("<group>", "group name or id")
      .argument("<member>", "a user's id, email or user principal name, or a group's name or id")
      .action(async (key: string, member: string, opts) =>
        runOn(opts, (directory) => directory.groups.removeMember(key, member), { human: (g) => `${member} removed from ${g.name}` }),
      ),
  );
  groups.addCommand(members);
  return groups;
}
