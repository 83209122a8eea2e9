import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { Command, Option } from "commander";
import { cliEnv, loadConfig } from "../../config.ts";
import { RollcallError, toRollcallError } from "../../errors.ts";
import { pkceChallenge, randomValue } from "../../auth/pkce.ts";
import { escapeHtml } from "../../auth/pages.ts";
import { directoryCommand, needsNoDatabase, output, printError, printJson, runOn, withJson, withServer } from "../io.ts";
import { bearerSessionPrefix } from "../../api/auth.ts";
import { apiClient, normalizeServer, serverFrom } from "../api-client.ts";
import { forgetSession, readSession, saveSession, sessionFile, type StoredSession } from "../session.ts";

/**
 * `rollcall login`: sign in with Microsoft from a terminal, the way desktop apps do (RFC 8252): the
 * system browser runs the sign-in at the Rollcall server, which hands a one-time code to a loopback
 * listener here; the code and this process's PKCE verifier buy a session token, kept for later
 * commands (see session.ts), which then go through that server's API.
 * The Entra app needs no extra redirect URI: Microsoft only ever talks to the server.
 */
function defaultServer(): string {
  const server = serverFrom(undefined);
  if (server) return server;
  const config = loadConfig();
  return config.publicUrl ?? `http://${config.host}:${config.port}`;
}

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  try {
    spawn(cmd as string, args as string[], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
  } catch {
    // The URL is printed as well; a person can open it by hand.
  }
}

const page = (title: string, ...paragraphs: string[]) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto"><h1>${escapeHtml(title)}</h1>${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("")}</body></html>`;

/** Listens on 127.0.0.1 (any free port) for the one redirect carrying the code, or the server's refusal. */
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
      const error = url.searchParams.get("error");
      if (url.searchParams.get("state") === state && error) {
        // The server refused this sign-in (RFC 6749 §4.1.2.1): say why here and in the terminal, and stop waiting.
        const message = url.searchParams.get("error_description") || `The sign-in ended with ${error}`;
        const refused = new RollcallError(error === "access_denied" ? "signin_refused" : "internal", message, { error });
        // Settled once the page is sent: the listener closes right after.
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", connection: "close" }).end(page("Sign-in refused", message, "You can close this tab and return to your terminal."), () => settle.reject(refused));
        return;
      }
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

/**
 * Before a browser opens: a server that cannot be reached, or offers no Microsoft sign-in at all, is said at once
 * rather than after the browser shows a refusal (or nothing) and the terminal waits out its timeout.
 */
async function assertMicrosoftOffered(server: string): Promise<void> {
  const providers = await apiClient(server, { anonymous: true }).request<{ microsoft: boolean }>("GET", "/auth/providers");
  if (providers.microsoft) return;
  throw new RollcallError("signin_refused", `${server} offers no sign-in with Microsoft: none of its Entra ID sources has "Use for Sign in with Microsoft" on. An admin turns it on in the source's settings (or \`rollcall sources update NAME --sign-in\`); until then, sign in to the console with a password, or use an API token (ROLLCALL_TOKEN).`, { reason: "not_offered" });
}

export function loginCommand(): Command {
  return needsNoDatabase(withJson(new Command("login").description("sign in with your Microsoft account (system browser); keeps a session token for later commands given --server or ROLLCALL_SERVER")))
    .option("-w, --workspace <name>", "the workspace whose Microsoft sign-in to use (asked in the browser when several offer it)")
    .option("--source <name>", "the organization (Entra ID source) to sign in through, at its own tenant: asked in the browser when the workspace has several; a guest signs in through the organization that invited them")
    .option("--server <url>", "the Rollcall server (default ROLLCALL_SERVER, ROLLCALL_PUBLIC_URL or http://ROLLCALL_HOST:ROLLCALL_PORT)")
    .option("--no-browser", "print the sign-in URL instead of opening the browser (remote shells)")
    .addOption(new Option("--timeout <minutes>", "how long to wait for the browser").default("5"))
    .action(async (opts: { workspace?: string; source?: string; server?: string; browser: boolean; timeout: string; json?: boolean }) => {
      let listener: Server | undefined;
      try {
        const server = normalizeServer(opts.server ?? defaultServer());
        await assertMicrosoftOffered(server);
        const verifier = randomValue(48);
        const state = randomValue(16);
        const wait = await loopback(state, Number(opts.timeout) * 60_000);
        listener = wait.server;
        const start = new URL(`${server}/api/v1/auth/microsoft/start`);
        if (opts.workspace) start.searchParams.set("workspace", opts.workspace);
        if (opts.source) start.searchParams.set("source", opts.source);
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
        const session = await apiClient(server, { anonymous: true }).request<{ token: string; account: { email: string; displayName: string }; expiresAt: string }>("POST", "/auth/microsoft/token", { body: { code, codeVerifier: verifier } });
        const stored: StoredSession = { server, token: session.token, workspace: opts.workspace ?? null, account: { email: session.account.email, displayName: session.account.displayName }, expiresAt: session.expiresAt };
        const file = saveSession(stored);
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

interface Profile {
  account: { email: string; displayName: string };
  workspaces: { name: string; role: string }[];
  signInMethod: string;
}
interface Me {
  token: { name: string; role: string } | null;
  workspaces: { name: string; role: string }[];
}

export function whoamiCommand(): Command {
  return withServer(withJson(new Command("whoami").description("who the CLI acts as on the server: the account `rollcall login` signed in, or the API token in ROLLCALL_TOKEN")))
    .action(async (opts: { json?: boolean; server?: string }) =>
      output(opts, async () => {
        const server = serverFrom(opts.server) ?? readSession()?.server;
        if (!server) throw new RollcallError("unauthenticated", "You are not signed in; run `rollcall login`");
        const client = apiClient(normalizeServer(server));
        const token = cliEnv().token;
        // An API token is no person: it has no profile, only a name, a role and its workspace.
        if (token && !token.startsWith(bearerSessionPrefix)) return { server: client.server, me: await client.request<Me>("GET", "/auth/me") };
        return { server: client.server, profile: await client.request<Profile>("GET", "/auth/profile") };
      }, {
        json: (r) => r.profile ?? r.me,
        human: ({ server, profile, me }) => {
          const who = profile ? `${profile.account.displayName} <${profile.account.email}> (${profile.signInMethod})` : `API token "${me!.token?.name}" (${me!.token?.role})`;
          return `${who} on ${server}\n${(profile ?? me!).workspaces.map((w) => `  ${w.role} in ${w.name}`).join("\n")}`;
        },
      }),
    );
}

export function logoutCommand(): Command {
  return needsNoDatabase(withJson(new Command("logout").description("end the session `rollcall login` started and forget its token"))).action(async (opts: { json?: boolean }) =>
    output(opts, async () => {
      let stored: StoredSession | null;
      try {
        stored = readSession();
      } catch (error) {
        // A file that holds no session has no token to end on a server: logging out removes it.
        if (!(error instanceof RollcallError && error.details.reason === "session_corrupt")) throw error;
        forgetSession();
        return { signedOut: false, server: null, microsoftSignOutUrl: null, removedCorruptSession: sessionFile() };
      }
      let microsoftSignOutUrl: string | null = null;
      if (stored) {
        const answer = await apiClient(normalizeServer(stored.server), { token: stored.token }).request<{ microsoftSignOutUrl?: string | null } | undefined>("POST", "/auth/logout").catch(() => undefined);
        microsoftSignOutUrl = answer?.microsoftSignOutUrl ?? null;
        forgetSession();
      }
      return { signedOut: Boolean(stored), server: stored ? normalizeServer(stored.server) : null, microsoftSignOutUrl };
    }, {
      human: (r) => {
        if (r.removedCorruptSession) return `Removed ${r.removedCorruptSession}, which held no session \`rollcall login\` saved.`;
        if (!r.signedOut) return "Not signed in; nothing to do.";
        // The browser `rollcall login` used keeps its Microsoft session; ending it is the person's choice.
        const microsoft = r.microsoftSignOutUrl ? `\nYour browser is still signed in to Microsoft; to sign out of Microsoft too, open:\n  ${r.microsoftSignOutUrl}` : "";
        return `Signed out of ${r.server}.${microsoft}`;
      },
    }),
  );
}

/** `rollcall user-role`: make a synced user an admin of their workspace (or a viewer again), or take their access away. */
export function userRoleCommand(): Command {
  return directoryCommand("user-role", "give a user synced from Entra ID the admin or viewer role (they sign in with Microsoft), or none to take their access away")
    .argument("<user>", "user id, email or user principal name")
    .addOption(new Option("--role <role>", "role; none ends their sessions and API tokens and refuses their sign-in (the sync does not undo it)").choices(["admin", "viewer", "none"]).makeOptionMandatory())
    .action(async (user: string, opts: { workspace: string; role: "admin" | "viewer" | "none"; json?: boolean; server?: string }) =>
      runOn(opts, (directory) => directory.users.setRole(user, opts.role), {
        human: (r) => (r.role === "none" ? `${r.displayName} no longer has access to ${opts.workspace}` : `${r.displayName} is now ${r.role === "admin" ? "an admin" : "a viewer"} of ${opts.workspace}`),
      }, "user-role"),
    );
}
