import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { Command, Option } from "commander";
import { loadConfig } from "../../config.ts";
import { RollcallError, toRollcallError } from "../../errors.ts";
import { httpFetch } from "../../net/http.ts";
import { pkceChallenge, randomValue } from "../../auth/oidc.ts";
import { setUserRole } from "../../auth/signin.ts";
import { resolveWorkspace } from "../../core/workspaces.ts";
import { printError, printJson, run, withJson } from "../io.ts";

/**
 * `rollcall login`: sign in with Microsoft from a terminal, the way desktop apps do (RFC 8252): the
 * system browser runs the sign-in at the Rollcall server, which hands a one-time code to a loopback
 * listener here; the code and this process's PKCE verifier buy a session token, kept in a file only
 * this user can read (ROLLCALL_SESSION_FILE, default ~/.config/rollcall/session.json).
 * The Entra app needs no extra redirect URI: Microsoft only ever talks to the server.
 */
export interface StoredSession {
  server: string;
  token: string;
  workspace: string | null;
  account: { email: string; displayName: string };
  expiresAt: string;
}

export function sessionFile(): string {
  return process.env.ROLLCALL_SESSION_FILE ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "rollcall", "session.json");
}

export function readSession(): StoredSession | null {
  try {
    return JSON.parse(readFileSync(sessionFile(), "utf8")) as StoredSession;
  } catch {
    return null;
  }
}

function defaultServer(): string {
  if (process.env.ROLLCALL_SERVER) return process.env.ROLLCALL_SERVER;
  const config = loadConfig();
  return config.publicUrl ?? `http://${config.host}:${config.port}`;
}

async function api<T>(server: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<T> {
  let response: Response;
  try {
    response = await httpFetch(`${server.replace(/\/$/, "")}/api/v1${path}`, {
      method: init.method ?? "GET",
      headers: { accept: "application/json", ...(init.body !== undefined && { "content-type": "application/json" }), ...(init.token && { authorization: `Bearer ${init.token}` }) },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
  } catch (error) {
    throw new RollcallError("source_unreachable", `Could not reach the Rollcall server at ${server} (${(error as Error).message}); give it with --server or ROLLCALL_SERVER`, { server });
  }
  if (response.status === 204) return undefined as T;
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string; details?: Record<string, unknown> } };
  if (!response.ok) {
    const e = body.error;
    throw new RollcallError((e?.code as never) ?? "internal", e?.message ?? `The server answered HTTP ${response.status}`, e?.details ?? {});
  }
  return body as T;
}

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  try {
    spawn(cmd as string, args as string[], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
  } catch {
    // The URL is printed as well; a person can open it by hand.
  }
}

const page = (title: string, text: string) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto"><h1>${title}</h1><p>${text}</p></body></html>`;

/** Listens on 127.0.0.1 (any free port) for the one redirect carrying the code. */
function loopback(state: string, timeoutMs: number): Promise<{ server: Server; redirectUri: string; code: Promise<string> }> {
  return new Promise((resolveListening, rejectListening) => {
    let settle: { resolve(code: string): void; reject(error: Error): void };
    const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (url.pathname !== "/callback") {
        res.writeHead(404).end();
        return;
      }
      const got = url.searchParams.get("code");
      if (url.searchParams.get("state") !== state || !got) {
        res.writeHead(400, { "content-type": "text/html; charset=utf-8" }).end(page("Sign-in failed", "This answer does not belong to the sign-in started in your terminal. Run rollcall login again."));
        return;
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", connection: "close" }).end(page("You are signed in to Rollcall", "You can close this tab and return to your terminal."));
      settle.resolve(got);
    });
    const timer = setTimeout(() => settle.reject(new RollcallError("unauthenticated", `No sign-in arrived within ${Math.round(timeoutMs / 60000)} minutes; run rollcall login again`)), timeoutMs);
    code.finally(() => clearTimeout(timer)).catch(() => {});
    server.on("error", rejectListening);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolveListening({ server, redirectUri: `http://127.0.0.1:${port}/callback`, code });
    });
  });
}

export function loginCommand(): Command {
  return withJson(new Command("login").description("sign in with your Microsoft account (system browser); keeps a session token for the CLI and API"))
    .option("-w, --workspace <name>", "the workspace whose Microsoft sign-in to use (asked in the browser when several offer it)")
    .option("--server <url>", "the Rollcall server (default ROLLCALL_SERVER, ROLLCALL_PUBLIC_URL or http://ROLLCALL_HOST:ROLLCALL_PORT)")
    .option("--no-browser", "print the sign-in URL instead of opening the browser (remote shells)")
    .addOption(new Option("--timeout <minutes>", "how long to wait for the browser").default("5"))
    .action(async (opts: { workspace?: string; server?: string; browser: boolean; timeout: string; json?: boolean }) => {
      let listener: Server | undefined;
      try {
        const server = (opts.server ?? defaultServer()).replace(/\/$/, "");
        const verifier = randomValue(48);
        const state = randomValue(16);
        const wait = await loopback(state, Number(opts.timeout) * 60_000);
        listener = wait.server;
        const start = new URL(`${server}/api/v1/auth/microsoft/start`);
        if (opts.workspace) start.searchParams.set("workspace", opts.workspace);
        start.searchParams.set("client_redirect_uri", wait.redirectUri);
        start.searchParams.set("client_code_challenge", pkceChallenge(verifier));
        start.searchParams.set("client_state", state);
        if (opts.browser) {
          process.stderr.write(`Opening your browser to sign in with Microsoft. If it does not open, visit:\n${start}\n`);
          openBrowser(start.toString());
        } else {
          process.stderr.write("Open this URL in a browser on this machine to sign in with Microsoft:\n");
          process.stdout.write(`${start}\n`);
        }
        const code = await wait.code;
        const session = await api<{ token: string; account: { email: string; displayName: string }; expiresAt: string }>(server, "/auth/microsoft/token", { method: "POST", body: { code, codeVerifier: verifier } });
        const stored: StoredSession = { server, token: session.token, workspace: opts.workspace ?? null, account: { email: session.account.email, displayName: session.account.displayName }, expiresAt: session.expiresAt };
        const file = sessionFile();
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
        chmodSync(file, 0o600);
        if (opts.json) printJson({ account: stored.account, server, expiresAt: stored.expiresAt, sessionFile: file });
        else process.stderr.write(`Signed in as ${stored.account.displayName} <${stored.account.email}> until ${stored.expiresAt}. Session saved in ${file}.\n`);
      } catch (error) {
        const e = toRollcallError(error);
        printError(e, opts.json);
        process.exitCode = e.code === "invalid_input" ? 2 : 1;
      } finally {
        listener?.closeAllConnections();
        listener?.close();
      }
    });
}

export function whoamiCommand(): Command {
  return withJson(new Command("whoami").description("who `rollcall login` signed you in as (asks the server)")).action(async (opts: { json?: boolean }) => {
    try {
      const stored = readSession();
      if (!stored) throw new RollcallError("unauthenticated", "You are not signed in; run rollcall login");
      const profile = await api<{ account: { email: string; displayName: string }; workspaces: { name: string; role: string }[]; signInMethod: string }>(stored.server, "/auth/profile", { token: stored.token });
      if (opts.json) printJson(profile);
      else process.stdout.write(`${profile.account.displayName} <${profile.account.email}> (${profile.signInMethod}) on ${stored.server}\n${profile.workspaces.map((w) => `  ${w.role} in ${w.name}`).join("\n")}\n`);
    } catch (error) {
      const e = toRollcallError(error);
      printError(e, opts.json);
      process.exitCode = 1;
    }
  });
}

export function logoutCommand(): Command {
  return new Command("logout").description("end the session `rollcall login` started and forget its token").action(async () => {
    const stored = readSession();
    if (stored) {
      await api(stored.server, "/auth/logout", { method: "POST", token: stored.token }).catch(() => {});
      rmSync(sessionFile(), { force: true });
    }
    process.stderr.write("Signed out.\n");
  });
}

/** `rollcall user-role`: make a synced user an admin of their workspace (or a viewer again). */
export function userRoleCommand(): Command {
  return withJson(new Command("user-role").description("give a user synced from Entra ID the admin or viewer role (they sign in with Microsoft)"))
    .argument("<user>", "user id, email or user principal name")
    .addOption(new Option("-w, --workspace <name>", "workspace name or id").default("default"))
    .addOption(new Option("--role <role>", "role").choices(["admin", "viewer"]).makeOptionMandatory())
    .action(async (user: string, opts: { workspace: string; role: "admin" | "viewer"; json?: boolean }) =>
      run(opts, async (rt) => setUserRole(rt.store.db, await resolveWorkspace(rt.store.db, opts.workspace), user, opts.role), {
        human: (r) => `${r.displayName} is now ${r.role === "admin" ? "an admin" : "a viewer"} of ${opts.workspace}`,
      }, "user-role"),
    );
}
