import { lookup as lookupCallback, type LookupAddress, type LookupOptions } from "node:dns";
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/**
 * Addresses a webhook may not reach unless the operator allows it (ROLLCALL_WEBHOOK_PRIVATE_NETWORK): loopback,
 * private, shared (CGNAT), link-local (cloud metadata services live at 169.254.169.254), unspecified, multicast and
 * reserved ranges. Without this, a workspace admin could make Rollcall send requests into the network it runs in.
 */
const privateRanges = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) privateRanges.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8]] as const) privateRanges.addSubnet(network, prefix, "ipv6");

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return privateRanges.check(mapped[1]!, "ipv4");
  const family = isIP(address);
  return family === 4 ? privateRanges.check(address, "ipv4") : family === 6 ? privateRanges.check(address, "ipv6") : false;
}

/**
 * A private address the host name stands for, if any (an IP literal is itself). A name that does not resolve here
 * (within 3 s) is not refused for it: behind an outbound proxy, the proxy resolves names and controls egress.
 */
export async function privateAddressOf(hostname: string): Promise<string | undefined> {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) return isPrivateAddress(host) ? host : undefined;
  const unresolved = new Promise<[]>((resolve) => setTimeout(() => resolve([]), 3000).unref());
  const addresses = await Promise.race([lookup(host, { all: true }).catch(() => [] as []), unresolved]);
  return addresses.find((a) => isPrivateAddress(a.address))?.address;
}

export function privateNetworkRefusal(hostname: string, address: string): string {
  const where = hostname.replace(/^\[|\]$/g, "") === address ? hostname : `${hostname} (${address})`;
  return `${where} is in a private network: webhooks reach only public addresses unless the server's operator sets ROLLCALL_WEBHOOK_PRIVATE_NETWORK=true`;
}

/** dns.lookup for a connection that may reach public addresses only: a name that resolves to a private one fails. */
export function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  lookupCallback(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) return callback(Object.assign(new Error(privateNetworkRefusal(hostname, refused.address)), { code: "EPRIVATENETWORK" }), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
