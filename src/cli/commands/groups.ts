import { Command, InvalidArgumentError } from "commander";
import { sourceTypes, type SourceType } from "../../domain/user.ts";
import type { GroupDetail } from "../../domain/group.ts";
import { describeActor } from "../../domain/actor.ts";
import { historyText } from "../change-lines.ts";
import { directoryCommand, nothingToChange, positiveInteger, runOn, suggest, table } from "../io.ts";
import { sourceCell } from "../../domain/source.ts";
import { maxBulkUsers, type BulkResult } from "../../domain/bulk.ts";
import { invalidInput } from "../../errors.ts";
import { userFilterFromFlags, withUserFilter } from "./users.ts";

/** --source-type manual,import: each one a kind of source, or a usage error naming them. */
function sourceTypeList(text: string): SourceType[] {
  const types = text.split(",").map((type) => type.trim());
  const unknown = types.find((type) => !(sourceTypes as readonly string[]).includes(type));
  if (unknown !== undefined) throw new InvalidArgumentError(`"${unknown}" is not a source type; use ${sourceTypes.join(", ")}, or several comma-separated`);
  return types as SourceType[];
}

function describeGroup(group: GroupDetail): string {
  return [
    `${group.name}${group.description ? ` — ${group.description}` : ""}`,
    `  id:      ${group.id}`,
    `  source:  ${group.source.type} "${group.source.name}"`,
    ...(group.memberOf.length ? [`  member of: ${group.memberOf.join(", ")}`] : []),
    `  users at any depth: ${group.nestedUserCount} (its own and its nested groups', each once: users list --group NAME --nested)`,
    `  members (${group.memberCount}):${group.members.length ? "" : " (none)"}`,
    ...group.members.map((member) => `    ${member}`),
  ].join("\n");
}

export function groupsCommand(): Command {
  const groups = new Command("groups").description("list and manage groups and their members");

  groups.addCommand(
    directoryCommand("list", "list groups with their direct members")
      .option("--source <name>", "only groups from this source")
      .option("--source-type <types>", `only groups of these kinds of source, comma-separated (${sourceTypes.join(", ")}); manual,import: the groups that can be changed here`, sourceTypeList)
      .option("-q, --search <text>", "name contains")
      .action(async (opts) =>
        runOn(opts, (directory) => directory.groups.list({ q: opts.search, source: opts.source, sourceType: opts.sourceType }), { human: (list) => table(list.map((g) => ({ ...g, source: sourceCell(g.source) })), ["name", "description", "source", "memberCount"], opts.search || opts.source || opts.sourceType ? `No groups in workspace ${opts.workspace} match these filters.` : `No groups in workspace ${opts.workspace} yet: add one with ${suggest(["groups", "add", "NAME"], opts.workspace)}.`) }),
      ),
  );

  groups.addCommand(
    directoryCommand("show", "show a group and its members")
      .argument("<group>", "group name or id")
      .action(async (key: string, opts) => runOn(opts, (directory) => directory.groups.get(key), { human: describeGroup })),
  );

  groups.addCommand(
    directoryCommand("history", "one group's change log, newest first: the group's own changes and its members coming and going (a deleted group's too, by the name or id it had)")
      .argument("<group>", "group name or id")
      .option("--limit <n>", "how many changes", positiveInteger, 50)
      .action(async (key: string, opts) => runOn(opts, (directory) => directory.groups.history(key, opts.limit), { human: (h) => historyText(h.group ? h.group.name : `${h.deleted!.name} (deleted ${h.deleted!.deletedAt} by ${describeActor(h.deleted!.deletedBy)}, group ${h.deleted!.id})`, h, true) })),
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
  members.addCommand(memberChangeCommand("add"));
  members.addCommand(memberChangeCommand("remove"));
  groups.addCommand(members);
  return groups;
}

/**
 * `groups members add|remove GROUP MEMBER...`: one member (a user or a group) as ever; several users, or with
 * --matching every user the filters of `users list` match, in one bulk action, all or nothing, as the Users page's
 * "Add to group" does.
 */
function memberChangeCommand(verb: "add" | "remove"): Command {
  const adding = verb === "add";
  return withUserFilter(
    directoryCommand(verb, adding ? "add direct members: a user or a group, several users at once, or every user the filters match (--matching)" : "remove direct members: a user or a group, several users at once, or every user the filters match (--matching)"),
  )
    .argument("<group>", "group name or id")
    .argument("[members...]", `a user's id, email or user principal name, or a group's name or id; several: users only (at most ${maxBulkUsers}), all or nothing`)
    .option("--matching", `instead of naming members: every user the filters match, however many (no filter is every user)`)
    .action(async (key: string, keys: string[], opts) =>
      runOn(
        opts,
        async (directory): Promise<(GroupDetail & { added?: boolean }) | BulkResult> => {
          const filter = userFilterFromFlags(opts);
          const filtered = Object.values(filter).some((v) => v !== undefined);
          if (opts.matching ? keys.length > 0 : keys.length === 0 || filtered) {
            throw invalidInput([{ field: "members", message: "name the members, or give --matching with the filters that select the users (not both)" }]);
          }
          if (keys.length === 1) return adding ? directory.groups.addMember(key, keys[0]!) : directory.groups.removeMember(key, keys[0]!);
          return directory.users.bulk({ action: adding ? "addToGroup" : "removeFromGroup", group: key, ...(opts.matching ? { filter } : { users: keys }) });
        },
        {
          human: (r) => {
            if ("action" in r) {
              const unchanged = r.unchanged ? `; ${r.unchanged} ${adding ? "were members already" : "were not members"}` : "";
              return `${adding ? "added" : "removed"} ${r.changed} user(s) ${adding ? "to" : "from"} ${r.group}${unchanged}`;
            }
            if (!adding) return `${keys[0]} removed from ${r.name}`;
            return `${keys[0]} ${r.added ? "is" : "was already"} a member of ${r.name}`;
          },
        },
      ),
    );
}
