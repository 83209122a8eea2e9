import { join } from "node:path";
import { Command } from "commander";
import { loadConfig } from "../../config.ts";
import { toRollcallError } from "../../errors.ts";
import { openRuntime, type Runtime } from "../../runtime.ts";
import type { RunningEmulator } from "../../emulator/index.ts";
import { registerRollcallCallback } from "../../emulator/cli.ts";
import { trustExtraCa } from "../../net/http.ts";
import { createWorkspace, resolveWorkspace, type Workspace } from "../../core/workspaces.ts";
import { createEntraSource, getSource, sourceContext, updateEntraSource, type SourceContext } from "../../core/sources.ts";
import { createAccount, findAccount, resetPassword } from "../../core/accounts.ts";
import { syncSource } from "../../sync/service.ts";
import { serveUntilStopped } from "./serve.ts";
import { printError } from "../io.ts";
import { describeSummary, progressBar } from "./sync.ts";

/**
 * `rollcall demo`: the whole product in one command. Starts the demo Entra ID emulator (its CA kept in the
 * data folder, so it is the same on every start), creates (or reuses) the `demo` workspace and its Entra ID
 * source, syncs with a progress bar, then serves the API and console with an admin's credentials; the demo
 * tenant's people sign in with Microsoft too (the source signs people in, the emulator's app lists the callback).
 */
export const demoSourceName = "northwind";

async function ensureWorkspace(rt: Runtime): Promise<Workspace> {
  try {
    return await resolveWorkspace(rt.store.db, "demo");
  } catch {
    return createWorkspace(rt.store.db, { name: "demo", defaultCountry: "US" });
  }
}

/** Creates the demo source, or points the existing one at this emulator; whether it signs people in. */
async function ensureSource(ctx: SourceContext, emulator: RunningEmulator): Promise<{ signIn: boolean }> {
  const config = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl };
  const credential = { kind: "secret" as const, secret: emulator.clientSecret };
  const existing = await getSource(ctx, demoSourceName).catch(() => undefined);
  if (!existing) {
    await createEntraSource(ctx, { name: demoSourceName, config: { ...config, groupMode: "all", country: "US", signIn: true }, credential });
    return { signIn: true };
  }
  const moved = existing.config.loginUrl !== config.loginUrl || existing.config.graphUrl !== config.graphUrl || existing.config.tenantId !== config.tenantId || existing.config.clientId !== config.clientId;
  if (moved) await updateEntraSource(ctx, demoSourceName, { config, credential });
  return { signIn: existing.config.signIn };
}

async function ensureAdmin(rt: Runtime, workspace: Workspace): Promise<{ email: string; password: string }> {
  const email = rt.config.adminEmail;
  const account = await findAccount(rt.store.db, email);
  if (!account) {
    const created = await createAccount(rt.store.db, { email, owner: true, workspace, password: rt.config.adminPassword }, "demo");
    return { email, password: created.password };
  }
  const reset = await resetPassword(rt.store.db, email, "demo", rt.config.adminPassword);
  return { email, password: reset.password };
}

export function demoCommand(): Command {
  return new Command("demo")
    .description("start a demo Entra ID tenant, sync it into the `demo` workspace, and serve the console")
    .option("--no-serve", "sync and exit (for scripts and CI)")
    .option("--host <host>", "listen on this address (default ROLLCALL_HOST)")
    .option("--port <port>", "listen on this port (default ROLLCALL_PORT)")
    .action(async (opts: { serve: boolean; host?: string; port?: string }) => {
      let rt: Runtime | undefined;
      let emulator: RunningEmulator | undefined;
      try {
        const loaded = loadConfig();
        process.stderr.write("Starting the demo Entra ID tenant (Northwind Traders)…\n");
        const { startDemoEmulator } = await import("../../emulator/index.ts");
        emulator = await startDemoEmulator({ port: 0, dataDir: join(loaded.dataDir, "emulator"), quiet: true });
        trustExtraCa(emulator.caPem);
        // The demo tenant is the emulator, on this machine: its URLs are allowed, and no other host's, unless the
        // operator allows every host (a source another workspace's admin adds must not reach into the network).
        const emulatorOrigins = [new URL(emulator.loginUrl).origin, new URL(emulator.graphUrl).origin];
        const config = { ...loaded, entraCustomUrls: loaded.entraCustomUrls === true || emulatorOrigins };
        rt = await openRuntime(config, { command: "demo" });
        const workspace = await ensureWorkspace(rt);
        const ctx = sourceContext(rt, { db: rt.store.db, workspace, actor: "demo" });
        const source = await ensureSource(ctx, emulator);

        const bar = progressBar(Boolean(process.stderr.isTTY));
        const summary = await syncSource(rt, workspace, demoSourceName, { trigger: "manual", actor: "demo" }, { onProgress: (p) => bar.update(p) }).finally(() => bar.stop());
        process.stdout.write(`${describeSummary(summary, workspace.name)}\n`);
        process.stdout.write(`Workspace "demo": \`rollcall users list -w demo --source ${demoSourceName}\`, \`rollcall groups list -w demo\`, \`rollcall runs show ${summary.runId} -w demo\`.\n`);
        if (summary.status !== "succeeded") process.exitCode = 1;
        if (!opts.serve) return;

        const admin = await ensureAdmin(rt, workspace);
        const listen = { ...(opts.host && { host: opts.host }), ...(opts.port && { port: Number(opts.port) }) };
        await serveUntilStopped(rt, listen, (url) => {
          registerRollcallCallback(emulator!, url);
          const lines = [
            `Rollcall is serving ${url} (API at ${url}/api/v1)`,
            `  console:    ${url}/w/${encodeURIComponent(workspace.name)}/users`,
            `  sign in as: ${admin.email}`,
            `  password:   ${admin.password}`,
            ...(source.signIn ? ["  or Sign in with Microsoft as anyone of Northwind Traders (the demo tenant's page asks no password)"] : []),
            // To try adding a source by hand: its Login and Graph URL, and where to make it another tenant.
            `  emulator:   ${emulator!.loginUrl} (a source's Login and Graph URL; POST ${emulator!.loginUrl}/_emulator/tenants adds a tenant)`,
            "Press Ctrl+C to stop.",
          ];
          process.stdout.write(`\n${lines.join("\n")}\n`);
        });
      } catch (error) {
        const e = toRollcallError(error);
        printError(e, false);
        process.exitCode = 1;
      } finally {
        await emulator?.close();
        await rt?.close();
      }
    });
}
