// Shared test plumbing: start an in-process emulator on a random port with a temp data dir, and
// talk to it over real HTTPS, trusting its CA per request through an undici Agent.
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { rmSync } from "node:fs";
import { Agent, fetch, type RequestInit, type Response } from "undici";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/index.ts";
import { selfSignedForKey } from "../../src/emulator/tls.ts";
import { emulatorDataFolder } from "../support/emulator.ts";

export interface TestEmu {
  emu: RunningEmulator;
  agent: Agent;
  get: (url: string, init?: RequestInit) => Promise<Response>;
  call: (url: string, init?: RequestInit) => Promise<Response>;
  appToken: (opts?: { tenantId?: string; clientId?: string; clientSecret?: string }) => Promise<string>;
  graph: (path: string, token: string, headers?: Record<string, string>) => Promise<{ status: number; body: any; headers: Headers }>;
  stop: () => Promise<void>;
}

type Headers = Response["headers"];

export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestEmu> {
  const dataDir = emulatorDataFolder("rollcall-emu-");
  const emu = await startEmulator({ port: 0, dataDir, quiet: true, users: 60, groups: 8, ...options });
  const agent = new Agent({ connect: { ca: emu.caPem } });
  const call = (url: string, init: RequestInit = {}): Promise<Response> => fetch(url, { ...init, dispatcher: agent });
  const appToken = async (o: { tenantId?: string; clientId?: string; clientSecret?: string } = {}): Promise<string> => {
    const res = await call(`${emu.loginUrl}/${o.tenantId ?? emu.tenantId}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials", client_id: o.clientId ?? emu.clientId, client_secret: o.clientSecret ?? emu.clientSecret,
        scope: "https://graph.microsoft.com/.default",
      }),
    });
    const body = (await res.json()) as { access_token?: string };
    if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
    return body.access_token;
  };
  const graph = async (path: string, token: string, headers: Record<string, string> = {}) => {
    const url = path.startsWith("https://") ? path : `${emu.graphUrl}/v1.0${path}`;
    const res = await call(url, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
  return {
    emu, agent, call, get: call, appToken, graph,
    stop: async () => {
      await agent.close();
      await emu.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Drive the sign-in page like a browser: GET authorize, pick the user, POST the form. */
/** Signs `user` in on the emulator's page; `cookie` is the browser's session there, if it has one. */
export async function signIn(t: TestEmu, params: Record<string, string>, user: string, tenant = t.emu.tenantId, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = cookie ? { cookie } : {};
  const page = await t.call(`${t.emu.loginUrl}/${tenant}/oauth2/v2.0/authorize?${new URLSearchParams(params)}`, { headers });
  const html = await page.text();
  const txn = /name="txn" value="([^"]+)"/.exec(html)?.[1];
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!txn || !action) throw new Error(`no sign-in form (${page.status}): ${html.slice(0, 300)}`);
  return t.call(`${t.emu.loginUrl}${action.replace(/&amp;/g, "&")}`, {
    method: "POST", redirect: "manual",
    headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ txn, login: user, action: "signin" }).toString(),
  });
}

/** A fresh self-signed certificate and its PKCS#8 key, as an admin would make for an app's certificate credential. */
export function testCertificate(cn: string): { certificatePem: string; privateKeyPem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  return { certificatePem: new X509Certificate(selfSignedForKey(privateKey, cn).der).toString(), privateKeyPem: privateKey };
}
