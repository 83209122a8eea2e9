import { Command, Option } from "commander";
import { loadConfig } from "../../config.ts";
import { resolveWorkspace } from "../../core/workspaces.ts";
import { createAccount, listAccounts, resetPassword } from "../../core/accounts.ts";
import type { Runtime } from "../../runtime.ts";
import type { WaitingListener } from "../../api/waiting-listener.ts";
import { openServeRuntime } from "../serve-start.ts";
import { RollcallError, invalidInput, toRollcallError } from "../../errors.ts";
import { stopRunsHere } from "../../sync/cancel.ts";
import { customUrlsWarning, secretKeyWarning, sourcesWithCustomUrls, unreadableSecrets } from "../../core/start-up-checks.ts";
import { printError, run, table, withJson } from "../io.ts";
import { localActor } from "../local-actor.ts";

/** `rollcall serve`: the API and the web console until SIGINT/SIGTERM, then a clean close. */
export function serveCommand(): Command {
  return new Command("serve")
    .description("serve the REST API and the web console (ROLLCALL_HOST:ROLLCALL_PORT)")
    .option("--host <host>", "listen on this address (default ROLLCALL_HOST)")
    .option("--port <port>", "listen on this port (default ROLLCALL_PORT; 0 picks a free one)")
    .action(async (opts: { host?: string; port?: string }) => {
      try {
        const port = opts.port === undefined ? undefined : Number(opts.port);
        if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
          throw invalidInput([{ field: "port", message: `"${opts.port}" must be a whole number from 0 to 65535`, value: opts.port }]);
        }
        const config = loadConfig();
        const { rt, standIn } = await openServeRuntime(config, { host: opts.host ?? config.host, port: port ?? config.port });
        try {
          await serveUntilStopped(rt, { host: opts.host, port: standIn?.port ?? port, standIn }, (url) => {
            rt.logger.info({ url, database: rt.store.kind }, "rollcall is serving");
            process.stderr.write(`Rollcall is serving ${url} (API at ${url}/api/v1). Press Ctrl+C to stop.\n`);
          });
        } finally {
          await standIn?.close();
          await rt.close();
        }
      } catch (error) {
        const rollcallError = toRollcallError(error);
        printError(rollcallError, false);
        process.exitCode = rollcallError.code === "config_invalid" || rollcallError.code === "invalid_input" ? 2 : 1;
      }
    });
}

/**
 * The API and console plus the background workers, until SIGINT/SIGTERM. The notifier (secret expiry,
 * e-mail, webhooks) and the scheduler both claim their work atomically, so several processes can run this.
 */
export async function serveUntilStopped(rt: Runtime, options: { host?: string | undefined; port?: number | undefined; standIn?: WaitingListener | undefined }, announce: (url: string) => void): Promise<void> {
  // Loaded here, not with the CLI: the API server and its workers are a third of what every command would load.
  const [{ ensureConsoleBuilt }, { startServer }, { startNotifier }, { startScheduler }, { stopCommitsHere }, { stopChangeSyncsHere }, { startSubscriptionUpkeep }] = await Promise.all([
    import("../../console/build.ts"),
    import("../../api/server.ts"),
    import("../../notifications/worker.ts"),
    import("../../sync/scheduler.ts"),
    import("../../core/upload-commits.ts"),
    import("../../sync/change-sync.ts"),
    import("../../sync/subscription-upkeep.ts"),
  ]);
  // A fresh clone has no console build yet; Vite builds it once (a few seconds) and reuses it after.
  await ensureConsoleBuilt({ log: (message) => process.stderr.write(`${message}\n`) });
  const server = await startServer(rt, { host: options.host, port: options.port, beforeListen: options.standIn?.close });
  const notifier = startNotifier(rt);
  const scheduler = startScheduler(rt, { tickMs: rt.config.scheduleCheckMs });
  // Sync on change: subscriptions missing or failed are made now that Graph can reach this server's webhook, and
  // those delivering to an address ROLLCALL_PUBLIC_URL no longer is are made again at it; then kept up every ROLLCALL_SCHEDULE_CHECK_SECONDS, apart from the scheduler.
  const upkeep = startSubscriptionUpkeep(rt, { everyMs: rt.config.scheduleCheckMs });
  // Listened for before the URL is announced: a stop right after it (a test, an impatient operator) closes cleanly.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      rt.logger.info({ signal }, "stopping");
      resolve(signal);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  announce(server.url);
  const warnings = {
    secret_key_mismatch: secretKeyWarning(await unreadableSecrets(rt.store.db, rt.secrets), Boolean(rt.config.secretKey), rt.store.kind === "postgres"),
    entra_custom_urls: rt.config.entraCustomUrls ? undefined : customUrlsWarning(await sourcesWithCustomUrls(rt.store.db)),
  };
  for (const [reason, warning] of Object.entries(warnings)) {
    if (!warning) continue;
    rt.logger.error({ reason }, warning);
    process.stderr.write(`Warning: ${warning}\n`);
  }
  const signal = await stopSignal;
  // Syncs going on here end as failed, rolled back, their sources free: left running, each would keep its source
  // from syncing on every other process sharing the database until its lease expired (a rolling restart behind a
  // load balancer). Again once requests in flight are done, for a sync one of them started meanwhile.
  const stopped = new RollcallError("sync_failed", `The Rollcall server running this sync was stopped (${signal}) before it finished; nothing it had not committed was applied. Sync again.`, { interrupted: signal });
  // An import being committed would hold the stop until it ended: it rolls back instead, and can be committed again.
  stopCommitsHere(new RollcallError("server_stopping", `The Rollcall server was stopped (${signal}) while it imported this file; nothing was imported. Commit it again.`, { interrupted: signal }));
  stopChangeSyncsHere(rt.store);
  const closing = Promise.all([scheduler.stop(), upkeep.stop(), notifier.stop(), server.close()]);
  await stopRunsHere(rt.store.db, stopped);
  await closing;
  await stopRunsHere(rt.store.db, stopped);
}

/** `rollcall admins …`: accounts that sign in to the console and the API. */
export function adminsCommand(): Command {
  const admins = new Command("admins").description("admin accounts that sign in to the web console and the API");
  admins.addCommand(
    withJson(new Command("add").alias("create").description("create an admin account; prints its generated password once"))
      .requiredOption("--email <email>", "the admin's email (their sign-in name)")
      .option("-w, --workspace <name>", "give a role in this workspace (required unless --owner)")
      .addOption(new Option("--role <role>", "role in that workspace").choices(["admin", "viewer"]).default("admin"))
      .option("--owner", "an owner: administers every workspace and can create workspaces")
      .option("--name <display name>", "the name shown for the account (default: its email)")
      .action(async (opts) =>
        run(opts, async (rt) => {
          const workspace = opts.workspace ? await resolveWorkspace(rt.store.db, opts.workspace) : undefined;
          return createAccount(rt.store.db, { email: opts.email, displayName: opts.name, owner: opts.owner, workspace, role: opts.role }, localActor());
        }, {
          human: (r) =>
            `created ${r.account.isOwner ? "owner" : "admin"} account ${r.account.email}` +
            (r.workspaces.length ? ` (${r.workspaces.map((w) => `${w.role} in ${w.workspace}`).join(", ")})` : "") +
            `\npassword: ${r.password}\n(shown only once)`,
          json: (r) => ({ email: r.account.email, password: r.password, account: r.account, workspaces: r.workspaces }),
        }, "admins"),
      ),
  );
  admins.addCommand(
    withJson(new Command("reset-password").description("give an account a new generated password and end its sessions"))
      .argument("<email>", "the account's email")
      .action(async (email: string, opts) =>
        run(opts, (rt) => resetPassword(rt.store.db, email, localActor()), {
          human: (r) => `new password for ${r.account.email}: ${r.password}\n(shown only once; its sessions were signed out)`,
          json: (r) => ({ email: r.account.email, password: r.password }),
        }, "admins"),
      ),
  );
  admins.addCommand(
    withJson(new Command("list").description("list admin accounts and their roles")).action(async (opts) =>
      run(opts, (rt) => listAccounts(rt.store.db), {
        human: (list) =>
          table(
            list.map((a) => ({ ...a, roles: a.isOwner ? "owner (all workspaces)" : a.workspaces.map((w) => `${w.role}:${w.workspace}`) })),
            ["email", "displayName", "roles", "createdAt"],
            "No admin accounts yet: add one with `rollcall admins add --email EMAIL --owner`.",
          ),
      }, "admins"),
    ),
  );
  return admins;
}
