import { Writable } from "node:stream";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/runtime.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createNotifier } from "../../src/notifications/worker.ts";
import { buildApp } from "../../src/api/server.ts";
import { route } from "../../src/api/route.ts";
import { z } from "zod";
import { Browser, openSignInHarness, signInAs, signInEngine, type SignInHarness } from "../signin/support.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { testCertificate } from "../emulator/helpers.ts";
import { seedDataFolder } from "../support/db.ts";
import { runCli } from "../support/cli.ts";

/**
 * "Secrets are never logged": the real server, its production logger at trace level, and every flow that
 * handles a credential (passwords, sessions, CSRF and API tokens, client secrets, Microsoft's codes and
 * tokens, the webhook's signing secret, the SMTP password), including the error paths that log the most.
 * What Rollcall sends to and gets from Microsoft is read off its HTTP client, so the tokens it was actually
 * issued (and the PKCE verifier, code and nonce it used) are checked, not look-alikes.
 * The tests run in order, each adding what it handled to `secrets`; the last server test reads the log.
 */
const wire = vi.hoisted(() => ({ secrets: new Set<string>() }));
vi.mock("../../src/net/http.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/net/http.ts")>();
  const keep = (value: unknown) => typeof value === "string" && value.length >= 8 && wire.secrets.add(value);
  return {
    ...real,
    httpFetch: (async (url, init = {}) => {
      keep(init.headers?.authorization ?? init.headers?.Authorization);
      if (init.body) for (const key of ["client_secret", "client_assertion", "code", "code_verifier"]) keep(new URLSearchParams(init.body).get(key));
      const response = await real.httpFetch(url, init);
      const body = await response.clone().text();
      if (body.startsWith("{")) for (const key of ["access_token", "id_token", "refresh_token"]) keep(JSON.parse(body)[key]);
      return response;
    }) satisfies typeof real.httpFetch,
  };
});

const lines: string[] = [];
const log = () => lines.join("");

/** Fails naming the leaked secret's label; a JWT is also looked for by its first 20 characters (a truncated log line). */
function expectNotLogged(text: string, secrets: Record<string, string | undefined>): void {
  for (const [label, value] of Object.entries(secrets)) {
    expect(value, `${label} was never captured`).toBeTruthy();
    const needles = [value!, ...(/^(Bearer )?eyJ/.test(value!) ? [value!.replace(/^Bearer /, "").slice(0, 20)] : [])];
    for (const needle of needles) expect(text.includes(needle), `${label} (${needle.slice(0, 12)}…) is in the log`).toBe(false);
  }
}

describe(`secrets never reach the log (${signInEngine})`, () => {
  let h: SignInHarness;
  const secrets: Record<string, string | undefined> = {};
  const smtpPassword = "smtp-Pa55word-never-logged";

  async function call(method: string, path: string, who: { cookie?: string; csrf?: string; token?: string }, body?: unknown) {
    const response = await fetch(`${h.url}/api/v1/${path}`, {
      method,
      headers: {
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(who.cookie && { cookie: `rollcall_session=${who.cookie}` }),
        ...(who.csrf && { "x-csrf-token": who.csrf }),
        ...(who.token && { authorization: `Bearer ${who.token}` }),
      },
      ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text, cookies: response.headers.getSetCookie() };
  }

  beforeAll(async () => {
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    h = await openSignInHarness(signInEngine, { ROLLCALL_SMTP_URL: `smtp://rollcall:${smtpPassword}@127.0.0.1:1`, ROLLCALL_WEBHOOK_PRIVATE_NETWORK: "true" }, createLogger("trace", sink));
    secrets.smtpPassword = smtpPassword;
  }, 120_000);
  afterAll(async () => h?.close());

  it("password sign-in, the session, CSRF and API tokens", async () => {
    const { password } = await createAccount(h.store.db, { email: "admin@example.com", owner: true }, "test");
    const login = await call("POST", "auth/login", {}, { email: "admin@example.com", password });
    expect(login.status).toBe(200);
    const session = { cookie: /rollcall_session=([^;]+)/.exec(login.cookies.join("\n"))![1]!, csrf: login.body.csrfToken as string };
    const newPassword = "a-new-Passw0rd-for-the-log-test";
    expect((await call("POST", "auth/password", session, { currentPassword: password, newPassword })).status).toBeLessThan(300);
    const again = await call("POST", "auth/login", {}, { email: "admin@example.com", password: newPassword });
    const cookie = /rollcall_session=([^;]+)/.exec(again.cookies.join("\n"))![1]!;
    const csrf = again.body.csrfToken as string;
    const created = await call("POST", "workspaces/default/tokens", { cookie, csrf }, { name: "log test" });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    expect(token).toMatch(/^rc_/);
    expect((await call("GET", "workspaces/default/users?limit=1", { token })).status).toBe(200);
    expect((await call("POST", "auth/login", {}, { email: "admin@example.com", password: "wrong-password-attempt-123" })).status).toBe(401);
    Object.assign(secrets, { password, newPassword, wrongPassword: "wrong-password-attempt-123", session: session.cookie, csrf: session.csrf, cookie, token });
  });

  it("client secrets: add, replace, test, sync; a wrong secret; bad input and malformed JSON carrying one", async () => {
    const { emulator } = h;
    const as = { token: secrets.token! };
    const settings = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, signIn: true };
    const rejected = "reject3d8Q~secretInABadRequest-0123456789";
    expect((await call("POST", "workspaces/default/sources", as, { ...settings, name: "corp", tenantId: "xyz", clientSecret: rejected })).status).toBe(400);
    expect((await call("POST", "workspaces/default/sources", as, `{"name":"corp","clientSecret":"${rejected}",}`)).status).toBe(400);

    expect((await call("POST", "workspaces/default/sources", as, { ...settings, name: "corp", clientSecret: emulator.clientSecret })).status).toBe(201);
    const fresh = emulator.tenants.get(emulator.tenantId).addSecret(emulator.clientId, { secretText: "Fr3sh8Q~theReplacementSecretForLogTest012" }).secretText;
    expect((await call("PATCH", "workspaces/default/sources/corp", as, { clientSecret: fresh })).status).toBe(200);
    expect((await call("POST", "workspaces/default/sources/corp/test", as)).body.ok).toBe(true);
    const run = await call("POST", "workspaces/default/sources/corp/sync", as, {});
    expect(run.status).toBe(202);
    for (let status = "running"; status === "running"; await new Promise((r) => setTimeout(r, 100))) {
      status = (await call("GET", `workspaces/default/runs/${run.body.id}`, as)).body.status;
      expect(status).not.toBe("failed");
    }

    const certificate = testCertificate("rollcall-log-test");
    emulator.tenants.get(emulator.tenantId).addCertificate(emulator.clientId, { certificatePem: certificate.certificatePem });
    expect((await call("POST", "workspaces/default/sources", as, { ...settings, name: "cert", signIn: false, ...certificate })).status).toBe(201);
    expect((await call("POST", "workspaces/default/sources/cert/test", as)).body.ok).toBe(true);

    const wrong = "wr0ng8Q~thisIsNotTheAppsSecretAtAll-0123456";
    expect((await call("POST", "workspaces/default/sources", as, { ...settings, name: "broken", signIn: false, clientSecret: wrong })).status).toBe(201);
    const test = await call("POST", "workspaces/default/sources/broken/test", as);
    expect(test.body.ok).toBe(false);
    expect(JSON.stringify(test.body)).toContain("AADSTS");
    // A failed sync raises a notification; delivering it fails on both channels, and those failures are logged.
    const failed = await call("POST", "workspaces/default/sources/broken/sync", as, {});
    for (let status = "running"; status === "running"; await new Promise((r) => setTimeout(r, 100))) status = (await call("GET", `workspaces/default/runs/${failed.body.id}`, as)).body.status;
    const notify = await call("PUT", "workspaces/default/notification-settings", as, { emailTo: ["ops@example.com"], webhookUrl: "http://127.0.0.1:1/hook" });
    expect(notify.status).toBe(200);
    expect((await createNotifier(h.rt).tick()).failed).toBeGreaterThan(0);
    expect(log()).toContain("notification delivery failed");

    // A PEM's key lines: any one of them in the log gives part of the key away.
    const keyLines = Object.fromEntries(certificate.privateKeyPem.split("\n").filter((l) => l.length > 40).map((l, i) => [`private key line ${i}`, l]));
    Object.assign(secrets, { rejected, clientSecret: emulator.clientSecret, fresh, wrong, webhookSecret: notify.body.webhookSecret, ...keyLines });
  });

  it("an unexpected error while a request carries credentials logs the error, not the request", async () => {
    // The one path that logs an error object in full: a route failing with an ordinary Error.
    const failing = route({ method: "POST", url: "/workspaces/:workspace/explode", summary: "fails", access: "workspace", params: z.object({ workspace: z.string() }), body: z.object({ clientSecret: z.string() }), handler: () => { throw new Error("boom"); } });
    const app = await buildApp(h.rt, { modules: [{ tag: "Test", routes: [failing] }] });
    const bodySecret = "b0dy8Q~aSecretInAFailingRequest-012345678";
    const reply = await app.inject({ method: "POST", url: "/api/v1/workspaces/default/explode", headers: { authorization: `Bearer ${secrets.token}`, cookie: `rollcall_session=${secrets.cookie}`, "x-csrf-token": secrets.csrf! }, payload: { clientSecret: bodySecret } });
    await app.close();
    expect(reply.statusCode).toBe(500);
    expect(log()).toContain('"msg":"request failed"');
    secrets.bodySecret = bodySecret;
  });

  it("Sign in with Microsoft: code, state, nonce, PKCE verifier, ID token, browser binding, session", async () => {
    const person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().find((u) => u.accountEnabled && u.userType !== "Guest")!;
    const browser = new Browser(h.emulator.caPem);
    const back = await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: person.id }, { follow: false });
    const binding = [...browser.cookies].find(([name]) => name.startsWith("rollcall_signin_"))?.[1];
    const callback = new URL(back.callbackUrl!);
    const landed = await browser.request(back.callbackUrl!);
    expect(landed.status, landed.text.slice(0, 300)).toBe(302);
    const idToken = [...wire.secrets].find((s) => s.startsWith("eyJ") && JSON.parse(Buffer.from(s.split(".")[1]!, "base64url").toString()).nonce);
    const nonce = idToken && (JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString()).nonce as string);
    Object.assign(secrets, { code: callback.searchParams.get("code")!, state: callback.searchParams.get("state")!, binding, idToken, nonce, msSession: browser.cookies.get("rollcall_session") });

    // The refusals that log: Microsoft's token endpoint unavailable (AADSTS90033), then the app's secret refused (AADSTS7000215).
    const account = { tenantId: h.emulator.tenantId, userId: person.id };
    h.emulator.setKnobs({ tokenFaultRate: 1 });
    expect((await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, account)).status).not.toBe(302);
    h.emulator.setKnobs({ tokenFaultRate: 0 });
    const wrongForSignIn = "wr0ng8Q~aWrongSecretMeetsTheSignIn-0123456";
    expect((await call("PATCH", "workspaces/default/sources/corp", { token: secrets.token! }, { clientSecret: wrongForSignIn })).status).toBe(200);
    expect((await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, account)).status).not.toBe(302);
    expect(log()).toContain("sign-in refused: the source's app credentials were refused");
    secrets.wrongForSignIn = wrongForSignIn;
  });

  it("none of them, nor anything sent to or received from Microsoft's token endpoint, is in the log", async () => {
    const text = log();
    expect(wire.secrets.size).toBeGreaterThan(5);
    const onWire = Object.fromEntries([...wire.secrets].map((value, i) => [`sent or received #${i} ${value.slice(0, 6)}`, value]));
    expectNotLogged(text, { ...secrets, ...onWire });
    // No JWT of any kind, whoever issued it.
    expect(text).not.toMatch(/eyJ[\w-]{8,}\.eyJ/);
    // And the log did see the requests that carried them.
    expect(text).toContain("request completed");
    expect(text).toContain("/auth/microsoft/callback?code=redacted");
  });
});

describe("the CLI's own log at trace level", () => {
  it("rollcall sources add/test never print the client secret, right or wrong", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "rollcall-secrets-log-"));
    const emulator = await startTrustedEmulator({ users: 5, groups: 1, seed: 3 });
    try {
      const env = { ROLLCALL_DATA_DIR: seedDataFolder(join(dir, "data")), DATABASE_URL: undefined, NODE_EXTRA_CA_CERTS: emulator.caFile, ROLLCALL_LOG_LEVEL: "trace", APP_SECRET: emulator.clientSecret };
      const wrong = "wr0ng8Q~theCliIsGivenAWrongSecret-01234567";
      const flags = ["--tenant-id", emulator.tenantId, "--client-id", emulator.clientId, "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl, "--client-secret-env", "APP_SECRET"];
      const results = [
        await runCli(["sources", "add", "entra", "--name", "corp", ...flags], env),
        await runCli(["sources", "test", "corp"], env),
        await runCli(["sources", "add", "entra", "--name", "broken", ...flags], { ...env, APP_SECRET: wrong }),
        await runCli(["sources", "test", "broken"], env),
      ];
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 1]);
      expect(results[3]!.stdout + results[3]!.stderr).toContain("AADSTS");
      for (const r of results) for (const secret of [emulator.clientSecret, wrong]) expect(r.stdout + r.stderr).not.toContain(secret);
    } finally {
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
