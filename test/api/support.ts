import { randomBytes } from "node:crypto";
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import { loadConfig, type Config } from "../../src/config.ts";
import type { Runtime } from "../../src/runtime.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { buildApp, type AppOptions } from "../../src/api/server.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { createWorkspace, resolveWorkspace } from "../../src/core/workspaces.ts";
import type { Store } from "../../src/storage/database.ts";
import { openTestStore, type EngineName, type TestStore } from "../support/db.ts";

/** An in-process API over a fresh database on `engine`, plus helpers to act as someone. */
export interface TestApi {
  app: FastifyInstance;
  rt: Runtime;
  store: TestStore;
  close(): Promise<void>;
}

export async function testRuntime(engine: EngineName, overrides: Partial<Config> = {}, logger?: Logger): Promise<{ rt: Runtime; store: TestStore }> {
  const store = await openTestStore(engine);
  return { rt: runtimeOver(store, overrides, logger), store };
}

/** A runtime over an open store (another process's view of the same database, say); closing it closes the store. */
export function runtimeOver(store: Store | TestStore, overrides: Partial<Config> = {}, logger?: Logger): Runtime {
  const config: Config = { ...loadConfig({ ROLLCALL_ENTRA_CUSTOM_URLS: "true" }), ...overrides };
  const close = "dispose" in store ? () => store.dispose() : () => store.close();
  return { config, store, secrets: secretBox(randomBytes(32)), logger: logger ?? pino({ level: "silent" }), close };
}

export async function testApi(engine: EngineName, options: AppOptions & { config?: Partial<Config> } = {}): Promise<TestApi> {
  const { rt, store } = await testRuntime(engine, options.config);
  const app = await buildApp(rt, options);
  return { app, rt, store, close: async () => { await app.close(); await store.dispose(); } };
}

export interface Reply {
  status: number;
  /** Parsed JSON; loosely typed because each suite asserts its own shape. */
  body: any;
  headers: Record<string, unknown>;
}

export type Caller = (method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;

/** Calls /api/v1 as given credentials: a session (cookie + CSRF header on changes), a bearer token, or nobody. */
export function caller(app: FastifyInstance, who: { cookie?: string; csrf?: string; token?: string } = {}): Caller {
  return async (method, url, body, headers = {}) => {
    const response = await app.inject({
      method: method as "GET",
      url: url.startsWith("/") ? url : `/api/v1/${url}`,
      headers: {
        ...(who.cookie && { cookie: `rollcall_session=${who.cookie}` }),
        ...(who.csrf && method !== "GET" && { "x-csrf-token": who.csrf }),
        ...(who.token && { authorization: `Bearer ${who.token}` }),
        ...headers,
      },
      ...(body !== undefined && { payload: body as object }),
    });
    const text = response.body;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (HTML), keep the text
    }
    return { status: response.statusCode, body: parsed, headers: response.headers };
  };
}

/** Signs in through the API and returns a caller for that session. */
export async function signIn(app: FastifyInstance, email: string, password: string): Promise<Caller & { session: { cookie: string; csrf: string } }> {
  const response = await app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { email, password } });
  if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  const cookie = response.cookies.find((c) => c.name === "rollcall_session")!.value;
  const csrf = (JSON.parse(response.body) as { csrfToken: string }).csrfToken;
  return Object.assign(caller(app, { cookie, csrf }), { session: { cookie, csrf } });
}

/** Creates an account (owner, or with a role in one workspace) and signs it in. */
export async function accountCaller(api: TestApi, email: string, grant: { owner: true } | { workspace: string; role: "admin" | "viewer" }) {
  const workspace = "workspace" in grant ? await resolveWorkspace(api.store.db, grant.workspace) : undefined;
  const { password } = await createAccount(api.store.db, { email, owner: "owner" in grant, workspace, role: "role" in grant ? grant.role : undefined }, "test");
  return signIn(api.app, email, password);
}

export async function tokenCaller(api: TestApi, workspace: string, role: "admin" | "viewer"): Promise<Caller & { token: string }> {
  const ws = await resolveWorkspace(api.store.db, workspace).catch(() => createWorkspace(api.store.db, { name: workspace }));
  const { token } = await createApiToken(api.store.db, ws, { role, name: `${role} token` }, "test");
  return Object.assign(caller(api.app, { token }), { token });
}

/** Expects a 4xx with the given code, and (for invalid input) the named fields. */
export function expectError(reply: Reply, status: number, code: string, fields?: string[]): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(Object.keys(reply.body)).toEqual(["error"]);
  expect(reply.body.error).toMatchObject({ code, message: expect.any(String), details: expect.any(Object) });
  if (fields) expect(reply.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(fields);
}

/** A multipart body with one file part (named `part`, "file" where the API wants it). */
export function multipartFile(fileName: string, content: string | Buffer, part = "file"): { payload: Buffer; headers: Record<string, string> } {
  const boundary = "----rollcall-test-boundary";
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part}"; filename="${fileName}"\r\nContent-Type: text/csv\r\n\r\n`),
    typeof content === "string" ? Buffer.from(content) : content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}
