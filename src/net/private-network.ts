import { lookup as lookupCallback, type LookupAddress, type LookupOptions } from "node:dns";
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";

/**
 * Addresses a webhook may not reach unless the operator allows it (ROLLCALL_WEBHOOK_PRIVATE_NETWORK): loopback,
 * private, shared (CGNAT), link-local (cloud metadata services live at 169.254.169.254), unspecified, multicast,
 * documentation and reserved ranges, and the host's own addresses. Without this, a workspace admin could make
 * Rollcall send requests into the network it runs in.
 */
const privateRanges = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24],
  ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) privateRanges.addSubnet(network, prefix, "ipv4");
// Teredo (2001::/32) tunnels to an address it hides; 64:ff9b:1::/48 is a network's own NAT64 prefix.
for (const [network, prefix] of [
  ["::1", 128], ["64:ff9b:1::", 48], ["100::", 64], ["2001::", 32], ["2001:db8::", 32], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8],
] as const) privateRanges.addSubnet(network, prefix, "ipv6");

/** An IPv6 address's eight 16-bit groups. `address` must be a valid IPv6 address (dotted last 32 bits allowed). */
function ipv6Groups(address: string): number[] {
  // The URL parser writes a dotted IPv4 tail as two hex groups, and zone ids are not part of a host.
  const canonical = new URL(`http://[${address.replace(/%.*$/, "")}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.includes("::") ? canonical.split("::") : [canonical, undefined];
  const parse = (part: string | undefined) => (part ? part.split(":").map((group) => parseInt(group, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * The IPv4 address an IPv6 one carries to an IPv4 host, which a network may route there: IPv4-mapped (::ffff:0:0/96),
 * IPv4-compatible (::/96), NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056).
 */
function embeddedIpv4(groups: number[]): string | undefined {
  const dotted = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  if (groups[0] === 0x2002) return dotted(groups[1]!, groups[2]!);
  if ((zeros(0, 5) && (groups[5] === 0xffff || groups[5] === 0)) || (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6))) {
    return dotted(groups[6]!, groups[7]!);
  }
  return undefined;
}

/** Whether `address` (IPv4, or IPv6 as its groups) is one of this host's own interfaces' (a public one included: it is the server itself). */
function isOwnAddress(address: string | number[]): boolean {
  const key = (a: string | number[]) => (typeof a === "string" ? a : a.join(":"));
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((i) => key(i.family === "IPv6" ? ipv6Groups(i.address) : i.address) === key(address)),
  );
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return privateRanges.check(address, "ipv4") || isOwnAddress(address);
  if (family !== 6) return false;
  const groups = ipv6Groups(address);
  const ipv4 = embeddedIpv4(groups);
  if (ipv4 !== undefined) return isPrivateAddress(ipv4);
  return privateRanges.check(address, "ipv6") || isOwnAddress(groups);
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
