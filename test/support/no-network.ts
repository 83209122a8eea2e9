// Tests fail closed on the network: any connection to a host other than loopback is an error,
// so a test can never pass by quietly reaching Microsoft (or anything else) for real.
import net from "node:net";

const loopback = new Set(["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"]);
const originalConnect = net.Socket.prototype.connect;

function hostOf(args: unknown[]): string | undefined {
  const first = args[0];
  if (Array.isArray(first)) return hostOf(first);
  if (typeof first === "object" && first !== null) {
    const options = first as { host?: string; path?: string };
    if (options.path) return undefined; // unix socket
    return options.host ?? "localhost";
  }
  if (typeof first === "number") return typeof args[1] === "string" ? args[1] : "localhost";
  return undefined; // a unix socket path
}

net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const host = hostOf(args);
  if (host !== undefined && !loopback.has(host) && !host.startsWith("127.")) {
    throw new Error(`test tried to reach ${host}: tests may only talk to loopback`);
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
