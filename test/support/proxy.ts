import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** Hop-by-hop headers (RFC 9110 §7.6.1): a proxy does not pass them on. */
const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

export interface RoundRobinProxy {
  url: string;
  /** Each request proxied so far, in the order they came: which backend (index into `backends`) it went to, and its status (0 until answered). */
  served: { method: string; path: string; backend: number; status: number }[];
  /** Send the next request to this backend instead of the next one in turn (the turn order is not advanced). */
  nextTo(backend: number): void;
  close(): Promise<void>;
}

/**
 * A load balancer in front of several Rollcall processes, as simple as they come: each request goes to the
 * next backend in turn (no stickiness), method, path, headers (Host included) and body passed on as they are,
 * and the answer's status, headers (every Set-Cookie) and body passed back.
 */
export async function startRoundRobinProxy(backends: string[]): Promise<RoundRobinProxy> {
  let turn = 0;
  const pinned: number[] = [];
  const served: RoundRobinProxy["served"] = [];
  const server = createServer((incoming, outgoing) => {
    const backend = pinned.shift() ?? turn++ % backends.length;
    const target = new URL(incoming.url ?? "/", backends[backend]);
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(incoming.headers)) if (!hopByHop.has(name)) headers[name] = value;
    const entry = { method: incoming.method ?? "GET", path: incoming.url ?? "/", backend, status: 0 };
    served.push(entry);
    const upstream = httpRequest(target, { method: incoming.method, headers }, (answer) => {
      entry.status = answer.statusCode ?? 0;
      const back: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !hopByHop.has(name)) back[name] = value;
      outgoing.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(outgoing);
    });
    upstream.on("error", (error) => {
      entry.status = 502;
      if (!outgoing.headersSent) outgoing.writeHead(502, { "content-type": "text/plain" });
      outgoing.end(`proxy: backend ${backend} failed: ${error.message}`);
    });
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    nextTo: (backend) => void pinned.push(backend),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
