import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Browser, signInAs } from "../signin/support.ts";

/**
 * `rollcall demo`, the README's first quick-start command, as a real process on a new embedded database:
 * the demo tenant synced into the `demo` workspace, the console served with an admin who can sign in,
 * and a second start that reuses everything and changes nothing.
 */
describe("rollcall demo", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-demo-"));
  const env = { ...process.env, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_LOG_LEVEL: "warn" };
  // The embedded default is the point here, and the operator's defaults (the tests' own config allows any Entra host).
  for (const name of ["DATABASE_URL", "ROLLCALL_ENTRA_CUSTOM_URLS"]) delete (env as Record<string, string | undefined>)[name];
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("syncs the demo tenant, serves the console with the admin's credentials, and stops on Ctrl+C", { timeout: 300_000 }, async () => {
    const demo = spawn(process.execPath, ["bin/rollcall.js", "demo", "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    demo.stdout!.on("data", (chunk) => (stdout += String(chunk)));
    demo.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => demo.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 240_000;
      while (!stdout.includes("Press Ctrl+C to stop.") && Date.now() < deadline) {
        if (demo.exitCode !== null) throw new Error(`demo exited early (${demo.exitCode}): ${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(stdout, stderr).toMatch(/^Run [\w-]+: succeeded \(full\)$/m);
      const created = Number(/users:\s+(\d+) created/.exec(stdout)?.[1]);
      expect(created).toBeGreaterThan(2000);
      const consoleUrl = /console:\s+(\S+)/.exec(stdout)?.[1] ?? "";
      const email = /sign in as: (\S+)/.exec(stdout)?.[1];
      const password = /password:\s+(\S+)/.exec(stdout)?.[1];
      // The printed address opens the synced workspace, not the empty "default" one.
      expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/w\/demo\/users$/);
      const base = new URL(consoleUrl).origin;

      const page = await fetch(consoleUrl);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');

      const login = await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
      expect(login.status).toBe(200);
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
      const users = await fetch(`${base}/api/v1/workspaces/demo/users?limit=1&source=northwind`, { headers: { cookie } });
      expect(((await users.json()) as { total: number }).total).toBe(created);
      // The emulator's address is printed, for an admin trying to add a source by hand: the demo source's own.
      const northwind = await fetch(`${base}/api/v1/workspaces/demo/sources/northwind`, { headers: { cookie } });
      const { loginUrl } = ((await northwind.json()) as { config: { loginUrl: string } }).config;
      expect(/emulator:\s+(\S+)/.exec(stdout)?.[1]).toBe(loginUrl);
      // The demo's own emulator is allowed as an Entra host, and no other: a source another admin adds cannot reach into the network.
      const elsewhere = await fetch(`${base}/api/v1/workspaces/demo/sources`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", "x-csrf-token": ((await login.clone().json()) as { csrfToken: string }).csrfToken },
        body: JSON.stringify({ name: "elsewhere", tenantId: "4f2d9a1e-58c1-4d55-9a1b-2a0c3b9e7d10", clientId: "0d5b8f3e-0a53-4a86-9bb5-b6f1b47e0a1f", loginUrl: "https://localhost:39481", graphUrl: "https://localhost:39481", clientSecret: "s3cret-value" }),
      });
      expect(elsewhere.status).toBe(400);
      expect(JSON.stringify(await elsewhere.json())).toContain("https://localhost:39481 is not a login or Graph host of Microsoft's clouds");

      // Anyone of the demo tenant signs in with Microsoft: the source signs people in, the demo app lists this callback.
      expect(stdout).toContain("or Sign in with Microsoft as anyone of Northwind Traders");
      const browser = new Browser(readFileSync(join(dataDir, "emulator", "ca.pem"), "utf8"));
      const atMicrosoft = await browser.request((await browser.request(`${base}/api/v1/auth/microsoft/start?workspace=demo`)).location!);
      const [tenantId, userId] = [...atMicrosoft.text.matchAll(/<option value="([^"]+)">([^<]*)</g)].find(([, , label]) => !/#EXT#|\(disabled\)/.test(label!))![1]!.split(":");
      const signedIn = await signInAs(browser, `${base}/api/v1/auth/microsoft/start?workspace=demo`, { tenantId: tenantId!, userId: userId! });
      expect(signedIn).toMatchObject({ stage: "callback", status: 302 });
      const me = JSON.parse((await browser.request(`${base}/api/v1/auth/me`)).text);
      expect(me.workspaces).toEqual([expect.objectContaining({ name: "demo", role: "viewer" })]);

      demo.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (demo.exitCode === null) demo.kill("SIGKILL");
    }
    expect(stdout + stderr).not.toContain("client_secret");

    // A second start reuses the workspace, the source and the data folder; its emulator listens on another
    // port, so the source's Graph URL moves and the run is a full one, which finds nothing to change.
    const again = spawnSync(process.execPath, ["bin/rollcall.js", "demo", "--no-serve"], { env, encoding: "utf8", timeout: 180_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Run [\w-]+: succeeded \(full\)$/m);
    expect(again.stdout).toMatch(/users:\s+0 created, 0 updated, 0 linked, 0 disabled, 0 deleted, \d+ unchanged/);
  });
});
