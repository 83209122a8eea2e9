// @azure/msal-node against the emulator: app-only token, and the auth-code + PKCE web flow, with the
// CA trusted through a custom network client (undici + Agent with the emulator's CA).
import { ConfidentialClientApplication, CryptoProvider, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from "@azure/msal-node";
import { createLocalJWKSet, jwtVerify } from "jose";
import { fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signIn, startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
beforeAll(async () => { t = await startTestEmulator(); });
afterAll(async () => { await t.stop(); });

function networkClient(): INetworkModule {
  const send = async <T>(url: string, method: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const res = await fetch(url, { method, headers: options?.headers, body: options?.body, dispatcher: t.agent });
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => { headers[k] = v; });
    return { headers, body: (await res.json()) as T, status: res.status };
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, "GET", options),
    sendPostRequestAsync: (url, options) => send(url, "POST", options),
  };
}

function app(tenant = t.emu.tenantId): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: t.emu.clientId, clientSecret: t.emu.clientSecret,
      authority: `${t.emu.loginUrl}/${tenant}`, knownAuthorities: [new URL(t.emu.loginUrl).host],
    },
    system: { networkClient: networkClient() },
  });
}

describe("msal-node", () => {
  it("acquires an app token by client credentials and Graph accepts it", async () => {
    const result = await app().acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
    expect(result?.accessToken).toBeTruthy();
    const r = await t.graph("/users?$top=1&$select=id", result!.accessToken);
    expect(r.status).toBe(200);
    expect(r.body.value).toHaveLength(1);
  });

  it("runs the auth code + PKCE flow; the ID token validates with jose", async () => {
    const cca = app();
    const crypto = new CryptoProvider();
    const { verifier, challenge } = await crypto.generatePkceCodes();
    const redirectUri = "http://localhost:3000/auth/callback";
    const authUrl = await cca.getAuthCodeUrl({ scopes: ["User.Read"], redirectUri, codeChallenge: challenge, codeChallengeMethod: "S256", state: "abc", nonce: "nonce-1" });
    const params = Object.fromEntries(new URL(authUrl).searchParams);
    const user = t.emu.tenants.get(t.emu.tenantId).listUsers().find((u) => u.accountEnabled)!;
    const res = await signIn(t, params, user.userPrincipalName);
    const loc = new URL(res.headers.get("location")!);
    expect(loc.searchParams.get("state")).toBe("abc");
    const result = await cca.acquireTokenByCode({ code: loc.searchParams.get("code")!, scopes: ["User.Read"], redirectUri, codeVerifier: verifier, nonce: "nonce-1" } as Parameters<typeof cca.acquireTokenByCode>[0]);
    expect(result.account?.tenantId).toBe(t.emu.tenantId);
    expect(result.idTokenClaims).toMatchObject({ oid: user.id, preferred_username: user.userPrincipalName });
    const jwks = createLocalJWKSet((await (await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/discovery/v2.0/keys`)).json()) as any);
    const { payload } = await jwtVerify(result.idToken, jwks, { issuer: `${t.emu.loginUrl}/${t.emu.tenantId}/v2.0`, audience: t.emu.clientId });
    expect(payload.nonce).toBe("nonce-1");
  });
});
