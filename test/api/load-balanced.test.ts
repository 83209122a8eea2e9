import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createScratchDatabase } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { killStarted, startServe, type RunningRollcall } from "../support/cli.ts";
import { startRoundRobinProxy, type RoundRobinProxy } from "../support/proxy.ts";
import { Browser, loginWithCli, signInAs, type SignInHarness } from "../signin/support.ts";

/**
 * Rollcall's promise for several `rollcall serve` processes on one PostgreSQL server behind a load balancer that
 * does not stick a browser to a process: everything one process needs of another is in the database. Two real
 * processes behind a round-robin proxy; the admin works as from the console, each step landing on both.
 */
const adminUrl = process.env.ROLLCALL_TEST_DATABASE_URL;
const admin = { email: "ops@example.com", password: "a long enough password" };
const ws = "/api/v1/workspaces/north";

describe.skipIf(!adminUrl)("two rollcall serve processes behind a round-robin load balancer", () => {
  let emu: RunningEmulator;
  let database: { url: string; drop(): Promise<void> };
  let servers: (RunningRollcall & { url: string })[] = [];
  let proxy: RoundRobinProxy;
  const dataDirs = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `rollcall-lb-${i}-`)));
  const newBrowser = () => new Browser(emu.caPem);
  let browser: Browser;
  let csrf = "";

  /** One request through the proxy (to `to`, when given, else the next process in turn): status, JSON body, and the process that answered (`by`: the last one proxied, so for calls not made beside others). */
  async function call(method: string, path: string, body?: unknown, to?: number, extra: Record<string, string> = {}) {
    if (to !== undefined) proxy.nextTo(to);
    const raw = typeof body === "string";
    const answer = await browser.request(`${proxy.url}${path.startsWith("/") ? path : `${ws}/${path}`}`, {
      method,
      headers: { ...(body !== undefined && !raw && { "content-type": "application/json" }), ...(method !== "GET" && csrf && { "x-csrf-token": csrf }), ...extra },
      ...(body !== undefined && { body: raw ? body : JSON.stringify(body) }),
    });
    return { status: answer.status, body: answer.text ? JSON.parse(answer.text) : undefined, by: proxy.served.at(-1)!.backend, setCookies: answer.setCookies };
  }
  const other = (backend: number) => 1 - backend;

  beforeAll(async () => {
    emu = await startTrustedEmulator({ users: 12, groups: 2, seed: 11 });
    database = await createScratchDatabase(adminUrl!, "rollcall_lb");
    const env = (dataDir: string) => ({
      DATABASE_URL: database.url, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SECRET_KEY: "7".repeat(64), NODE_EXTRA_CA_CERTS: emu.caFile,
      ROLLCALL_ADMIN_EMAIL: admin.email, ROLLCALL_ADMIN_PASSWORD: admin.password, ROLLCALL_COOKIE_SECURE: "false",
    });
    // Both start at once on the empty database: one migrates and creates the first admin, the other waits or finds them.
    servers = await Promise.all(dataDirs.map((dir) => startServe(env(dir))));
    proxy = await startRoundRobinProxy(servers.map((s) => s.url));
    emu.tenants.get(emu.tenantId).updateApp(emu.clientId, { redirectUris: [`${proxy.url}/api/v1/auth/microsoft/callback`] });
    browser = newBrowser();
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    await killStarted();
    await database?.drop();
    await emu?.close();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it("0. serves the console's page and its assets from either process", async () => {
    const page = await browser.request(`${proxy.url}/`);
    const assets = [...page.text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect([page.status, assets.length]).toEqual([200, 2]);
    for (const to of [0, 1]) for (const asset of assets) {
      proxy.nextTo(to);
      expect((await browser.request(`${proxy.url}${asset}`)).status, asset).toBe(200);
    }
  });

  it("1. signs the first admin in on one process; the session and its CSRF token work on the other", async () => {
    const login = await call("POST", "/api/v1/auth/login", admin);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const me = await call("GET", "/api/v1/auth/me", undefined, other(login.by));
    expect(me).toMatchObject({ status: 200, body: { account: { email: admin.email, isOwner: true }, csrfToken: login.body.csrfToken } });
    csrf = me.body.csrfToken;
    // A change without the token is refused on either process; with it, accepted on the one that did not sign in.
    const forged = await call("POST", "/api/v1/workspaces", { name: "forged" }, login.by, { "x-csrf-token": "not-the-token" });
    expect([forged.status, forged.body.error.code]).toEqual([403, "csrf_failed"]);
    expect((await call("POST", "/api/v1/workspaces", { name: "north" }, other(login.by))).status).toBe(201);
    const listed = await Promise.all([0, 1].map((to) => call("GET", "/api/v1/workspaces", undefined, to)));
    expect(listed.map((l) => l.body.items.map((w: { name: string }) => w.name).sort())).toEqual([["default", "north"], ["default", "north"]]);
  });

  it("2. adds an Entra source, connects it, and follows a sync started on one process through the other until it ends", async () => {
    const created = await call("POST", "sources", { name: "contoso", tenantId: emu.tenantId, clientId: emu.clientId, loginUrl: emu.loginUrl, graphUrl: emu.graphUrl, clientSecret: emu.clientSecret, signIn: true });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The secret sealed by one process is opened by the other (the same ROLLCALL_SECRET_KEY).
    const tested = await call("POST", "sources/contoso/test", undefined, other(created.by));
    expect(tested.body.ok, JSON.stringify(tested.body)).toBe(true);

    // Graph's answers held: the run is seen running, and refused a second start, on the other process (a slow Graph
    // could still end it first on a loaded machine); then released, and followed to its end.
    emu.setKnobs({ latencyMs: 600_000 });
    const phases = new Set<string>();
    let started!: Awaited<ReturnType<typeof call>>;
    try {
      started = await call("POST", "sources/contoso/sync", {});
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const twice = await call("POST", "sources/contoso/sync", {}, other(started.by));
      expect([twice.status, twice.body.error?.code, twice.body.error?.details?.runId]).toEqual([409, "sync_running", started.body.id]);
      const held = await call("GET", `runs/${started.body.id}`, undefined, other(started.by));
      expect(held.body.status).toBe("running");
      phases.add(String(held.body.progress.phase));
    } finally {
      emu.setKnobs({ latencyMs: 0 });
    }
    let run = started.body;
    while (run.status === "running") {
      const polled = await call("GET", `runs/${run.id}`, undefined, other(started.by));
      expect(polled.status).toBe(200);
      run = polled.body;
      if (run.status === "running") phases.add(String(run.progress.phase));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
    expect(phases.size, "progress phases seen on the other process").toBeGreaterThan(0);
    const members = emu.tenants.get(emu.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest").length;
    expect(run.counts.created).toBe(members);

    const [runsA, runsB] = await Promise.all([0, 1].map((to) => call("GET", "runs", undefined, to)));
    expect(runsA!.body.items.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[run.id, "succeeded"]]);
    expect(runsB!.body).toEqual(runsA!.body);
    const [usersA, usersB] = await Promise.all([0, 1].map((to) => call("GET", "users?limit=500", undefined, to)));
    expect(usersA!.body.total).toBe(members);
    expect(usersB!.body).toEqual(usersA!.body);
    const sources = await Promise.all([0, 1].map((to) => call("GET", "sources/contoso", undefined, to)));
    expect(sources.map((s) => [s.body.status.running, s.body.status.lastRun?.id])).toEqual([[null, run.id], [null, run.id]]);
  });

  it("3. uploads a file on one process, previews it on the other, and commits while both report its progress", async () => {
    const csv = `Email,Name,PIN\n${Array.from({ length: 300 }, (_, i) => `badge${i}@example.com,Badge ${i},${String(100_000 + ((i * 7919) % 900_000))}`).join("\n")}\n`;
    const boundary = "----rollcall-lb";
    const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="badges.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`;
    const uploaded = await call("POST", "imports", multipart, undefined, { "content-type": `multipart/form-data; boundary=${boundary}` });
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    expect(uploaded.body.preview.counts).toMatchObject({ created: 300, invalid: 0 });
    const id = uploaded.body.id as string;
    expect(await call("GET", `imports/${id}`, undefined, other(uploaded.by))).toMatchObject({ status: 200, body: { counts: { created: 300 } } });

    const committer = uploaded.by;
    let finished = false;
    const commit = call("POST", `imports/${id}/commit`, {}, committer).finally(() => (finished = true));
    const progress: { by: number; phase: string }[] = [];
    while (!finished) {
      const state = await call("GET", `imports/${id}/progress`);
      if (state.status === 200 && state.body.progress) progress.push({ by: state.by, phase: state.body.progress.phase });
      await new Promise((r) => setTimeout(r, 30));
    }
    expect((await commit).body).toMatchObject({ applied: true, counts: { created: 300 } });
    expect(new Set(progress.map((p) => p.by)), JSON.stringify(progress)).toEqual(new Set([0, 1]));
    for (const to of [0, 1]) {
      expect((await call("GET", `imports/${id}/progress`, undefined, to)).body).toMatchObject({ committing: false, imported: { counts: { created: 300 } } });
      expect((await call("GET", "users?source=badges.csv&limit=1", undefined, to)).body.total).toBe(300);
    }
  }, 180_000);

  it("4. signs a synced user in with Microsoft: the start on one process, the callback on the other", async () => {
    const person = emu.tenants.get(emu.tenantId).listUsers().find((u) => u.accountEnabled && u.userType !== "Guest")!;
    const user = newBrowser();
    const saved = browser;
    browser = user;
    try {
      proxy.nextTo(0);
      const atMicrosoft = await signInAs(user, `${proxy.url}/api/v1/auth/microsoft/start?workspace=north&returnTo=/profile`, { tenantId: emu.tenantId, userId: person.id }, { follow: false });
      expect(atMicrosoft.callbackUrl, atMicrosoft.text.slice(0, 300)).toMatch(new RegExp(`^${proxy.url}/api/v1/auth/microsoft/callback\\?`));
      expect(proxy.served.at(-1)).toMatchObject({ path: expect.stringMatching(/^\/api\/v1\/auth\/microsoft\/start/), backend: 0, status: 302 });
      proxy.nextTo(1);
      const back = await user.request(atMicrosoft.callbackUrl!);
      expect([back.status, back.location], back.text.slice(0, 500)).toEqual([302, "/profile"]);
      for (const to of [0, 1]) {
        const profile = await call("GET", "/api/v1/auth/profile", undefined, to);
        expect(profile).toMatchObject({ status: 200, body: { signInMethod: "microsoft", user: { source: { name: "contoso", externalId: person.id } } } });
      }
      const me = await call("GET", "/api/v1/auth/me", undefined, 0);
      csrf = me.body.csrfToken;
      expect((await call("POST", "/api/v1/auth/logout", undefined, 1)).status).toBe(200);
      expect((await call("GET", "/api/v1/auth/profile", undefined, 0)).status).toBe(401);
    } finally {
      browser = saved;
      csrf = "";
    }
  });

  it("4b. rollcall login through the balancer: the one-time code handed out by one process is redeemed wherever the CLI's exchange lands", async () => {
    const person = emu.tenants.get(emu.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest")[1]!;
    const sessionFile = join(mkdtempSync(join(tmpdir(), "rollcall-lb-login-")), "session.json");
    try {
      const login = await loginWithCli({ url: proxy.url, emulator: emu } as SignInHarness, { tenantId: emu.tenantId, userId: person.id }, { ROLLCALL_SESSION_FILE: sessionFile }, ["--workspace", "north"]);
      expect(login.code, login.stderr).toBe(0);
      const served = proxy.served.filter((r) => r.path.startsWith("/api/v1/auth/microsoft/"));
      expect(new Set(served.map((r) => r.backend)), JSON.stringify(served)).toEqual(new Set([0, 1]));
      const token = JSON.parse(readFileSync(sessionFile, "utf8")).token as string;
      for (const to of [0, 1]) {
        const profile = await call("GET", "/api/v1/auth/profile", undefined, to, { authorization: `Bearer ${token}` });
        expect(profile).toMatchObject({ status: 200, body: { user: { source: { externalId: person.id } } } });
      }
    } finally {
      rmSync(dirname(sessionFile), { recursive: true, force: true });
    }
  });

  it("5. signing out on one process ends the session on the other", async () => {
    const me = await call("GET", "/api/v1/auth/me", undefined, 0);
    expect(me.status).toBe(200);
    csrf = me.body.csrfToken;
    const cookie = browser.cookies.get("rollcall_session")!;
    const out = await call("POST", "/api/v1/auth/logout", undefined, 1);
    expect(out.status).toBe(200);
    expect(out.setCookies.some((c) => c.startsWith("rollcall_session=;") || /rollcall_session=.*Max-Age=0/i.test(c))).toBe(true);
    // The cookie replayed as it was (a second tab, or a copy someone kept) is refused by the process that did not sign it out.
    browser.cookies.set("rollcall_session", cookie);
    const after = await call("GET", "/api/v1/auth/me", undefined, 0);
    expect([after.status, after.body.error.code]).toEqual([401, "unauthenticated"]);
    // And nothing of all this was kept in either process's data folder.
    expect(dataDirs.map((dir) => readdirSync(dir))).toEqual([[], []]);
  });

  it("6. a process stopped mid-sync (a rolling restart) fails its run and frees the source: the other process syncs at once", async () => {
    const login = await call("POST", "/api/v1/auth/login", admin, 1);
    csrf = login.body.csrfToken;
    // Graph's answers held (not slowed to 1.5 s), so the run is still going when the process stops.
    emu.setKnobs({ latencyMs: 600_000 });
    let started!: Awaited<ReturnType<typeof call>>;
    try {
      started = await call("POST", "sources/contoso/sync", { full: true }, 0);
      expect([started.status, started.body.status]).toEqual([202, "running"]);
      servers[0]!.child.kill("SIGTERM");
      expect(await servers[0]!.exited).toBe(0);
    } finally {
      emu.setKnobs({ latencyMs: 0 });
    }
    const run = (await call("GET", `runs/${started.body.id}`, undefined, 1)).body;
    expect([run.status, run.error?.code], JSON.stringify(run)).toEqual(["failed", "sync_failed"]);
    expect(run.error.message).toMatch(/server .*stopped/i);
    const next = await call("POST", "sources/contoso/sync", {}, 1);
    expect(next.status, JSON.stringify(next.body)).toBe(202);
    await expect.poll(async () => (await call("GET", `runs/${next.body.id}`, undefined, 1)).body.status).toBe("succeeded");
  });
});
