import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { Runtime } from "../runtime.ts";
import type { WorkspaceContext } from "../core/context.ts";
import type { Role } from "../storage/schema.ts";
import type { Principal } from "./auth.ts";

/**
 * One route = one object: method, path, who may call it, zod schemas for what comes in and goes out,
 * and a handler over the core. `server.ts` registers it and `openapi.ts` documents it from the same
 * object, so the two cannot drift apart.
 *
 * Access:
 * - "public": no credentials (health, login, the OpenAPI document).
 * - "signed-in": any valid session or token (me, logout, the workspace list).
 * - "workspace": the URL's `:workspace` must be visible to the caller; GET needs any role,
 *   other methods need admin. The handler gets a ready `ctx` for the core.
 * - "owner": an owner account's session (creating workspaces).
 */
export type Access = "public" | "signed-in" | "workspace" | "owner";
export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

interface BaseInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The If-Match header, for a route with `etag` that changes the record (takesIfMatch); undefined for any other. */
  ifMatch: string | undefined;
  rt: Runtime;
  request: FastifyRequest;
  reply: FastifyReply;
}

export type HandlerInput<A extends Access, P, Q, B> = BaseInput<P, Q, B> &
  (A extends "public"
    ? { principal: Principal | undefined }
    : A extends "workspace"
      ? { principal: Principal; ctx: WorkspaceContext; role: Role }
      : { principal: Principal });

type Empty = z.ZodObject<{}>;
export interface Upload {
  field: string;
  description?: string;
  /** Form fields that may come beside the file (documented as strings: a form field is text; an object as JSON). */
  fields?: z.ZodType;
}
/** Status → description, media types (none for a redirect) and the headers it sends (name → description). */
export type Answers = Record<string, { description: string; content?: string[]; headers?: Record<string, string> }>;
export type RouteConfig = Record<string, unknown> | ((rt: Runtime) => Record<string, unknown>);

export interface RouteSpec<A extends Access, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType | undefined> {
  method: Method;
  /** Below /api/v1, in fastify syntax (`/workspaces/:workspace/users`). */
  url: string;
  /** Served at `url` itself, not below /api/v1: where other tools expect it (Prometheus's /metrics). */
  atRoot?: boolean;
  summary: string;
  description?: string;
  access: A;
  params?: P;
  query?: Q;
  body?: B;
  /** A multipart/form-data file upload (read with `request.file()`); documents the part's name. */
  upload?: Upload;
  /** The handler gets the body unchecked and checks it itself against `body`, to say every field's problem at once. */
  bodyCheckedByHandler?: boolean;
  /**
   * Optimistic concurrency: the answer's ETag header is the `version` of the record the handler answers. A route that
   * changes it (any method but GET) also takes it back: its handler gets the If-Match header as `ifMatch`, for the
   * core to refuse a change made on another version (412 precondition_failed). The OpenAPI document says both.
   */
  etag?: { version(answer: R extends z.ZodType ? z.input<R> : never): string };
  /** Error answers of this route beyond those every route of its kind has (400, 401, 403, 404, 409…), for the OpenAPI document. */
  errors?: Partial<Record<400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 502 | 503, string>>;
  /** Absent for 204 No Content. */
  response?: R;
  /** What a route that answers itself (a download, a redirect, a page) sends instead of JSON, by status, for the OpenAPI document. */
  answers?: Answers;
  /** Success status; 200 by default (201 for a creation). */
  status?: 200 | 201 | 202 | 204;
  /** Opened by a browser (the sign-in redirects): its errors, a rate limit's too, are answered with a page, not JSON. */
  browserPage?: boolean;
  /** Extra fastify route config (e.g. `rateLimit`), possibly from the runtime's configuration. */
  config?: RouteConfig;
  /** Polled by machines (a load balancer's health probe): its requests are logged only when they fail. */
  quiet?: boolean;
  /** Answers without the database (so never 503 database_unreachable): liveness, the OpenAPI document. */
  withoutDatabase?: boolean;
  /** A public route that checks a credential of its own (the scrape token of /metrics): the OpenAPI document names its scheme. */
  ownSecurity?: "metricsToken";
  handler(input: HandlerInput<A, z.output<P>, z.output<Q>, z.output<B>>): Promise<R extends z.ZodType ? z.input<R> : void>;
}

/** The type-erased form the registry, the server and the OpenAPI generator work with. */
export interface Route {
  method: Method;
  url: string;
  atRoot?: boolean | undefined;
  summary: string;
  description?: string | undefined;
  access: Access;
  params?: z.ZodType | undefined;
  query?: z.ZodType | undefined;
  body?: z.ZodType | undefined;
  upload?: Upload | undefined;
  bodyCheckedByHandler?: boolean | undefined;
  etag?: { version(answer: unknown): string } | undefined;
  errors?: Partial<Record<number, string>> | undefined;
  response?: z.ZodType | undefined;
  answers?: Answers | undefined;
  status?: number | undefined;
  browserPage?: boolean | undefined;
  config?: RouteConfig | undefined;
  quiet?: boolean | undefined;
  withoutDatabase?: boolean | undefined;
  ownSecurity?: "metricsToken" | undefined;
  handler(input: BaseInput<unknown, unknown, unknown> & { principal?: Principal | undefined; ctx?: WorkspaceContext; role?: Role }): Promise<unknown>;
}

/** Where the route is served: below /api/v1, or at its URL itself (`atRoot`). */
export const servedAt = (r: Pick<Route, "url" | "atRoot">, apiPrefix: string): string => (r.atRoot ? r.url : apiPrefix + r.url);

/** Whether the route takes If-Match: it has `etag` and changes the record. */
export const takesIfMatch = (r: Route): boolean => r.etag !== undefined && r.method !== "GET";

/** A group of routes shown under one heading in the OpenAPI document. */
export interface RouteModule {
  tag: string;
  description?: string;
  routes: Route[];
}

export function route<A extends Access, P extends z.ZodType = Empty, Q extends z.ZodType = Empty, B extends z.ZodType = Empty, R extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<A, P, Q, B, R>,
): Route {
  return spec as unknown as Route;
}
