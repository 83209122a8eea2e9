import { Command, Option } from "commander";
import { currentStatusChange, nextSyncSentence, statusSentence, type OpenConflict, type StatusChange } from "../../domain/user-status.ts";
import { invalidInput } from "../../errors.ts";
import { sourceTypes, type User, type UserRef } from "../../domain/user.ts";
import type { NestedGroup } from "../../domain/group.ts";
import type { SavedUser } from "../../core/users.ts";
import { userSorts, type UserFilter, type UserSort } from "../../storage/queries/users.ts";
import { historyText } from "../change-lines.ts";
import type { Departments, Directory, Tags, UserHistory } from "../directory.ts";
import { maxBulkUsers, type BulkAction, type BulkResult } from "../../domain/bulk.ts";
import { collect, confirm, directoryCommand, nothingToChange, suggest, type GlobalOptions, positiveInteger, runOn, table, withConfirmation } from "../io.ts";
import { sourceCell } from "../../domain/source.ts";
import { microsoftLinkCommand, unlinkMicrosoftCommand } from "./user-microsoft-link.ts";
import { photoCommand, setPhotoCommand } from "./user-photo.ts";
import { allOf } from "../json-stream.ts";

/** Flags are the kebab-case forms of the JSON field names; list fields repeat (singular or plural name). */
const scalarFlags = [
  ["userPrincipalName", "--user-principal-name <upn>", "sign-in name, e.g. ada@contoso.com"],
  ["email", "--email <email>", "email address"],
  ["displayName", "--display-name <name>", "full name as shown (required)"],
  ["givenName", "--given-name <name>", "first name"],
  ["surname", "--surname <name>", "last name"],
  ["department", "--department <name>", "department"],
  ["jobTitle", "--job-title <title>", "job title"],
  ["employeeId", "--employee-id <id>", "employee ID"],
  ["mobilePhone", "--mobile-phone <phone>", "international (+44 7911 123456), or local with the workspace's default country"],
  ["preferredLanguage", "--preferred-language <tag>", "language tag, e.g. en-GB"],
  ["pin", "--pin <digits>", "4 to 12 digits"],
] as const;
const listFlags = [
  ["businessPhones", "business-phone"],
  ["aliases", "alias"],
  ["cardNumbers", "card-number"],
  ["tags", "tag"],
] as const;

function withUserFields(command: Command, attributeHelp = "repeatable", listHelp = ""): Command {
  for (const [, flag, help] of scalarFlags) command.option(flag, help);
  for (const [field, singular] of listFlags) {
    command.option(`--${singular} <value>`, `repeat for several ${field}${listHelp}`, collect);
    command.addOption(new Option(`--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} <value>`).argParser(collect).hideHelp());
  }
  command.option("--custom-attribute <key=value>", attributeHelp, collect);
  command.option("--enabled <true|false>", "whether the user may sign in and be used");
  return command;
}

type Flags = Record<string, unknown>;

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Turn parsed flags into the same input object the API takes; only given flags are included. */
export function userInputFromFlags(flags: Flags): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [field] of scalarFlags) if (flags[field] !== undefined) input[field] = flags[field];
  for (const [field, singular] of listFlags) {
    const given = [...((flags[camel(singular)] as string[]) ?? []), ...((flags[field] as string[]) ?? [])];
    // An empty value (--alias "") gives none: alone, it empties the list.
    if (given.length) input[field] = given.filter((value) => value !== "");
  }
  if (flags.customAttribute) {
    // Merged into the user's (see updateUser): key= removes the key.
    const attributes: Record<string, string | null> = {};
    for (const pair of flags.customAttribute as string[]) {
      const at = pair.indexOf("=");
      if (at <= 0) throw invalidInput([{ field: "customAttributes", message: `"${pair}" must be key=value`, value: pair }]);
      attributes[pair.slice(0, at)] = pair.slice(at + 1) || null;
    }
    input.customAttributes = attributes;
  }
  if (flags.enabled !== undefined) input.enabled = parseBoolean("enabled", flags.enabled as string);
  if (flags.manager !== undefined) input.manager = flags.manager === "" ? null : flags.manager;
  return input;
}

export function parseBoolean(field: string, value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  throw invalidInput([{ field, message: `"${value}" must be true or false`, value }]);
}

/** The Users page's filters, for `users list` and `export`. */
export function withUserFilter(command: Command): Command {
  return command
    .option("--source <name>", "only users from this source (e.g. an Entra source, an import file name, or manual)")
    .addOption(new Option("--source-type <type>", "only users from this kind of source").choices(sourceTypes))
    .option("--tag <tag>", 'only users with this tag, in any case, e.g. "ID synced" (users tags lists them)')
    .option("--enabled <true|false>", "only enabled or disabled users")
    .option("--group <name>", "only direct members of this group")
    .option("--nested", "with --group: also members of the groups nested in it, at any depth")
    .option("--department <name>", "only users of this department (exact, any case; users without one never match)")
    .option("--has-department <true|false>", "only users with a department (true) or without one (false)")
    .option("--manager <user>", "only the direct reports of this user (id, email or user principal name)")
    .option("-q, --search <text>", "name, email, UPN or employee id contains; a whole card number or alias, or a phone number, finds its holder");
}

export function userFilterFromFlags(flags: Flags): UserFilter {
  return {
    source: flags.source as string | undefined,
    sourceType: flags.sourceType as string | undefined,
    tag: flags.tag as string | undefined,
    group: flags.group as string | undefined,
    nested: flags.nested === true ? true : undefined,
    department: flags.department as string | undefined,
    q: flags.search as string | undefined,
    enabled: flags.enabled === undefined ? undefined : parseBoolean("enabled", flags.enabled as string),
    hasDepartment: flags.hasDepartment === undefined ? undefined : parseBoolean("hasDepartment", flags.hasDepartment as string),
    manager: flags.manager as string | undefined,
  };
}

const refText = (u: UserRef) => `${u.displayName} <${u.email ?? u.id}>`;
const userHeading = (user: User) => `${user.displayName} <${user.email ?? user.userPrincipalName ?? ""}>`;

/**
 * A user as `users show` prints them: why they are enabled or disabled and what the next sync does to it, an open
 * conflict, and `nestedGroups` (their own page's) each with the direct groups it comes through.
 */
export function describeUser(user: User & { nestedGroups?: NestedGroup[]; directReports?: UserRef[]; statusChange?: StatusChange | null; openConflict?: OpenConflict | null }): string {
  const row = (label: string, value: unknown) => `  ${`${label}:`.padEnd(12)} ${String(value)}`;
  const change = currentStatusChange(user, user.statusChange);
  const nextSync = user.statusChange === undefined ? null : nextSyncSentence(user, change);
  const lines = [
    `${userHeading(user)}  ${user.enabled ? "enabled" : "DISABLED"}`,
    ...(change && (change.action !== "create" || !user.enabled) ? [row("status", `${statusSentence(change, change.at)}${change.runId ? ` (run ${change.runId})` : ""}.`)] : []),
    ...(nextSync ? [row("next sync", nextSync)] : []),
    ...(user.openConflict ? [row("conflict", `${user.openConflict.message} (${user.openConflict.runId ? `run ${user.openConflict.runId}, ` : ""}${user.openConflict.at})`)] : []),
    row("id", user.id),
    row("source", `${user.source.type} "${user.source.name}"${user.source.externalId ? ` (${user.source.externalId})` : ""}`),
    row("tags", user.tags.join(", ")),
  ];
  const optional: [string, unknown][] = [
    ["upn", user.userPrincipalName], ["given name", user.givenName], ["surname", user.surname], ["department", user.department],
    ["job title", user.jobTitle], ["employee id", user.employeeId], ["language", user.preferredLanguage],
    ["mobile", user.mobilePhone], ["phones", user.businessPhones.join(", ")], ["aliases", user.aliases.join(", ")],
    ["cards", user.cardNumbers.join(", ")], ["groups", user.groups.join(", ")],
    ["nested in", (user.nestedGroups ?? []).map((g) => `${g.name} (through ${g.through.join(", ")})`).join(", ")],
    ["manager", user.manager && refText(user.manager)],
    ["reports", (user.directReports ?? []).map(refText).join(", ")],
    ...Object.entries(user.customAttributes).map(([name, value]): [string, unknown] => [`custom:${name}`, value]),
  ];
  for (const [label, value] of optional) if (value) lines.push(row(label, value));
  return lines.join("\n");
}

/** A saved user as `users add|update` print it; what its values lost goes to standard error, a "warning: …" line each. */
function describeSaved(done: string, user: SavedUser): string {
  for (const warning of user.warnings) process.stderr.write(`warning: ${warning}\n`);
  const { warnings: _shown, ...rest } = user;
  return `${done} ${describeUser(rest)}`;
}

const describeHistory = (history: UserHistory) =>
  historyText(history.user ? userHeading(history.user) : `${history.changes.find((c) => c.action === "delete")?.subject ?? "A user"} (deleted)`, history);

/** What the next run of a synced user's source makes of a change made here, as the console's confirmation says it. */
function undoneBySync(action: BulkAction, source: string): string {
  const next = action === "delete"
    ? "creates them again, as a new user with only what Entra ID holds (a PIN, cards, aliases, tags or console access given here are lost), unless they are removed or unassigned in Entra ID (disable them instead to keep what they hold here)"
    : "sets their status back to what Entra ID reports; change it there to make it last";
  return `synced from Entra ID source "${source}": its next sync ${next}`;
}

/**
 * `users disable|enable|remove USER...`: one user answers that user, as it always did; several are changed
 * together, all or nothing (a user not found changes none), and the answer counts them.
 */
function eachUserCommand(name: string, description: string, action: BulkAction, done: string, one: (directory: Directory, key: string) => Promise<User>): Command {
  const command = withUserFilter(directoryCommand(name, `${description}; several at once are all or nothing`));
  return (action === "delete" ? withConfirmation(command) : command)
    .argument("[users...]", `ids, emails or user principal names (at most ${maxBulkUsers})`)
    .option("--matching", "instead of naming users: every user the filters match, however many (no filter is every user)")
    .action(async (keys: string[], opts) => {
      // One user already in the state asked for is answered as such (the bulk answer counts them the same way).
      let already = false;
      return runOn(
        opts,
        async (directory): Promise<User | BulkResult> => {
          const filter = userFilterFromFlags(opts);
          const filtered = Object.values(filter).some((v) => v !== undefined);
          if (opts.matching ? keys.length > 0 : keys.length === 0 || filtered) {
            throw invalidInput([{ field: "users", message: "name the users, or give --matching with the filters that select them (not both)" }]);
          }
          if (opts.matching && action === "delete") {
            await confirm(opts, async () => {
              const n = (await directory.users.count(filter)).toLocaleString("en-US");
              return `${filtered ? `Delete the ${n} user(s) these filters match` : `Delete all ${n} user(s) of workspace ${opts.workspace}`}? This cannot be undone.`;
            });
          }
          if (keys.length > 1 || opts.matching) return directory.users.bulk({ action, ...(opts.matching ? { filter } : { users: keys }) });
          if (action !== "delete") already = (await directory.users.get(keys[0]!)).enabled === (action === "enable");
          return one(directory, keys[0]!);
        },
        {
          human: (r) => {
            if ("action" in r) return `${done} ${r.changed} user(s)${r.unchanged ? `; ${r.unchanged} already ${done}` : ""}`;
            if (already) return `${r.displayName} <${r.email ?? ""}> was already ${done}; nothing changed`;
            if (r.source.type === "entra") process.stderr.write(`warning: ${undoneBySync(action, r.source.name)}\n`);
            return `${done} ${r.displayName} <${r.email ?? ""}>`;
          },
        },
      );
    });
}

/**
 * `users tag USER... --add TAG | --remove TAG`, or `--matching` with the filters of `users list`: one bulk action,
 * all or nothing, counting the users who already had (or lacked) the tag. `--tag` stays the filter it is everywhere.
 */
function tagCommand(): Command {
  return withUserFilter(directoryCommand("tag", "add a tag to users, or remove one from them, all or nothing (source tags such as ID synced are Rollcall's own and refused)"))
    .argument("[users...]", `ids, emails or user principal names (at most ${maxBulkUsers})`)
    .option("--add <tag>", "the tag to add (users who have it, in any case, are left as they are)")
    .option("--remove <tag>", "the tag to remove (users without it are left as they are)")
    .option("--matching", "instead of naming users: every user the filters match, however many (no filter is every user)")
    .action(async (keys: string[], opts) =>
      runOn(
        opts,
        async (directory) => {
          if ((opts.add === undefined) === (opts.remove === undefined)) throw invalidInput([{ field: "tag", message: "give the tag to add (--add TAG) or to remove (--remove TAG), one of them" }]);
          const filter = userFilterFromFlags(opts);
          const filtered = Object.values(filter).some((v) => v !== undefined);
          if (opts.matching ? keys.length > 0 : keys.length === 0 || filtered) {
            throw invalidInput([{ field: "users", message: "name the users, or give --matching with the filters that select them (not both)" }]);
          }
          const tag = { action: opts.add !== undefined ? ("addTag" as const) : ("removeTag" as const), tag: (opts.add ?? opts.remove) as string };
          return directory.users.bulk({ ...tag, ...(opts.matching ? { filter } : { users: keys }) });
        },
        {
          human: (r) =>
            r.action === "addTag"
              ? `added tag "${r.tag}" to ${r.changed} user(s)${r.unchanged ? `; ${r.unchanged} had it already` : ""}`
              : `removed tag "${r.tag}" from ${r.changed} user(s)${r.unchanged ? `; ${r.unchanged} did not have it` : ""}`,
        },
      ),
    );
}

function forgetCommand(): Command {
  return withConfirmation(directoryCommand("forget", "erase a deleted user's history, every entry about them (a request to forget a person); the activity keeps that it was done"))
    .argument("<user>", "the deleted user's id, email or user principal name")
    .action(async (key: string, opts) =>
      runOn(opts, async (directory) => {
        await confirm(opts, () => `Erase every history entry about deleted user ${key}? This cannot be undone.`);
        return directory.users.forget(key);
      }, { human: (r) => `erased ${r.entries} history entr${r.entries === 1 ? "y" : "ies"} of deleted user ${r.userId}` }),
    );
}

function describeDepartments({ items, withoutDepartment }: Departments): string {
  const rows = [...items.map((d) => ({ department: d.department, users: d.users })), ...(withoutDepartment ? [{ department: "(none: --has-department false)", users: withoutDepartment }] : [])];
  return table(rows, ["department", "users"], "No users yet, so no departments.");
}

function describeTags({ items }: Tags): string {
  return table(items.map((t) => ({ tag: t.tag, users: t.users, kind: t.source ? "source's" : "" })), ["tag", "users", "kind"], "No users yet, so no tags.");
}

function noUsers(opts: Flags & GlobalOptions): string {
  const filtered = Object.values(userFilterFromFlags(opts)).some((v) => v !== undefined);
  if (filtered) return `No users in workspace ${opts.workspace} match these filters.`;
  return `No users in workspace ${opts.workspace} yet: add one with ${suggest(["users", "add", "--email", "EMAIL", "--display-name", "NAME"], opts.workspace)}, or import a file with ${suggest(["import", "FILE"], opts.workspace)}.`;
}

export function usersCommand(): Command {
  const users = new Command("users").description("list and manage users");

  users.addCommand(
    withUserFilter(directoryCommand("list", "list users (all of them, or filtered)"))
      .addOption(new Option("--sort <field>", "order by this field").choices(userSorts).default("displayName"))
      .option("--limit <n>", "at most this many (default: all)", positiveInteger)
      .action(async (opts) =>
        runOn(opts, async (directory) => directory.users.list(userFilterFromFlags(opts), { sort: opts.sort as UserSort, limit: opts.limit }), { human: async (pages) => table((await allOf(pages)).map((u) => ({ ...u, source: sourceCell(u.source) })), ["displayName", "email", "enabled", "source", "tags", "groups"], noUsers(opts)) }),
      ),
  );

  users.addCommand(
    directoryCommand("departments", "the departments of the workspace's users, with how many users each (what --department takes)").action(async (opts) =>
      runOn(opts, (directory) => directory.users.departments(), { human: describeDepartments }),
    ),
  );

  users.addCommand(
    directoryCommand("tags", "the tags the workspace's users hold, with how many users each, sources' own marked (what --tag takes)").action(async (opts) =>
      runOn(opts, (directory) => directory.users.tags(), { human: describeTags }),
    ),
  );

  users.addCommand(
    directoryCommand("show", "show one user (by id or email)")
      .argument("<user>", "id, email or user principal name")
      .action(async (key: string, opts) => runOn(opts, (directory) => directory.users.get(key), { human: describeUser })),
  );

  users.addCommand(
    directoryCommand("history", "one user's change log, newest first: who changed what, before and after")
      .argument("<user>", "id, email or user principal name")
      .option("--limit <n>", "how many changes", positiveInteger, 50)
      .action(async (key: string, opts) => runOn(opts, (directory) => directory.users.history(key, opts.limit), { human: describeHistory })),
  );

  users.addCommand(
    withUserFields(directoryCommand("add", "add a user by hand").alias("create"))
      .option("--manager <user>", "the manager: another user's id, email or user principal name")
      .action(async (opts) => runOn(opts, async (directory) => directory.users.add(userInputFromFlags(opts)), { human: (u) => describeSaved("added", u) })),
  );

  users.addCommand(
    withUserFields(directoryCommand("update", 'change fields of a user (an empty value, "", clears one); the others stay as they are'), "key=value sets one custom attribute, key= removes it; the others stay (repeatable)", '; replaces the list, "" alone empties it')
      .argument("<user>", "id, email or user principal name")
      .option("--manager <user>", 'the manager: a user\'s id, email or user principal name ("" for none); a synced user\'s comes from its source')
      .action(async (key: string, opts) =>
        runOn(opts, async (directory) => {
          const input = userInputFromFlags(opts);
          if (Object.keys(input).length === 0) throw nothingToChange("users update", "--display-name NAME or --enabled false");
          return directory.users.update(key, input);
        }, { human: (u) => describeSaved("updated", u) }),
      ),
  );

  users.addCommand(
    eachUserCommand("disable", "disable users (kept, refused sign-in)", "disable", "disabled", (directory, key) => directory.users.disable(key)),
  );
  users.addCommand(
    eachUserCommand("enable", "enable disabled users again", "enable", "enabled", async (directory, key) => {
      const { warnings: _none, ...user } = await directory.users.update(key, { enabled: true });
      return user;
    }),
  );
  users.addCommand(
    eachUserCommand("remove", "delete users", "delete", "removed", (directory, key) => directory.users.remove(key)).alias("delete"),
  );
  users.addCommand(tagCommand());
  users.addCommand(forgetCommand());
  users.addCommand(microsoftLinkCommand());
  users.addCommand(unlinkMicrosoftCommand());
  users.addCommand(photoCommand());
  users.addCommand(setPhotoCommand());

  return users;
}
