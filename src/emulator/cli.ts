// `rollcall emulator`: run the emulator until SIGINT/SIGTERM; print one JSON line once listening.
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { loadConfig } from "../config.ts";
import { exitCodeFor, printError, shellWord } from "../cli/io.ts";
import { listenProblem, toRollcallError, type RollcallError } from "../errors.ts";
import type { RunningEmulator } from "./types.ts";

/**
 * The default tenant's app lists a Rollcall server's sign-in callback (as an admin registers it in the portal),
 * by either loopback name, so its people can Sign in with Microsoft there.
 */
export function registerRollcallCallback(emulator: RunningEmulator, rollcallUrl: string): void {
  const tenant = emulator.tenants.get(emulator.tenantId);
  const base = rollcallUrl.replace(/\/+$/, "");
  const callbacks = [base, base.replace("://127.0.0.1:", "://localhost:")].map((b) => `${b}/api/v1/auth/microsoft/callback`);
  const registered = tenant.getApp(emulator.clientId)?.redirectUris ?? [];
  tenant.updateApp(emulator.clientId, { redirectUris: [...new Set([...registered, ...callbacks])] });
}

function num(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`It must be a number from ${min} to ${max}.`);
    return n;
  };
}

export function emulatorCommand(): Command {
  return new Command("emulator")
    .description("run a local Microsoft Entra ID + Microsoft Graph emulator (HTTPS, own CA)")
    .option("--port <port>", "port to listen on (0 = random)", num("port", 0, 65535), 4010)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--seed <seed>", "seed for generated data and knobs", num("seed", 0, 2 ** 32), 42)
    .option("--users <n>", "users in the default tenant", num("users", 0, 1_000_000), 200)
    .option("--groups <n>", "groups in the default tenant", num("groups", 0, 100_000), 20)
    .option("--latency-ms <ms>", "latency added to each request", num("latency-ms", 0, 60_000), 0)
    .option("--throttle-rate <r>", "fraction of Graph requests answered 429", num("throttle-rate", 0, 1), 0)
    .option("--fault-rate <r>", "fraction of Graph requests answered 503/504 or dropped", num("fault-rate", 0, 1), 0)
    .option("--data-dir <dir>", "where its CA, TLS certificate and token signing keys are kept (default $ROLLCALL_DATA_DIR/emulator or ./data/emulator)")
    .option("--demo", "the demo tenant (2,500 users, 60 groups) instead of --users/--groups")
    .option("--no-control", "disable the /_emulator control API")
    .option("--rollcall-url <url>", "the Rollcall server whose Sign in with Microsoft its app accepts (registered as a redirect URI)", "http://127.0.0.1:3000")
    .action(async (o: { port: number; host: string; seed: number; users: number; groups: number; latencyMs: number; throttleRate: number; faultRate: number; dataDir?: string; demo?: boolean; control: boolean; rollcallUrl: string }) => {
      const { startServer } = await import("./server.ts"); // not loaded by every other rollcall command
      function fail(problem: RollcallError): never {
        printError(problem, false);
        process.exit(exitCodeFor(problem));
      }
      let dataDir: string;
      try {
        // The configuration's data folder, parsed as every command does (ROLLCALL_DATA_DIR, default ./data).
        dataDir = o.dataDir ?? join(loadConfig().dataDir, "emulator");
      } catch (error) {
        fail(toRollcallError(error));
      }
      const emu = await startServer({
        port: o.port, host: o.host, seed: o.seed, users: o.demo ? 2500 : o.users, groups: o.demo ? 60 : o.groups, demo: o.demo,
        latencyMs: o.latencyMs, throttleRate: o.throttleRate, faultRate: o.faultRate, dataDir, controlApi: o.control, quiet: true,
      }).catch((error: unknown) => fail(toRollcallError(listenProblem(error, { host: o.host, port: o.port, setting: "--port" }))));
      registerRollcallCallback(emu, o.rollcallUrl);
      process.stdout.write(`${JSON.stringify({ loginUrl: emu.loginUrl, graphUrl: emu.graphUrl, tenantId: emu.tenantId, clientId: emu.clientId, clientSecret: emu.clientSecret, caFile: emu.caFile })}\n`);
      // Standard output stays the one JSON line scripts read; a person gets the commands to use it.
      const sourceAdd = ["rollcall", "sources", "add", "entra", "--name", "emulator", "--tenant-id", emu.tenantId, "--client-id", emu.clientId, "--client-secret-env", "EMULATOR_SECRET", "--login-url", emu.loginUrl, "--graph-url", emu.graphUrl];
      process.stderr.write([
        `The Entra ID emulator is listening (Ctrl+C stops it). To sync it, in another shell:`,
        `  export ROLLCALL_ENTRA_CUSTOM_URLS=true NODE_EXTRA_CA_CERTS=${shellWord(emu.caFile)} EMULATOR_SECRET=${shellWord(emu.clientSecret)}`,
        `  ${sourceAdd.map(shellWord).join(" ")}`,
        "  rollcall sync emulator",
        `Its people can Sign in with Microsoft to the Rollcall server at ${o.rollcallUrl} (\`rollcall sources update emulator --sign-in\`; another server: --rollcall-url).`,
        "",
      ].join("\n"));
      await new Promise<void>((resolve) => {
        const stop = (): void => { process.off("SIGINT", stop); process.off("SIGTERM", stop); resolve(); };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await emu.close();
    });
}
