import { readFileSync, rmSync } from "node:fs";
import { Agent, fetch } from "undici";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freshDataFolder } from "../support/db.ts";
import { killStarted, runCli, startCli } from "../support/cli.ts";

/**
 * `rollcall emulator` as the README shows it: standard output is one JSON line for scripts, standard error tells a
 * person how to point a source at it, and doing just that (in a shell of its own) syncs its tenant.
 */
describe("rollcall emulator, then a source pointed at it", { timeout: 120_000 }, () => {
  const dataDir = freshDataFolder("rollcall-emulator-cli-");
  afterAll(async () => {
    await killStarted();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints its URLs and credentials as JSON, and the commands that sync it, which work as printed", async () => {
    const emulator = startCli(["emulator", "--port", "0", "--users", "12", "--groups", "2", "--data-dir", join(dataDir, "emulator")], {});
    const deadline = Date.now() + 60_000;
    while (!emulator.stderr().includes("rollcall sync emulator\n")) {
      if (emulator.child.exitCode !== null || Date.now() > deadline) throw new Error(`rollcall emulator did not start: ${emulator.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const started = JSON.parse(emulator.stdout()) as { loginUrl: string; graphUrl: string; tenantId: string; clientId: string; clientSecret: string; caFile: string };
    const [, exportLine, addLine, syncLine] = emulator.stderr().trimEnd().split("\n").map((line) => line.trim());
    expect(exportLine).toBe(`export ROLLCALL_ENTRA_CUSTOM_URLS=true NODE_EXTRA_CA_CERTS=${started.caFile} EMULATOR_SECRET='${started.clientSecret}'`);
    expect(syncLine).toBe("rollcall sync emulator");
    // Its app accepts Sign in with Microsoft to a Rollcall server on the default port, as the next line says.
    expect(emulator.stderr()).toContain("Its people can Sign in with Microsoft to the Rollcall server at http://127.0.0.1:3000");
    const dispatcher = new Agent({ connect: { ca: readFileSync(started.caFile, "utf8") } });
    const app = (await (await fetch(`${new URL(started.loginUrl).origin}/_emulator/tenants/${started.tenantId}/apps/${started.clientId}`, { dispatcher })).json()) as { redirectUris: string[] };
    expect(app.redirectUris).toEqual(expect.arrayContaining(["http://127.0.0.1:3000/api/v1/auth/microsoft/callback", "http://localhost:3000/api/v1/auth/microsoft/callback"]));

    // The shell's words of the printed command (its values are plain words: no quoting to undo).
    const addArgs = addLine!.split(" ").slice(1);
    expect(addArgs).toEqual(["sources", "add", "entra", "--name", "emulator", "--tenant-id", started.tenantId, "--client-id", started.clientId, "--client-secret-env", "EMULATOR_SECRET", "--login-url", started.loginUrl, "--graph-url", started.graphUrl]);
    const shell = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined, NODE_EXTRA_CA_CERTS: started.caFile, EMULATOR_SECRET: started.clientSecret };

    const refused = await runCli(addArgs, { ...shell, ROLLCALL_ENTRA_CUSTOM_URLS: "false" });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--login-url: ");
    expect(refused.stderr).toContain("ROLLCALL_ENTRA_CUSTOM_URLS=true");

    const added = await runCli(addArgs, { ...shell, ROLLCALL_ENTRA_CUSTOM_URLS: "true" });
    expect(added.code, added.stderr).toBe(0);
    const synced = await runCli(["sync", "emulator", "--json"], { ...shell, ROLLCALL_ENTRA_CUSTOM_URLS: "true" });
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.json()).toMatchObject({ status: "succeeded", mode: "full", counts: { created: expect.any(Number) } });
    expect((synced.json() as { counts: { created: number } }).counts.created).toBeGreaterThan(0);

    // Its port taken, a second emulator and a server say so, with the setting that moves them; no stack trace.
    const port = new URL(started.loginUrl).port;
    const [second, server] = await Promise.all([
      runCli(["emulator", "--port", port], {}),
      runCli(["serve"], { ...shell, ROLLCALL_PORT: port }),
    ]);
    expect([second.code, second.stderr]).toEqual([2, `error [config_invalid]: Cannot listen on 127.0.0.1:${port}: the port is in use (another Rollcall server, or another program). Stop it, or give --port a free port (0 picks one).\n`]);
    expect([server.code, server.stderr]).toEqual([2, `error [config_invalid]: Cannot listen on 127.0.0.1:${port}: the port is in use (another Rollcall server, or another program). Stop it, or set ROLLCALL_PORT to a free port (0 picks one).\n`]);

    emulator.child.kill("SIGINT");
    expect(await emulator.exited).toBe(0);
  });
});
