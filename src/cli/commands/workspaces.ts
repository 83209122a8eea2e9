import { Command, Option } from "commander";
import { createWorkspace, deleteWorkspace, listWorkspaces, resolveWorkspace, updateWorkspace } from "../../core/workspaces.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../../core/tokens.ts";
import { migrateToLatest } from "../../storage/database.ts";
import { confirm, nothingToChange, run, suggest, table, withConfirmation, withJson, workspaceCommand, workspaceContext } from "../io.ts";

export function workspacesCommand(): Command {
  const workspaces = new Command("workspaces").description("list and manage workspaces");
  workspaces.addCommand(
    withJson(new Command("list").description("list workspaces")).action(async (opts) =>
      run(opts, (rt) => listWorkspaces(rt.store.db), { human: (list) => table(list, ["name", "defaultCountry", "createdAt"], "No workspaces yet: add one with `rollcall workspaces add NAME`.") }),
    ),
  );
  workspaces.addCommand(
    withJson(new Command("add").alias("create").description("create a workspace"))
      .argument("<name>", "1-63 letters, digits, '.', '_' or '-'")
      .option("--default-country <CC>", "ISO country code used to read local phone numbers (e.g. US, GB)")
      .action(async (name: string, opts) =>
        run(opts, (rt) => createWorkspace(rt.store.db, { name, defaultCountry: opts.defaultCountry }), { human: (w) => `added workspace ${w.name}` }),
      ),
  );
  workspaces.addCommand(
    withJson(new Command("show").description("show a workspace"))
      .argument("<name>", "workspace name or id")
      .action(async (name: string, opts) => run(opts, (rt) => resolveWorkspace(rt.store.db, name), { human: (w) => `${w.name} (default country ${w.defaultCountry ?? "none"})` })),
  );
  workspaces.addCommand(
    withJson(new Command("update").description("change a workspace's settings"))
      .argument("<name>", "workspace name or id")
      .option("--default-country <CC>", 'ISO country code used to read local phone numbers (e.g. US, GB); "" for none')
      .action(async (name: string, opts) =>
        run(opts, async (rt) => {
          if (opts.defaultCountry === undefined) throw nothingToChange("workspaces update", "--default-country GB");
          return updateWorkspace(rt.store.db, await resolveWorkspace(rt.store.db, name), { defaultCountry: opts.defaultCountry }, "cli");
        }, { human: (w) => `updated workspace ${w.name}` }),
      ),
  );
  workspaces.addCommand(
    withConfirmation(withJson(new Command("remove").description("delete a workspace and everything in it (asks first on a terminal)")))
      .argument("<name>", "workspace name or id")
      .action(async (name: string, opts) =>
        run(opts, async (rt) => {
          const workspace = await resolveWorkspace(rt.store.db, name);
          await confirm(opts, () => `Delete workspace "${workspace.name}" and everything in it (its users, groups, sources and history)? This cannot be undone.`);
          await deleteWorkspace(rt.store.db, workspace);
          return workspace;
        }, { human: (w) => `removed workspace ${w.name}` }),
      ),
  );
  return workspaces;
}

export function tokensCommand(): Command {
  const tokens = new Command("tokens").description("API tokens for scripts (Authorization: Bearer …)");
  tokens.addCommand(
    workspaceCommand("create", "create a token; it is shown once")
      .alias("add")
      .addOption(new Option("--role <role>", "what the token may do: admin changes, viewer only reads").choices(["admin", "viewer"]).default("admin"))
      .option("--name <name>", "what the token is for (default: token and the time it was made)")
      .option("--expires-in-days <days>", "refuse the token after this many days (default: it never expires)")
      .action(async (opts) =>
        run(opts, async (rt) => createApiToken(rt.store.db, (await workspaceContext(rt, opts)).workspace, { name: opts.name, role: opts.role, expiresInDays: opts.expiresInDays === undefined ? undefined : Number(opts.expiresInDays) }, "cli"), {
          human: (t) => `${t.token}\n(token "${t.name}", role ${t.role}, workspace ${t.workspace}${t.expiresAt ? `, expires ${t.expiresAt}` : ""}; it is not shown again)`,
        }),
      ),
  );
  tokens.addCommand(
    workspaceCommand("list", "list tokens (never their values)").action(async (opts) =>
      run(opts, async (rt) => listApiTokens(rt.store.db, (await workspaceContext(rt, opts)).workspace), { human: (list) => table(list, ["id", "name", "role", "createdAt", "lastUsedAt", "expiresAt", "revokedAt"], `No API tokens in workspace ${opts.workspace} yet: create one with ${suggest(["tokens", "create"], opts.workspace)}.`) }),
    ),
  );
  tokens.addCommand(
    workspaceCommand("revoke", "revoke a token")
      .argument("<id>", "the token's id (from tokens list)")
      .action(async (id: string, opts) =>
        run(opts, async (rt) => revokeApiToken(rt.store.db, (await workspaceContext(rt, opts)).workspace, id, "cli"), { human: (t) => `revoked token ${t.name}` }),
      ),
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
