import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader, generateKeyPair, SignJWT, decodeJwt } from "jose";
import { fetch as undiciFetch } from "undici";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { dispatcher, httpFetch } from "../../src/net/http.ts";
import { authorizationUrl, discover, redeemCode, validateIdToken, type ProviderMetadata } from "../../src/auth/oidc.ts";
import { randomValue } from "../../src/auth/pkce.ts";
import { RollcallError } from "../../src/errors.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/** ID-token validation against the emulator's real JWKS: genuine tokens pass, forged, tampered, expired and foreign ones do not. */
describe("ID token validation", () => {
  let emulator: RunningEmulator;
  let meta: ProviderMetadata;
  let idToken: string;
  const nonce = randomValue();
  const redirectUri = "http://127.0.0.1:9/callback";

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 3, groups: 1, seed: 5 });
    emulator.tenants.get(emulator.tenantId).updateApp(emulator.clientId, { redirectUris: [redirectUri] });
    meta = await discover(httpFetch, emulator.loginUrl, emulator.tenantId);
    const user = emulator.tenants.get(emulator.tenantId).listUsers().find((u) => u.accountEnabled)!;
    const codeVerifier = randomValue(48);
    const url = new URL(authorizationUrl(meta, { clientId: emulator.clientId, redirectUri, state: "s", nonce, codeVerifier, loginHint: user.userPrincipalName }));
    // The person picks their account on the emulator's sign-in page (a hint signs nobody in by itself).
    const tls = await dispatcher(emulator.caPem);
    const page = await (await undiciFetch(url, { dispatcher: tls })).text();
    const txn = /name="txn" value="([^"]+)"/.exec(page)![1]!;
    const action = /<form method="post" action="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, "&");
    const answer = await undiciFetch(new URL(action, url), {
      method: "POST", redirect: "manual", dispatcher: tls,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ txn, login: user.userPrincipalName, action: "signin" }).toString(),
    });
    const code = new URL(answer.headers.get("location")!).searchParams.get("code")!;
    idToken = await redeemCode(httpFetch, meta, { clientId: emulator.clientId, credential: { kind: "secret", secret: emulator.clientSecret }, code, redirectUri, codeVerifier });
  }, 60_000);

  afterAll(async () => emulator?.close());

  const expected = () => ({ clientId: emulator.clientId, nonce, tenants: new Set([emulator.tenantId.toLowerCase()]) });

  async function refusal(token: string, overrides: Partial<ReturnType<typeof expected>> & { now?: Date } = {}): Promise<RollcallError> {
    const error = await validateIdToken(httpFetch, meta, token, { ...expected(), ...overrides }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RollcallError);
    return error as RollcallError;
  }

  it("accepts the genuine token and reads tid and oid", async () => {
    const claims = await validateIdToken(httpFetch, meta, idToken, expected());
    expect(claims.tenantId).toBe(emulator.tenantId.toLowerCase());
    expect(claims.objectId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses an expired token", async () => {
    const e = await refusal(idToken, { now: new Date(Date.now() + 2 * 3600_000) });
    expect(e.details.reason).toBe("invalid_token");
    expect(e.message).toMatch(/expired/);
  });

  it("a just-issued token refused for time says this server's clock is off, which way and by how much", async () => {
    const issued = decodeJwt(idToken).iat! * 1000;
    const behind = await refusal(idToken, { now: new Date(issued - 12 * 60_000) });
    expect(behind.details.reason).toBe("invalid_token");
    expect(behind.message).toMatch(/not valid yet/);
    expect(behind.message).toMatch(/this server's clock is about 12 minutes behind/);
    expect(behind.message).toMatch(/NTP/);
    expect(behind.details.clockSkewSeconds).toBe(-720);

    const ahead = await refusal(idToken, { now: new Date(issued + 70 * 60_000) });
    expect(ahead.message).toMatch(/expired/);
    expect(ahead.message).toMatch(/this server's clock is about 70 minutes ahead/);
    expect(ahead.details.clockSkewSeconds).toBe(4200);

    // Within the five minutes of tolerance: accepted.
    expect((await validateIdToken(httpFetch, meta, idToken, { ...expected(), now: new Date(issued - 4 * 60_000) })).objectId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses a token forged with another key under the tenant's kid, a tampered payload, and alg none", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const claims = decodeJwt(idToken);
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: decodeProtectedHeader(idToken).kid! }).sign(privateKey);
    expect((await refusal(forged)).message).toMatch(/signature/);

    const [header, , signature] = idToken.split(".");
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, oid: "00000000-0000-0000-0000-000000000001" })).toString("base64url")}.${signature}`;
    expect((await refusal(tampered)).details.reason).toBe("invalid_token");

    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
    expect((await refusal(none)).details.reason).toBe("invalid_token");
  });

  it("refuses another sign-in's nonce, another app's audience and a tenant the workspace does not trust", async () => {
    expect((await refusal(idToken, { nonce: "other" })).message).toMatch(/nonce/);
    expect((await refusal(idToken, { clientId: "11111111-2222-3333-4444-555555555555" })).message).toMatch(/aud/);
    expect((await refusal(idToken, { tenants: new Set(["99999999-2222-3333-4444-555555555555"]) })).details.reason).toBe("unknown_tenant");
  });
});
