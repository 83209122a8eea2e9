import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { createSecureContext, rootCertificates } from "node:tls";
import type { Dispatcher } from "undici";
import { isIP } from "node:net";
import { isPrivateAddress, privateNetworkRefusal, publicOnlyLookup } from "./private-network.ts";

/**
 * The one place outbound HTTPS is configured. Honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY (undici's
 * EnvHttpProxyAgent) and trusts Node's public roots + NODE_EXTRA_CA_CERTS + an optional extra CA
 * (a private CA given in-process, e.g. the emulator's in tests). Passing `ca` to undici replaces the
 * defaults rather than adding to them, and Node reads NODE_EXTRA_CA_CERTS only at start-up, so the
 * three are combined here.
 */
const dispatchers = new Map<string, Dispatcher>();

/** undici, loaded on the first request: most CLI commands make none and start faster without it. */
let undici: Promise<typeof import("undici")> | undefined;
export const loadUndici = () => (undici ??= import("undici"));

export function trustedCas(extraCa?: string): string[] {
  const cas = [...rootCertificates];
  const extraFile = process.env.NODE_EXTRA_CA_CERTS;
  if (extraFile) {
    try {
      cas.push(readFileSync(extraFile, "utf8"));
    } catch {
      // Node itself warns at start-up when the file cannot be read; nothing more to add here.
    }
  }
  if (extraCa) cas.push(extraCa);
  return cas;
}

/** `publicOnly`: connections made directly (not through a proxy) refuse private addresses as the name is resolved. */
export async function dispatcher(extraCa?: string, options: { publicOnly?: boolean } = {}): Promise<Dispatcher> {
  const { EnvHttpProxyAgent } = await loadUndici();
  const key = `${options.publicOnly ? "public|" : ""}${extraCa ?? ""}`;
  let found = dispatchers.get(key);
  if (!found) {
    // One secure context for every connection: given `ca` instead, each TLS connect parses the ~150 roots
    // again (about 25 ms of CPU per new connection).
    const secureContext = createSecureContext({ ca: trustedCas(extraCa) });
    const connect = { secureContext, ...(options.publicOnly && { lookup: publicOnlyLookup }) };
    found = new EnvHttpProxyAgent({ connect, requestTls: { secureContext }, proxyTls: { secureContext } } as ConstructorParameters<typeof EnvHttpProxyAgent>[0]);
    dispatchers.set(key, found);
  }
  return found;
}

/** Extra CAs for in-process callers (tests, `rollcall demo`): trusted by every request made afterwards. */
const processExtraCas = new Map<string, string>();
let processExtraCa: string | undefined;
export function trustExtraCa(pem: string): void {
  // One CA per subject: a restarted emulator brings a new CA under the same name, and OpenSSL would
  // otherwise try the stale one first and fail the signature check.
  processExtraCas.set(new X509Certificate(pem).subject, pem.trim());
  processExtraCa = [...processExtraCas.values()].join("\n");
}

export type HttpFetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal; redirect?: "follow" | "manual" | "error" },
) => Promise<Response>;

const fetchThrough = (options: { publicOnly?: boolean }): HttpFetch => async (url, init = {}) => {
  // An IP literal is connected to without a name lookup, so publicOnlyLookup never sees it.
  const host = options.publicOnly ? new URL(url).hostname.replace(/^\[|\]$/g, "") : "";
  if (host && isIP(host) && isPrivateAddress(host)) throw new TypeError("fetch failed", { cause: Object.assign(new Error(privateNetworkRefusal(host, host)), { code: "EPRIVATENETWORK" }) });
  const { fetch } = await loadUndici();
  return (await fetch(url, { ...init, dispatcher: await dispatcher(processExtraCa, options) })) as unknown as Response;
};

export const httpFetch = fetchThrough({});

/**
 * httpFetch that connects to public addresses only (webhooks): the address is checked as the connection resolves the
 * name, so a name that resolved to a public address when checked cannot resolve to a private one when connecting.
 */
export const publicHttpFetch = fetchThrough({ publicOnly: true });
