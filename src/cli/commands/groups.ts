import { Command } from "commander";
import { addMember, createGroup, deleteGroup, getGroup, listGroups, removeMember } from "../../core/groups.ts";
import type { Group } from "../../domain/group.ts";
import { run, table, workspaceCommand, workspaceContext } from "../io.ts";

function describeGroup(group: Group): string {
  return [
    `${group.name}${group.description ? ` — ${group.description}` : ""}`,
    `  id:      ${group.id}`,
    `  source:  ${group.source.type} "${group.source.name}"`,
    `  members (${group.memberCount}): ${group.members.join(", ") || "(none)"}`,
  ].join("\n");
}

export function groupsCommand(): Command {
  const groups = new Command("groups").description("list and manage groups and their members");

  groups.addCommand(
    workspaceCommand("list", "list groups with their direct members")
      .option("--source <name>", "only groups from this source")
      .option("-q, --search <text>", "name contains")
      .action(async (opts) =>
        run(opts, async (rt) => {
          const ctx = await workspaceContext(rt, opts);
          const all: Group[] = [];
          for (;;) {
            const { items } = await listGroups(ctx, { q: opts.search, source: opts.source }, { limit: 500, offset: all.length });
            all.push(...items);
            if (items.length < 500) return all;
          }
        }, { human: (list) => table(list.map((g) => ({ ...g, source: g.source.name })), ["name", "description", "source", "memberCount"]) }),
      ),
  );

  groups.addCommand(
    workspaceCommand("show", "show a group and its members")
      .argument("<group>", "group name or id")
      .action(async (key: string, opts) => run(opts, async (rt) => getGroup(await workspaceContext(rt, opts), key), { human: describeGroup })),
  );

  groups.addCommand(
    workspaceCommand("add", "create a group")
      .argument("<name>")
      .option("--description <text>")
      .action(async (name: string, opts) =>
        run(opts, async (rt) => createGroup(await workspaceContext(rt, opts), { name, description: opts.description }), { human: (g) => `added group ${g.name}` }),
      ),
  );

  groups.addCommand(
    workspaceCommand("remove", "delete a group (its members stay)")
      .alias("delete")
      .argument("<group>", "group name or id")
      .action(async (key: string, opts) => run(opts, async (rt) => deleteGroup(await workspaceContext(rt, opts), key), { human: (g) => `removed group ${g.name}` })),
  );

  const members = new Command("members").description("list, add or remove direct members of a group");
  members.addCommand(
    workspaceCommand("list", "list direct members")
      .argument("<group>")
      .action(async (key: string, opts) => run(opts, async (rt) => (await getGroup(await workspaceContext(rt, opts), key)).members, { human: (m) => m.join("\n") || "(no members)" })),
  );
  members.addCommand(
    workspaceCommand("add", "add a user (id or email) or a group (name) as a direct member")
      .argument("<group>")
      .argument("<member>")
      .action(async (key: string, member: string, opts) =>
        run(opts, async (rt) => addMember(await workspaceContext(rt, opts), key, member), { human: (g) => `${member} is a member of ${g.name}` }),
      ),
  );
  members.addCommand(
    workspaceCommand("remove", "remove a direct member")
      .argument("<group>")
      .argument("<member>")
      .action(async (key: string, member: string, opts) =>
        run(opts, async (rt) => removeMember(await workspaceContext(rt, opts), key, member), { human: (g) => `${member} removed from ${g.name}` }),
      ),
  );
  groups.addCommand(members);
  return groups;
}
