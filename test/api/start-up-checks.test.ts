import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { engines, freshDataFolder, openTestStore } from "../support/db.ts";
import { bin } from "../support/cli.ts";
import { openStore } from "../../src/storage/database.ts";
import { loadSecretKey, secretBox } from "../../src/security/encryption.ts";
import { loadConfig } from "../../src/config.ts";
import { openRuntime } from "../../src/runtime.ts";
import { listenProblem } from "../../src/errors.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { customUrlsWarning, secretKeyWarning, sourcesWithCustomUrls, unreadableSecrets } from "../../src/core/start-up-checks.ts";
import type { Db } from "../../src/storage/database.ts";

const keyA = randomBytes(32);
const keyB = randomBytes(32);

async function sourceWithSecret(db: Db, key: Buffer, name: string, urls: { loginUrl?: string; graphUrl?: string } = {}): Promise<void> {
  const workspace = await createWorkspace(db, { name: `ws-${name}` });
  await createEntraSource(
    { db, workspace, actor: "test", secrets: secretBox(key), entraCustomUrls: true },
    { name, config: { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", ...urls }, credential: { kind: "secret", secret: "a client secret" } },
  );
}

describe.each(engines)("the secret key check on %s", (engine) => {
  it("counts the stored secrets a key cannot open, and says what to do", async () => {
    const store = await openTestStore(engine);
    try {
      expect(await unreadableSecrets(store.db, secretBox(keyB))).toEqual({ checked: 0, unreadable: 0 });
      await sourceWithSecret(store.db, keyA, "contoso");
      await sourceWithSecret(store.db, keyB, "fabrikam");
      expect(await unreadableSecrets(store.db, secretBox(keyA))).toEqual({ checked: 2, unreadable: 1 });
      const result = await unreadableSecrets(store.db, secretBox(randomBytes(32)));
      expect(result).toEqual({ checked: 2, unreadable: 2 });
      expect(secretKeyWarning(result, true, true)).toContain("cannot open 2 of the 2 secrets");
      expect(secretKeyWarning(result, true, true)).toContain("Every process sharing a database needs the same ROLLCALL_SECRET_KEY");
      expect(secretKeyWarning(result, false, false)).toContain("This process uses the key in the data folder (secret.key; ROLLCALL_SECRET_KEY is not set)");
      expect(secretKeyWarning({ checked: 2, unreadable: 0 }, true, true)).toBeUndefined();
      expect(secretKeyWarning({ checked: 2, unreadable: 0 }, false, false)).toBeUndefined();
      // On a shared database, a key of the process's own would be one key per host.
      expect(secretKeyWarning({ checked: 0, unreadable: 0 }, false, true)).toMatch(/^DATABASE_URL is set but ROLLCALL_SECRET_KEY is not/);
    } finally {
      await store.dispose();
    }
  });
});

describe.each(engines)("the custom URL check on %s", (engine) => {
  it("names the sources whose login or Graph URL is not Microsoft's, and says what to do", async () => {
    const store = await openTestStore(engine);
    try {
      await sourceWithSecret(store.db, keyA, "microsoft", { loginUrl: "https://login.microsoftonline.com/", graphUrl: "https://graph.microsoft.com/v1.0" });
      expect(await sourcesWithCustomUrls(store.db)).toEqual([]);
      await sourceWithSecret(store.db, keyA, "emulated", { graphUrl: "https://127.0.0.1:4010" });
      expect(await sourcesWithCustomUrls(store.db)).toEqual(["ws-emulated/emulated"]);
      expect(customUrlsWarning([])).toBeUndefined();
      expect(customUrlsWarning(["a/1", "a/2", "b/1", "b/2", "c/1", "c/2", "c/3"])).toMatch(/^7 Entra ID source\(s\) use login or Graph URLs other than Microsoft's \(a\/1, a\/2, b\/1, b\/2, c\/1 and 2 more\)/);
    } finally {
      await store.dispose();
    }
  });
});

describe("rollcall serve with another key than the stored secrets' and custom URLs not allowed", () => {
  const dataDir = freshDataFolder("rollcall-serve-key-");
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("warns at start-up that it cannot open them, naming ROLLCALL_SECRET_KEY, and which sources' URLs it will not reach", { timeout: 120_000 }, async () => {
    const store = await openStore({ kind: "pglite", dataDir });
    await sourceWithSecret(store.db, keyA, "contoso", { loginUrl: "https://127.0.0.1:4010" });
    await store.close();
    const env: Record<string, string | undefined> = { ...process.env, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_PORT: "0", ROLLCALL_HOST: "127.0.0.1", ROLLCALL_LOG_LEVEL: "silent", ROLLCALL_SECRET_KEY: keyB.toString("hex"), ROLLCALL_ENTRA_CUSTOM_URLS: "false" };
    delete env.DATABASE_URL;
    const server = spawn(process.execPath, [bin, "serve"], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => server.once("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      server.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.split("Warning:").length === 3 && stderr.endsWith("\n")) resolve(); // both warnings, whole
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    server.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("Warning: This process's secret key cannot open 1 of the 1 secrets it checked in the database");
    expect(stderr).toContain("This process uses ROLLCALL_SECRET_KEY.");
    expect(stderr).toContain("Warning: 1 Entra ID source(s) use login or Graph URLs other than Microsoft's (ws-contoso/contoso), and ROLLCALL_ENTRA_CUSTOM_URLS is not true");
  });
});

describe("the secret key file", () => {
  it("names the file when it holds no key, and what to do", () => {
    const dataDir = freshDataFolder("rollcall-bad-key-");
    try {
      writeFileSync(join(dataDir, "secret.key"), "not a key\n");
      expect(() => loadSecretKey({ secretKey: undefined, dataDir })).toThrow(`${join(dataDir, "secret.key")} does not hold a secret key (64 hex characters): restore it from your backup`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("a data folder whose database outlived its key", () => {
  it("is refused, naming the missing file and what to do, instead of given a new key that opens none of its secrets", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rollcall-lost-key-"));
    try {
      const config = loadConfig({ ROLLCALL_DATA_DIR: dataDir });
      await (await openRuntime(config, { command: "test" })).close();
      const key = readFileSync(join(dataDir, "secret.key"), "utf8");
      rmSync(join(dataDir, "secret.key"));
      await expect(openRuntime(config, { command: "test" })).rejects.toThrow(`${join(dataDir, "secret.key")} is missing, but ${dataDir} holds a database whose client secrets were encrypted with it`);
      expect(existsSync(join(dataDir, "secret.key"))).toBe(false);
      writeFileSync(join(dataDir, "secret.key"), key);
      await (await openRuntime(config, { command: "test" })).close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("start-up settings named in their errors", () => {
  it("refuses a public URL that is not http(s), and a host name that resolves to none of the machine's addresses", () => {
    expect(() => loadConfig({ ROLLCALL_PUBLIC_URL: "ftp://rollcall" })).toThrow("ROLLCALL_PUBLIC_URL: must be an http:// or https:// URL");
    expect(loadConfig({ ROLLCALL_PUBLIC_URL: "https://rollcall.example.com" }).publicUrl).toBe("https://rollcall.example.com");
    expect(loadConfig({}).scheduleCheckMs).toBe(30_000);
    expect(loadConfig({ ROLLCALL_SCHEDULE_CHECK_SECONDS: "2.5" }).scheduleCheckMs).toBe(2_500);
    expect(() => loadConfig({ ROLLCALL_SCHEDULE_CHECK_SECONDS: "0" })).toThrow("ROLLCALL_SCHEDULE_CHECK_SECONDS: Too small: expected number to be >=1");
    const unresolved = listenProblem(Object.assign(new Error("getaddrinfo ENOTFOUND rollcall.invalid"), { code: "ENOTFOUND" }), { host: "rollcall.invalid", port: 3000, setting: "ROLLCALL_PORT" });
    expect(unresolved).toMatchObject({ code: "config_invalid", message: "Cannot listen on rollcall.invalid:3000: the name rollcall.invalid does not resolve to an address of this machine. Set ROLLCALL_HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for all)." });
  });

  it("takes a minimum interval between notification runs of 0 to 86400 seconds (120 by default), reporting a bad one with the other problems", () => {
    expect(loadConfig({}).changeSyncMinIntervalMs).toBe(120_000);
    expect(loadConfig({ ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS: "0" }).changeSyncMinIntervalMs).toBe(0);
    expect(loadConfig({ ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS: "90.5" }).changeSyncMinIntervalMs).toBe(90_500);
    for (const bad of ["-1", "86401", "two minutes"]) {
      expect(() => loadConfig({ ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS: bad, ROLLCALL_CHANGE_SYNC_DELAY_SECONDS: "0" }), bad).toThrow(
        /ROLLCALL_CHANGE_SYNC_DELAY_SECONDS: must be from 0\.1 to 3600 seconds\n\s+ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS: must be (from 0 \(no minimum\) to 86400 seconds|a number of seconds)/,
      );
    }
  });
});
