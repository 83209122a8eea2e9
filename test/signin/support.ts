import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { sql } from "kysely";
import { fetch as undiciFetch } from "undici";
import type { FastifyInstance } from "fastify";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { dispatcher, httpFetch } from "../../src/net/http.ts";
import { createEntraSource, loadSourceForSync, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { runSync } from "../../src/sync/runner.ts";
import { loadConfig } from "../../src/config.ts";
import { buildApp } from "../../src/api/server.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { EntraConfigInput } from "../../src/sources/entra/config.ts";
import { openTestStore, type EngineName, type TestStore } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { startCli } from "../support/cli.ts";

/**
 * A Rollcall API server (in-process, real HTTP on loopback) over a fresh database, and the Entra ID
 * emulator over real HTTPS with its CA trusted, with the server's callback registered on the app.
 */
export interface SignInHarness {
  store: TestStore;
  emulator: RunningEmulator;
  rt: Runtime;
  app: FastifyInstance;
  url: string;
  ctx: SourceContext;
  addSource(name: string, config?: Partial<EntraConfigInput>, tenant?: { tenantId: string; clientId: string; clientSecret: string }): Promise<void>;
  sync(name: string): Promise<void>;
  close(): Promise<void>;
}

/** The engine the sign-in suites run on: PostgreSQL when ROLLCALL_TEST_DATABASE_URL is set, PGlite otherwise. */
export const signInEngine: EngineName = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";

/** A harness whose emulator tenant is synced as the source "contoso", sign-in on: where most sign-in tests start. */
export async function openSyncedHarness(engine: EngineName = signInEngine): Promise<SignInHarness> {
  const h = await openSignInHarness(engine);
  await h.addSource("contoso");
  await h.sync("contoso");
  return h;
}

export async function openSignInHarness(engine: EngineName, env: Record<string, string> = {}, logger: Logger = pino({ level: "silent" })): Promise<SignInHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-signin-"));
  const emulator = await startTrustedEmulator({ users: 12, groups: 2, seed: 11 });
  const store = await openTestStore(engine);
  const config = loadConfig({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_LOG_LEVEL: "silent", ROLLCALL_COOKIE_SECURE: "false", ROLLCALL_ENTRA_CUSTOM_URLS: "true", ...env });
  const secrets = secretBox(Buffer.alloc(32, 9));
  const rt: Runtime = { config, store, secrets, logger, close: async () => {} };
  const app = await buildApp(rt);
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  const url = address.replace("localhost", "127.0.0.1");
  emulator.tenants.get(emulator.tenantId).updateApp(emulator.clientId, { redirectUris: [`${url}/api/v1/auth/microsoft/callback`] });
  const workspace = await resolveWorkspace(store.db, "default");
  const ctx: SourceContext = { db: store.db, workspace, actor: "test", secrets, entraCustomUrls: true };
  return {
    store,
    emulator,
    rt,
    app,
    url,
    ctx,
    async addSource(name, extra = {}, tenant = emulator) {
      await createEntraSource(ctx, {
        name,
        config: { tenantId: tenant.tenantId, clientId: tenant.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, signIn: true, ...extra },
        credential: { kind: "secret", secret: tenant.clientSecret },
      });
    },
    async sync(name) {
      const source = await loadSourceForSync(ctx, name);
      const summary = await runSync(store, { workspaceId: workspace.id, source, trigger: "manual" }, { fetch: httpFetch, retry: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 500 } });
      if (summary.status !== "succeeded") throw new Error(`sync of ${name} ended ${summary.status}: ${JSON.stringify(summary.error)}`);
    },
    async close() {
      await app.close();
      await store.dispose();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A tiny cookie jar per origin-less name (tests talk to one Rollcall server). */
export class Browser {
  /** Rollcall's cookies (http://), and the emulator's login host's (https://: its browser session, ESTSAUTH). */
  cookies = new Map<string, string>();
  microsoftCookies = new Map<string, string>();
  constructor(readonly caPem: string) {}

  header(jar = this.cookies): string {
    return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** One request, no redirect following; remembers Set-Cookie. */
  async request(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; location: string | null; text: string; setCookies: string[] }> {
    const isRollcall = url.startsWith("http://");
    const jar = isRollcall ? this.cookies : this.microsoftCookies;
    const response = await undiciFetch(url, {
      method: init.method ?? "GET",
      redirect: "manual",
      headers: { ...(jar.size ? { cookie: this.header(jar) } : {}), ...init.headers },
      ...(init.body !== undefined && { body: init.body }),
      ...(!isRollcall && { dispatcher: await dispatcher(this.caPem) }),
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (value === "" || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return { status: response.status, location: response.headers.get("location"), text: await response.text(), setCookies };
  }
}

/**
 * Signs in through the emulator's sign-in page as a person: start at Rollcall, follow to the emulator's
 * authorize page, pick the account, and follow the redirect back to Rollcall's callback.
 * Returns the callback's answer (a redirect into the console, or a refusal page).
 */
export interface SignInStep {
  stage: "start" | "authorize" | "emulator" | "callback";
  status: number;
  location: string | null;
  text: string;
  setCookies: string[];
  callbackUrl?: string;
}

export async function signInAs(browser: Browser, startUrl: string, account: { tenantId: string; userId: string }, options: { follow?: boolean } = {}): Promise<SignInStep> {
  const start = await browser.request(startUrl);
  if (start.status !== 302 || !start.location) return { ...start, stage: "start" as const };
  const authorize = await browser.request(start.location);
  if (authorize.status !== 200) return { ...authorize, stage: "authorize" as const };
  const txn = /name="txn" value="([^"]+)"/.exec(authorize.text)?.[1];
  const action = /<form method="post" action="([^"]+)"/.exec(authorize.text)?.[1];
  if (!txn || !action) throw new Error(`no sign-in form on the emulator page: ${authorize.text.slice(0, 300)}`);
  const post = await browser.request(new URL(action.replace(/&amp;/g, "&"), start.location).toString(), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ txn, account: `${account.tenantId}:${account.userId}`, action: "signin" }).toString(),
  });
  if (post.status !== 302 || !post.location) return { ...post, stage: "emulator" as const };
  if (options.follow === false) return { ...post, stage: "emulator" as const, callbackUrl: post.location };
  return { ...(await browser.request(post.location)), stage: "callback" as const, callbackUrl: post.location };
}

export async function directoryUser(store: TestStore, externalId: string): Promise<{ id: string; display_name: string; enabled: boolean }> {
  const { rows } = await sql<{ id: string; display_name: string; enabled: boolean }>`select id, display_name, enabled from users where external_id = ${externalId}`.execute(store.db);
  if (!rows[0]) throw new Error(`user ${externalId} was not synced`);
  return rows[0];
}

export interface CliLogin {
  /** The sign-in URL the CLI printed (--no-browser). */
  url: string;
  /** What the emulator's page and Rollcall's callback answered the "system browser". */
  back: SignInStep;
  /** The loopback listener's page after the browser followed the redirect. */
  landed: { status: number; text: string };
  code: number;
  stderr: string;
}

/** `rollcall login --no-browser` running: the sign-in URL it printed, its standard error so far, and its exit code once it ends. */
export interface StartedCliLogin {
  url: string;
  stderr(): string;
  exited: Promise<number>;
}

export async function startCliLogin(h: SignInHarness, env: Record<string, string>, args: string[]): Promise<StartedCliLogin> {
  const cli = startCli(["login", ...args, "--server", h.url, "--no-browser", "--json"], env);
  const url = await new Promise<string>((resolve, reject) => {
    cli.child.stdout!.on("data", () => {
      const line = cli.stdout().split("\n").find((l) => l.startsWith("http"));
      if (line) resolve(line.trim());
    });
    cli.child.on("exit", () => reject(new Error(`login exited early: ${cli.stderr()}`)));
  });
  return { url, stderr: cli.stderr, exited: cli.exited.then((code) => code ?? -1) };
}

/**
 * `rollcall login --no-browser` as a person runs it: the real binary prints the sign-in URL, a
 * "system browser" signs in on the emulator's page and follows the redirect to the CLI's loopback listener.
 * `beforeSignIn` runs once the URL is printed, before the browser starts.
 */
export async function loginWithCli(
  h: SignInHarness,
  account: { tenantId: string; userId: string },
  env: Record<string, string>,
  args: string[] = ["--workspace", "default"],
  beforeSignIn?: (url: string) => Promise<void>,
): Promise<CliLogin> {
  const { url, stderr, exited } = await startCliLogin(h, env, args);
  await beforeSignIn?.(url);
  const browser = new Browser(h.emulator.caPem);
  const back = await signInAs(browser, url, account);
  const landed = back.location?.startsWith("http://127.0.0.1") ? await browser.request(back.location) : { status: 0, text: "" };
  return { url, back, landed, code: await exited, stderr: stderr() };
}
