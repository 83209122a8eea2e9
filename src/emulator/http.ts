// Minimal request/response shapes shared by the identity, Graph and control handlers. Handlers are
// plain functions returning a Res, so $batch can call Graph handlers without a socket.
import type { IncomingHttpHeaders } from "node:http";

export interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The raw query string without "?" (for rebuilding links). */
  search: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  remoteAddress: string;
  /** "https://host:port" as the client addressed us. */
  origin: string;
}

export interface Res {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Destroy the connection instead of answering (fault injection). */
  drop?: boolean;
  /** Send the status, headers and half the body, then destroy the connection (fault injection). */
  cut?: boolean;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Res {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(body) };
}

export function html(status: number, body: string, headers: Record<string, string> = {}): Res {
  return { status, headers: { "content-type": "text/html; charset=utf-8", ...headers }, body };
}

export function redirect(location: string, status = 302): Res {
  return { status, headers: { location, "content-type": "text/html; charset=utf-8" }, body: `<html><body>Object moved to <a href="${escapeHtml(location)}">here</a>.</body></html>` };
}

export function header(req: Req, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function formBody(req: Req): URLSearchParams {
  return new URLSearchParams(req.body.toString("utf8"));
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

export function isLoopback(addr: string): boolean {
  return addr === "127.0.0.1" || addr === "::1" || addr === "::ffff:127.0.0.1" || addr.startsWith("127.") || addr.startsWith("::ffff:127.");
}
