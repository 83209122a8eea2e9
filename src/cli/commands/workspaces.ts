import { Command, Option } from "commander";
import { overviewText } from "../workspace-overview-text.ts";
import { migrateToLatest } from "../../storage/database.ts";
import { confirm, directoryCommand, nothingToChange, positiveInteger, run, runOn, runOnWorkspaces, suggest, table, withConfirmation, withJson, withServer } from "../io.ts";

export function workspacesCommand(): Command {
  const workspaces = new Command("workspaces").description("list and manage workspaces");
  const command = (name: string, description: string) => withServer(withJson(new Command(name).description(description)));
  workspaces.addCommand(
    command("list", "list workspaces (through a server: those you may use)")
      .option("--overview", "each workspace's users, open notifications and sources' runs, those needing attention (failed or stopped runs, expiring secrets, conflicts) first with why")
      .action(async (opts) =>
        opts.overview
          ? runOnWorkspaces(opts, (all) => all.overview(), { human: overviewText })
          : runOnWorkspaces(opts, (all) => all.list(), { human: (list) => table(list, ["name", "defaultCountry", "createdAt"], "No workspaces yet: add one with `rollcall workspaces add NAME`.") }),
      ),
  );
  workspaces.addCommand(
    command("add", "create a workspace (through a server: owners only)")
      .alias("create")
      .argument("<name>", "1-63 letters, digits, '.', '_' or '-'")
      .option("--default-country <CC>", "ISO country code used to read local phone numbers (e.g. US, GB)")
      .action(async (name: string, opts) => runOnWorkspaces(opts, (all) => all.add({ name, defaultCountry: opts.defaultCountry }), { human: (w) => `added workspace ${w.name}` })),
  );
  workspaces.addCommand(
    command("show", "show a workspace")
      .argument("<name>", "workspace name or id")
      .action(async (name: string, opts) => runOnWorkspaces(opts, (all) => all.get(name), { human: (w) => `${w.name} (default country ${w.defaultCountry ?? "none"})` })),
  );
  workspaces.addCommand(
    command("update", "change a workspace's settings")
      .argument("<name>", "workspace name or id")
      .option("--default-country <CC>", 'ISO country code used to read local phone numbers (e.g. US, GB); "" for none')
      .action(async (name: string, opts) =>
        runOnWorkspaces(opts, async (all) => {
          if (opts.defaultCountry === undefined) throw nothingToChange("workspaces update", "--default-country GB");
          return all.update(name, { defaultCountry: opts.defaultCountry });
        }, { human: (w) => `updated workspace ${w.name}` }),
      ),
  );
  workspaces.addCommand(
    withConfirmation(command("remove", "delete a workspace and everything in it (asks first on a terminal; through a server: owners only)"))
      .argument("<name>", "workspace name or id")
      .action(async (name: string, opts) =>
        runOnWorkspaces(opts, async (all) => {
          const workspace = await all.get(name);
          await confirm(opts, () => `Delete workspace "${workspace.name}" and everything in it (its users, groups, sources and history)? This cannot be undone.`);
          await all.remove(workspace);
          return workspace;
        }, { human: (w) => `removed workspace ${w.name}` }),
      ),
  );
  return workspaces;
}

export function tokensCommand(): Command {
  const tokens = new Command("tokens").description("API tokens for scripts (Authorization: Bearer …)");
  tokens.addCommand(
    directoryCommand("create", "create a token; it is shown once")
      .alias("add")
      .addOption(new Option("--role <role>", "what the token may do: admin changes, viewer only reads").choices(["admin", "viewer"]).default("admin"))
      .option("--name <name>", "what the token is for (default: token and the time it was made)")
      .option("--expires-in-days <days>", "refuse the token after this many days, 1 to 3650 (default: it never expires)", positiveInteger)
      .action(async (opts) =>
        runOn(opts, (directory) => directory.tokens.create({ name: opts.name, role: opts.role, expiresInDays: opts.expiresInDays }), {
          human: (t) => `${t.token}\n(token "${t.name}", role ${t.role}, workspace ${t.workspace}${t.expiresAt ? `, expires ${t.expiresAt}` : ""}; it is not shown again)`,
        }),
      ),
  );
  tokens.addCommand(
    directoryCommand("list", "list tokens (never their values)").action(async (opts) =>
      runOn(opts, (directory) => directory.tokens.list(), { human: (list) => table(list, ["id", "name", "role", "createdAt", "lastUsedAt", "expiresAt", "revokedAt"], `No API tokens in workspace ${opts.workspace} yet: create one with ${suggest(["tokens", "create"], opts.workspace)}.`) }),
    ),
  );
  tokens.addCommand(
    directoryCommand("revoke", "revoke a token")
      .argument("<id>", "the token's id (from tokens list)")
      .action(async (id: string, opts) => runOn(opts, (directory) => directory.tokens.revoke(id), { human: (t) => `revoked token ${t.name}` })),
  );
  return tokens;
}

export function migrateCommand(): Command {
  return withJson(new Command("migrate").description("bring the database schema up to date (also done at every start)")).action(async (opts) =>
    // Opening the runtime migrates already: what it applied is what this command did.
    run(opts, async (rt) => ({ applied: [...(rt.store.migrated ?? []), ...(await migrateToLatest(rt.store.db))], database: rt.store.kind }), {
      human: (r) => `database (${r.database}) schema is up to date${r.applied.length ? `: applied ${r.applied.join(", ")}` : " (nothing to apply)"}`,
    }),
  );
}
