import { createWriteStream, openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FormData } from "undici";
import { cliEnv } from "../config.ts";
import { invalidInput, RollcallError, type ErrorCode } from "../errors.ts";
import { dispatcher, loadUndici } from "../net/http.ts";
import { readSession } from "./session.ts";

/**
 * The CLI's one HTTP client for a Rollcall server's REST API (/api/v1). It sends the caller's bearer
 * credential and turns every error answer back into the RollcallError the server raised, so a command
 * prints, and exits with, exactly what it would have locally.
 */
export interface ApiClient {
  server: string;
  request<T>(method: string, path: string, init?: { query?: Query; body?: unknown; form?: UploadForm }): Promise<T>;
  /** Streams a file answer (an export) to `out`, a file or a stream; answers its response headers. */
  download(path: string, query: Query, out: string | Writable): Promise<Headers>;
}

export type Query = Record<string, string | number | boolean | undefined>;
export interface UploadForm {
  file: string;
  /** The file part's name ("file" unless given). */
  part?: string;
  fields: Record<string, string | undefined>;
}

export const normalizeServer = (server: string) => server.trim().replace(/\/+$/, "");

/** The server the CLI talks to instead of the database, if one is set (--server, else ROLLCALL_SERVER). */
export function serverFrom(flag: string | undefined): string | undefined {
  const server = flag ?? cliEnv().server;
  if (!server?.trim()) return undefined;
  if (!/^https?:\/\/[^/\s]/i.test(server.trim()) || !URL.canParse(server.trim())) {
    const field = flag !== undefined ? "server" : "ROLLCALL_SERVER";
    throw invalidInput([{ field, message: "must be the address of a Rollcall server, e.g. https://rollcall.example.com", value: server }]);
  }
  return normalizeServer(server);
}

/** ROLLCALL_TOKEN (an API token or a session token) wins; else the session `rollcall login` saved for this server. */
function credentialFor(server: string): { token: string; from: "env" | "session" } {
  const fromEnv = cliEnv().token;
  if (fromEnv) return { token: fromEnv, from: "env" };
  const session = readSession();
  if (session && normalizeServer(session.server) === server) return { token: session.token, from: "session" };
  throw new RollcallError("unauthenticated", `You are not signed in to ${server}; run \`rollcall login --server ${server}\` (or set ROLLCALL_TOKEN to an API token)`, { server });
}

/** `token` overrides the usual credential (logout ends the saved session even when ROLLCALL_TOKEN is set). */
export function apiClient(server: string, options: { anonymous?: boolean; token?: string } = {}): ApiClient {
  const credential = options.anonymous ? undefined : options.token ? { token: options.token, from: "session" as const } : credentialFor(server);
  const headers = (extra: Record<string, string> = {}) => ({ accept: "application/json", ...(credential && { authorization: `Bearer ${credential.token}` }), ...extra });

  async function send(method: string, path: string, init: { query?: Query; body?: unknown; form?: UploadForm }): Promise<Response> {
    const url = new URL(`${server}/api/v1${path}`);
    for (const [key, value] of Object.entries(init.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    let body: string | FormData | undefined;
    let contentType: Record<string, string> = {};
    const undici = await loadUndici();
    if (init.form) {
      body = new undici.FormData();
      for (const [key, value] of Object.entries(init.form.fields)) if (value !== undefined) body.append(key, value);
      // The file part goes last: the server reads the fields that come before it.
      // openAsBlob opens the file only when the request reads it: a missing file is caught here, as it is locally.
      const file = init.form.file;
      const unreadable = (reason: string) => new RollcallError("not_found", `Cannot read ${file}: ${reason}`, { resource: "file", key: file });
      const info = await stat(file).catch((error: Error) => {
        throw unreadable(error.message);
      });
      if (!info.isFile()) throw unreadable("it is not a file");
      body.append(init.form.part ?? "file", await openAsBlob(file).catch((error: Error) => {
        throw unreadable(error.message);
      }), basename(file));
    } else if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      contentType = { "content-type": "application/json" };
    }
    let response: Response;
    try {
      response = (await undici.fetch(url, { method, headers: headers(contentType), body, dispatcher: await dispatcher() })) as unknown as Response;
    } catch (error) {
      const reason = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new RollcallError("server_unreachable", `Could not reach the Rollcall server at ${server} (${reason}); check --server or ROLLCALL_SERVER`, { server });
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async function errorOf(response: Response): Promise<RollcallError> {
    const text = await response.text();
    let error: { code?: string; message?: string; details?: Record<string, unknown> } | undefined;
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error;
    } catch {
      // Not Rollcall answering (a proxy, or the wrong URL): say what came back.
    }
    if (response.status === 401) {
      const why = error?.message ?? "the server did not accept your credentials";
      const hint = credential?.from === "env" ? "check ROLLCALL_TOKEN, or unset it and run `rollcall login`" : `run \`rollcall login --server ${server}\``;
      return new RollcallError("unauthenticated", `${why.replace(/[.;]?\s*(run `rollcall login` again|sign in again)$/, "")}; ${hint}`, { server });
    }
    if (!error?.code) return new RollcallError("internal", `${server} answered HTTP ${response.status} without a Rollcall error; is it a Rollcall server? (${text.slice(0, 200)})`, { status: response.status });
    return new RollcallError(error.code as ErrorCode, error.message ?? `HTTP ${response.status}`, error.details ?? {});
  }

  return {
    server,
    async request<T>(method: string, path: string, init: { query?: Query; body?: unknown; form?: UploadForm } = {}): Promise<T> {
      const response = await send(method, path, init);
      if (response.status === 204) return undefined as T;
      return (await response.json()) as T;
    },
    async download(path, query, out) {
      const response = await send("GET", path, { query });
      await pipeline(Readable.fromWeb(response.body as never), typeof out === "string" ? createWriteStream(out) : out);
      return response.headers;
    },
  };
}
