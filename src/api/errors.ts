import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ZodError } from "zod";
import { RollcallError, invalidInput, toRollcallError, type ErrorCode } from "../errors.ts";
import { zodProblems } from "../core/context.ts";
import { pageSecurityHeaders, refusalPage } from "../auth/pages.ts";

/**
 * The API's one error edge: whatever was thrown (ours, zod's, fastify's own body and content-type
 * errors, a database failure) leaves as `{ error: { code, message, details } }` with its status.
 * Unexpected errors are logged in full and answered without internals.
 */
export function toApiError(error: unknown, limits: { bodyLimit: number }): RollcallError {
  if (error instanceof RollcallError) return error;
  if (error instanceof ZodError) return invalidInput(zodProblems(error));
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new RollcallError("payload_too_large", `The request body is larger than the limit of ${limits.bodyLimit} bytes`, { limit: limits.bodyLimit });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new RollcallError("unsupported_media_type", "Send the request body as JSON (Content-Type: application/json); a file upload (an import) as multipart/form-data with a part named \"file\"");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return invalidInput([{ field: "(body)", message: `is not valid JSON (${fastifyError.message})` }]);
  }
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    const code: ErrorCode =
      status === 401 ? "unauthenticated" : status === 403 ? "forbidden" : status === 404 ? "not_found" : status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : status === 429 ? "rate_limited" : "invalid_input";
    return new RollcallError(code, fastifyError.message ?? "Bad request");
  }
  return toRollcallError(error);
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route is opened by a browser (the sign-in redirects): its errors are answered with a page, not JSON. */
    browserPage?: boolean;
  }
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, limits: { bodyLimit: number }): FastifyReply {
  let apiError = toApiError(error, limits);
  if (apiError.code === "internal") {
    request.log.error({ err: error }, "request failed");
    apiError = new RollcallError("internal", `Something went wrong on the server; it has been logged (request ${request.id})`, { requestId: request.id });
  }
  if (request.routeOptions?.config?.browserPage) {
    return reply.status(apiError.status).headers(pageSecurityHeaders).type("text/html; charset=utf-8").send(refusalPage(apiError.message, apiError.code));
  }
  return reply.status(apiError.status).type("application/json").send({ error: apiError.toJSON() });
}

/**
 * What Node's HTTP parser refuses before fastify sees a request (a URL and headers over Node's 16 KiB, a
 * request that is not HTTP, one too slow to arrive), answered in the API's own error shape on the socket.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const refusal =
    error.code === "HPE_HEADER_OVERFLOW"
      ? new RollcallError("headers_too_large", "The request's URL and headers are larger than the server accepts (16 KiB together): shorten the URL (fewer or shorter filters) or clear this site's cookies")
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? new RollcallError("request_timeout", "The request did not arrive in time; send it again")
        : new RollcallError("invalid_input", "The request is not valid HTTP");
  const body = JSON.stringify({ error: refusal.toJSON() });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
