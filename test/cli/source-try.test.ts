import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { killStarted, runCli, startServe } from "../support/cli.ts";
import { openTestStore, seedDataFolder, type EngineName, type TestStore } from "../support/db.ts";
import { seedEmulatorFolder } from "../support/emulator.ts";

const engine: EngineName = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";

/** `rollcall sources try NAME USER`: locally over the database, then through `rollcall serve`, the same answer. */
describe(`rollcall sources try (${engine})`, { timeout: 180_000 }, () => {
  let emulator: RunningEmulator;
  let dir: string;
  let store: TestStore | undefined;
  let env: Record<string, string | undefined>;
  let upn: string;
  const cli = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-cli-try-"));
    emulator = await startEmulator({ port: 0, dataDir: seedEmulatorFolder(join(dir, "emu")), users: 3, groups: 1, quiet: true });
    const tenant = emulator.tenants.get(emulator.tenantId);
    upn = tenant.createUser({
      userPrincipalName: `ada@${tenant.domain}`, mail: "ada@example.com", displayName: "Ada Lovelace", accountEnabled: true, userType: "Member",
      mobilePhone: "12", onPremisesExtensionAttributes: { extensionAttribute10: "0042", extensionAttribute3: "97531" },
    }).userPrincipalName;
    env = { ROLLCALL_DATA_DIR: seedDataFolder(join(dir, "data")), DATABASE_URL: undefined, NODE_EXTRA_CA_CERTS: emulator.caFile, EMU_SECRET: emulator.clientSecret };
    if (engine === "postgres") {
      store = await openTestStore("postgres");
      env = { ...env, DATABASE_URL: store.url };
      await store.close();
    }
    const added = await cli("sources", "add", "entra", "--name", "corp", "--tenant-id", emulator.tenantId, "--client-id", emulator.clientId, "--client-secret-env", "EMU_SECRET",
      "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl, "--map", "cardNumbers=onPremisesExtensionAttributes.extensionAttribute10", "--map", "pin=onPremisesExtensionAttributes.extensionAttribute3");
    expect(added.code, added.stderr).toBe(0);
  });
  afterAll(async () => {
    await killStarted();
    await store?.dispose();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints each field with its Graph property, then scope, match and warnings, never the PIN; the same JSON through a server", async () => {
    const human = await cli("sources", "try", "corp", upn);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("Ada Lovelace: what source corp would sync (nothing was changed)");
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}cardNumbers +0042 +← onPremisesExtensionAttributes\.extensionAttribute10$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}email +ada@example\.com +← mail$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}pin +set +← onPremisesExtensionAttributes\.extensionAttribute3$/));
    expect(lines).toContain("scope:    in scope: this source syncs all users");
    expect(lines).toContainEqual(expect.stringMatching(/^match: {4}create: creates a new user/));
    expect(lines.slice(-2)).toEqual(["warnings:", expect.stringMatching(/^ {2}mobilePhone: .*; dropped$/)]);
    expect(human.stdout).not.toContain("97531");

    const local = await cli("sources", "try", "corp", upn, "--json");
    expect(local.code, local.stderr).toBe(0);
    expect(local.json()).toMatchObject({ source: "corp", user: { cardNumbers: ["0042"], pin: "set", mobilePhone: null } });
    expect(local.stdout).not.toContain("97531");

    const missing = await cli("sources", "try", "corp", "nobody@example.com", "--json");
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe("");
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: "not_found", message: expect.stringMatching(/^Entra ID has no user "nobody@example\.com"/) } });

    const token = (await cli("tokens", "create", "--role", "admin", "--json")).json<{ token: string }>().token;
    const server = await startServe({ ...env, ROLLCALL_ENTRA_CUSTOM_URLS: "true" });
    const remoteEnv = { ROLLCALL_SERVER: server.url, ROLLCALL_TOKEN: token, ROLLCALL_DATA_DIR: join(dir, "remote-cli"), DATABASE_URL: undefined };
    const remote = await runCli(["sources", "try", "corp", upn, "--json"], remoteEnv);
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.json()).toEqual(local.json());
    const remoteHuman = await runCli(["sources", "try", "corp", upn], remoteEnv);
    expect(remoteHuman.stdout).toBe(human.stdout);
    const remoteMissing = await runCli(["sources", "try", "corp", "nobody@example.com", "--json"], remoteEnv);
    expect(remoteMissing.code).toBe(3);
    expect(JSON.parse(remoteMissing.stderr)).toEqual(JSON.parse(missing.stderr));
  });
});
