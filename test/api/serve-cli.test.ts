import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/database.ts";
import { verifyLogin } from "../../src/core/accounts.ts";

/** `rollcall serve` as a real process holding the embedded database, and a CLI started beside it. */
describe("rollcall serve beside the CLI", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-serve-"));
  const metricsToken = "serve-scrape-token-0123456789";
  const env = { ...process.env, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_PORT: "0", ROLLCALL_HOST: "127.0.0.1", ROLLCALL_LOG_LEVEL: "warn", ROLLCALL_METRICS_TOKEN: metricsToken };
  delete (env as Record<string, string | undefined>).DATABASE_URL; // the embedded database is the point here
  let server: ChildProcess | undefined;
  let stderr = "";

  afterAll(() => {
    if (server && server.exitCode === null) server.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses a ROLLCALL_METRICS_TOKEN too short to be a secret at start, without printing it", () => {
    const refused = spawnSync(process.execPath, ["bin/rollcall.js", "serve"], { env: { ...env, ROLLCALL_METRICS_TOKEN: "letmein" }, encoding: "utf8", timeout: 60_000 });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain("ROLLCALL_METRICS_TOKEN: must be 16 or more printable characters");
    expect(refused.stderr).not.toContain("letmein");
  });

  it("refuses `users list` with database_locked naming the server URL, counts its requests at /metrics, and stops cleanly on SIGTERM", { timeout: 240_000 }, async () => {
    server = spawn(process.execPath, ["bin/rollcall.js", "serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
    server.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    let stdout = "";
    server.stdout!.on("data", (chunk) => (stdout += String(chunk)));
    const lockFile = join(dataDir, "rollcall.lock");
    const deadline = Date.now() + 90_000;
    let url: string | undefined;
    // Ready once the lock names the URL and the start-up banner (printed after it) is out.
    while (!(url && stderr.includes("Rollcall is serving")) && Date.now() < deadline) {
      if (server.exitCode !== null) throw new Error(`serve exited early: ${stderr}`);
      if (existsSync(lockFile)) url = (JSON.parse(readFileSync(lockFile, "utf8")) as { url?: string }).url;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(url, stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stderr).toMatch(/password: \S{20,}/);
    // A person's message, beside "serving URL": serve has no result for standard output (scripts set ROLLCALL_ADMIN_PASSWORD).
    expect(stdout).toBe("");

    const health = await fetch(`${url}/api/v1/health`);
    expect(await health.json()).toMatchObject({ status: "ok", database: "pglite" });
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(metrics.status).toBe(200);
    const lines = (await metrics.text()).split("\n");
    expect(lines).toContain('rollcall_http_requests_total{route="/api/v1/health",method="GET",status_class="2xx"} 1');
    expect(lines).toContain('rollcall_workspace_users{workspace="default"} 0');
    expect(lines.some((line) => line.startsWith("process_cpu_user_seconds_total "))).toBe(true);

    const cli = spawnSync(process.execPath, ["bin/rollcall.js", "users", "list", "--json"], { env, encoding: "utf8", timeout: 60_000 });
    expect(cli.status).not.toBe(0);
    expect(cli.stdout).toBe("");
    const error = JSON.parse(cli.stderr.trim().split("\n").at(-1)!).error;
    expect(error.code).toBe("database_locked");
    expect(error.message).toContain(`${url}/api/v1`);
    expect(error.message).toContain("rollcall serve");

    const exited = new Promise<number | null>((resolve) => server!.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });
});

describe("rollcall admins", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-admins-"));
  const env = { ...process.env, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_LOG_LEVEL: "warn" };
  delete (env as Record<string, string | undefined>).DATABASE_URL;
  const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/rollcall.js", ...args], { env, encoding: "utf8", timeout: 90_000 });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("adds an account with a printed password, refuses a non-owner without a workspace, and resets the password", { timeout: 240_000 }, async () => {
    const added = cli("admins", "add", "--email", "ops@example.com", "--workspace", "default", "--role", "viewer", "--json");
    expect(added.status, added.stderr).toBe(0);
    const first = JSON.parse(added.stdout) as { email: string; password: string };
    expect(first).toMatchObject({ email: "ops@example.com", password: expect.stringMatching(/^\S{20,}$/) });

    const refused = cli("admins", "add", "--email", "lost@example.com", "--json");
    expect(refused.status).toBe(2);
    expect(JSON.parse(refused.stderr.trim()).error).toMatchObject({ code: "invalid_input", details: { fields: [expect.objectContaining({ field: "workspace" })] } });

    const reset = cli("admins", "reset-password", "OPS@example.com", "--json");
    expect(reset.status, reset.stderr).toBe(0);
    const second = JSON.parse(reset.stdout) as { email: string; password: string };
    expect(second.password).not.toBe(first.password);

    const store = await openStore({ kind: "pglite", dataDir });
    try {
      await expect(verifyLogin(store.db, "ops@example.com", second.password)).resolves.toMatchObject({ email: "ops@example.com", isOwner: false });
      await expect(verifyLogin(store.db, "ops@example.com", first.password)).rejects.toMatchObject({ code: "unauthenticated" });
      expect(await store.db.selectFrom("accounts").select("email").execute()).toEqual([{ email: "ops@example.com" }]);
    } finally {
      await store.close();
    }
  });
});
