// Graph error bodies: {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}
// plus request-id / client-request-id headers.
import { randomUUID } from "node:crypto";
import type { Res } from "../http.ts";

export interface GraphCtxIds { requestId: string; clientRequestId: string }

export function newIds(clientRequestId?: string): GraphCtxIds {
  const requestId = randomUUID();
  return { requestId, clientRequestId: clientRequestId || requestId };
}

export const JSON_CT = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

export function graphHeaders(ids: GraphCtxIds, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": JSON_CT,
    "request-id": ids.requestId,
    "client-request-id": ids.clientRequestId,
    "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"EMU"}}',
    "odata-version": "4.0",
    "cache-control": "no-cache",
    "strict-transport-security": "max-age=31536000",
    ...extra,
  };
}

export function graphError(status: number, code: string, message: string, ids: GraphCtxIds, extra: Record<string, string> = {}): Res {
  const body = {
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ""), "request-id": ids.requestId, "client-request-id": ids.clientRequestId },
    },
  };
  return { status, headers: graphHeaders(ids, extra), body: JSON.stringify(body) };
}

export class GraphHttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export const notFound = (id: string): GraphHttpError =>
  new GraphHttpError(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
/** A group is found by its object id only (a user by its user name too): anything else is no id at all. */
export const groupNotFound = (id: string): GraphHttpError =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? notFound(id) : badRequest(`Invalid object identifier '${id}'.`);
export const denied = (): GraphHttpError =>
  new GraphHttpError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
export const badRequest = (message: string, code = "Request_BadRequest"): GraphHttpError => new GraphHttpError(400, code, message);
