import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GUID, signIn, startTestEmulator, testCertificate, type TestEmu } from "./helpers.ts";
import { clientAssertion } from "../../src/sources/entra/token.ts";
import { importPKCS8, SignJWT } from "jose";

let t: TestEmu;
beforeAll(async () => { t = await startTestEmulator(); });
afterAll(async () => { await t.stop(); });

const REDIRECT = "http://localhost:3000/auth/callback";

async function tokenRequest(form: Record<string, string>, tenant = t.emu.tenantId, headers: Record<string, string> = {}) {
  const res = await t.call(`${t.emu.loginUrl}/${tenant}/oauth2/v2.0/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
}
const cc = (extra: Record<string, string> = {}) => ({
  grant_type: "client_credentials", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, scope: "https://graph.microsoft.com/.default", ...extra,
});

function expectAadError(r: { status: number; body: Record<string, any> }, status: number, error: string, code: number): void {
  expect(r.status).toBe(status);
  expect(r.body.error).toBe(error);
  expect(r.body.error_codes).toEqual([code]);
  expect(r.body.error_description).toMatch(new RegExp(`^AADSTS${code}: .+\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`));
  expect(r.body.trace_id).toMatch(GUID);
  expect(r.body.correlation_id).toMatch(GUID);
  expect(r.body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  expect(r.body.error_uri).toBe(`${t.emu.loginUrl}/error?code=${code}`);
}

describe("discovery", () => {
  it("serves tenant OpenID configuration with Microsoft's fields", async () => {
    const res = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, any>;
    const base = `${t.emu.loginUrl}/${t.emu.tenantId}`;
    expect(doc.issuer).toBe(`${base}/v2.0`);
    expect(doc.token_endpoint).toBe(`${base}/oauth2/v2.0/token`);
    expect(doc.authorization_endpoint).toBe(`${base}/oauth2/v2.0/authorize`);
    expect(doc.jwks_uri).toBe(`${base}/discovery/v2.0/keys`);
    expect(doc.response_modes_supported).toEqual(["query", "fragment", "form_post"]);
    expect(doc.subject_types_supported).toEqual(["pairwise"]);
    expect(doc.id_token_signing_alg_values_supported).toEqual(["RS256"]);
    expect(doc.token_endpoint_auth_methods_supported).toContain("client_secret_basic");
    expect(doc).toHaveProperty("cloud_instance_name", "microsoftonline.com");
    expect(doc).toHaveProperty("msgraph_host");
  });

  it("the domain works like the GUID, and common/organizations carry the {tenantid} issuer", async () => {
    const domain = t.emu.tenants.get(t.emu.tenantId).domain;
    const byDomain = (await (await t.call(`${t.emu.loginUrl}/${domain}/v2.0/.well-known/openid-configuration`)).json()) as any;
    expect(byDomain.issuer).toBe(`${t.emu.loginUrl}/${t.emu.tenantId}/v2.0`);
    for (const seg of ["common", "organizations"]) {
      const doc = (await (await t.call(`${t.emu.loginUrl}/${seg}/v2.0/.well-known/openid-configuration`)).json()) as any;
      expect(doc.issuer).toBe(`${t.emu.loginUrl}/{tenantid}/v2.0`);
      expect(doc.token_endpoint).toBe(`${t.emu.loginUrl}/${seg}/oauth2/v2.0/token`);
    }
  });

  it("publishes two signing keys, each with its issuer", async () => {
    const keys = (await (await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/discovery/v2.0/keys`)).json()) as any;
    expect(keys.keys).toHaveLength(2);
    for (const k of keys.keys) {
      expect(k).toMatchObject({ kty: "RSA", use: "sig", e: "AQAB", issuer: `${t.emu.loginUrl}/${t.emu.tenantId}/v2.0` });
      expect(k.kid).toBe(k.x5t);
      expect(k.x5c[0]).toMatch(/^MII/);
    }
    expect(keys.keys[0].kid).not.toBe(keys.keys[1].kid);
    const common = (await (await t.call(`${t.emu.loginUrl}/common/discovery/v2.0/keys`)).json()) as any;
    expect(common.keys[0].issuer).toBe(`${t.emu.loginUrl}/{tenantid}/v2.0`);
  });

  it("answers MSAL's instance discovery", async () => {
    const authz = `${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize`;
    const res = await t.call(`${t.emu.loginUrl}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(authz)}`);
    const body = (await res.json()) as any;
    const host = new URL(t.emu.loginUrl).host;
    expect(body["api-version"]).toBe("1.1");
    expect(body.tenant_discovery_endpoint).toBe(`${t.emu.loginUrl}/${t.emu.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(body.metadata[0]).toEqual({ preferred_network: host, preferred_cache: host, aliases: [host] });
  });

  it("unknown tenant: 400 invalid_tenant AADSTS90002", async () => {
    const res = await t.call(`${t.emu.loginUrl}/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    expectAadError({ status: res.status, body: (await res.json()) as any }, 400, "invalid_tenant", 90002);
  });
});

describe("client credentials", () => {
  it("issues an RS256 app token with Microsoft's claims (form secret)", async () => {
    const r = await tokenRequest(cc());
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
    expect(Object.keys(r.body).sort()).toEqual(["access_token", "expires_in", "ext_expires_in", "token_type"]);
    expect(r.headers.get("cache-control")).toContain("no-store");
    const header = decodeProtectedHeader(r.body.access_token);
    expect(header).toMatchObject({ alg: "RS256", typ: "JWT" });
    const c = decodeJwt(r.body.access_token);
    expect(c).toMatchObject({ tid: t.emu.tenantId, appid: t.emu.clientId, azp: t.emu.clientId, idtyp: "app", iss: `${t.emu.loginUrl}/${t.emu.tenantId}/v2.0`, aud: "https://graph.microsoft.com" });
    expect(c.roles).toEqual(expect.arrayContaining(["User.Read.All", "Group.Read.All"]));
    expect(c.oid).toMatch(GUID);
    expect((c.exp as number) - (c.iat as number)).toBe(3599);
  });

  it("accepts HTTP Basic client authentication and the emulator's own Graph URL as resource", async () => {
    const basic = Buffer.from(`${encodeURIComponent(t.emu.clientId)}:${encodeURIComponent(t.emu.clientSecret)}`).toString("base64");
    const r = await tokenRequest({ grant_type: "client_credentials", scope: `${t.emu.graphUrl}/.default` }, t.emu.tenantId, { authorization: `Basic ${basic}` });
    expect(r.status).toBe(200);
    expect(decodeJwt(r.body.access_token).aud).toBe(t.emu.graphUrl);
  });

  it("answers every documented failure with its AADSTS code", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    expectAadError(await tokenRequest(cc(), "00000000-0000-0000-0000-000000000001"), 400, "invalid_tenant", 90002);
    expectAadError(await tokenRequest(cc({ client_id: "11111111-2222-3333-4444-555555555555" })), 400, "unauthorized_client", 700016);
    expectAadError(await tokenRequest(cc({ client_secret: "wrong" })), 401, "invalid_client", 7000215);
    expectAadError(await tokenRequest(cc({ client_secret: t.emu.tenants.get(t.emu.tenantId).defaultApp.secretId })), 401, "invalid_client", 7000215);
    const { client_secret: _omit, ...noSecret } = cc();
    expectAadError(await tokenRequest(noSecret), 401, "invalid_client", 7000218);
    expectAadError(await tokenRequest(cc(), "common"), 400, "invalid_request", 9001023);
    expectAadError(await tokenRequest(cc(), "consumers"), 400, "invalid_request", 9001023);
    expectAadError(await tokenRequest(cc({ scope: "User.Read.All" })), 400, "invalid_scope", 1002012);
    expectAadError(await tokenRequest(cc({ scope: "https://graph.microsoft.com/User.Read.All" })), 400, "invalid_scope", 1002012);
    expectAadError(await tokenRequest(cc({ scope: "https://graph.microsoft.us/.default" })), 400, "invalid_resource", 500011);
    expectAadError(await tokenRequest(cc({ scope: "https://graph.microsoft.com/.default openid" })), 400, "invalid_scope", 70011);
    expectAadError(await tokenRequest(cc({ scope: "" })), 400, "invalid_scope", 70011);
    // expired secret
    const app = tenant.registerApp({ displayName: "Expiring" });
    const secret = app.secrets[0]!;
    expect((await tokenRequest(cc({ client_id: app.clientId, client_secret: secret.secretText }))).status).toBe(200);
    tenant.expireSecret(app.clientId, secret.keyId);
    expectAadError(await tokenRequest(cc({ client_id: app.clientId, client_secret: secret.secretText })), 401, "invalid_client", 7000222);
    // disabled app
    tenant.updateApp(app.clientId, { enabled: false });
    expectAadError(await tokenRequest(cc({ client_id: app.clientId, client_secret: secret.secretText })), 400, "unauthorized_client", 7000112);
    // a multi-tenant app not consented in a second tenant
    const other = t.emu.tenants.add({ users: 3, groups: 1 });
    expectAadError(await tokenRequest(cc(), other.id), 400, "unauthorized_client", 700016);
    other.consentApp(t.emu.clientId);
    expect((await tokenRequest(cc(), other.id)).status).toBe(200);
    // and that tenant's own app works there
    expect((await tokenRequest(cc({ client_id: other.defaultApp.clientId, client_secret: other.defaultApp.clientSecret }), other.id)).status).toBe(200);
  });

  it("accepts client assertions signed with an uploaded certificate, and refuses each bad one with its code", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const app = tenant.registerApp({ displayName: "Certificate app", withSecret: false });
    const cert = testCertificate("certificate-app");
    const tokenUrl = `${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/token`;
    const { client_secret: _none, ...base } = cc({ client_id: app.clientId });
    const withAssertion = (assertion: string) => ({ ...base, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion });
    const signed = async (claims: { iss?: string; aud?: string; exp?: number }, key = cert) => {
      const x5t = createHash("sha1").update(new X509Certificate(key.certificatePem).raw).digest("base64url");
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ jti: randomBytes(8).toString("hex") }).setProtectedHeader({ alg: "RS256", x5t })
        .setIssuer(claims.iss ?? app.clientId).setSubject(claims.iss ?? app.clientId).setAudience(claims.aud ?? tokenUrl)
        .setIssuedAt(now).setExpirationTime(claims.exp ?? now + 600).sign(await importPKCS8(key.privateKeyPem, "RS256"));
    };
    const good = await clientAssertion(tokenUrl, app.clientId, { kind: "certificate", ...cert });
    expectAadError(await tokenRequest(withAssertion(good)), 401, "invalid_client", 700027); // not uploaded yet
    expect(tenant.addCertificate(app.clientId, { certificatePem: cert.certificatePem }).thumbprint).toBe(decodeProtectedHeader(good).x5t);
    const ok = await tokenRequest(withAssertion(good));
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token)).toMatchObject({ appid: app.clientId, roles: expect.arrayContaining(["User.Read.All"]) });

    expectAadError(await tokenRequest(withAssertion(await signed({ iss: t.emu.clientId }))), 401, "invalid_client", 700021);
    expectAadError(await tokenRequest(withAssertion(await signed({ aud: `${t.emu.loginUrl}/common/oauth2/v2.0/token` }))), 401, "invalid_client", 700023);
    expectAadError(await tokenRequest(withAssertion(await signed({ exp: Math.floor(Date.now() / 1000) - 3600 }))), 401, "invalid_client", 700024);
    // Signed by another key that claims the uploaded certificate's thumbprint: the signature fails.
    const forged = await signed({}, { ...testCertificate("forger"), certificatePem: cert.certificatePem });
    expectAadError(await tokenRequest(withAssertion(forged)), 401, "invalid_client", 700027);
    expectAadError(await tokenRequest(withAssertion("not.a.jwt")), 401, "invalid_client", 700027);
  });

  it("echoes a well-formed client-request-id as the correlation id", async () => {
    const corr = "0e6b5b8a-4f1e-4a8f-9c65-1c8c4f1a2b3c";
    const r = await tokenRequest(cc({ client_secret: "nope" }), t.emu.tenantId, { "client-request-id": corr });
    expect(r.body.correlation_id).toBe(corr);
  });

  it("a permission not granted is missing from roles; a delayed grant shows up later", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const app = tenant.registerApp({ appPermissions: ["User.Read.All"] });
    const form = cc({ client_id: app.clientId, client_secret: app.secrets[0]!.secretText });
    expect(decodeJwt((await tokenRequest(form)).body.access_token).roles).toEqual(["User.Read.All"]);
    // Seconds of replication, not 150 ms: a token request on a loaded machine can take longer than that.
    tenant.grantPermission(app.clientId, "Group.Read.All", { delayMs: 2_000 });
    expect(decodeJwt((await tokenRequest(form)).body.access_token).roles).toEqual(["User.Read.All"]);
    await expect.poll(async () => decodeJwt((await tokenRequest(form)).body.access_token).roles, { interval: 250 }).toEqual(["User.Read.All", "Group.Read.All"]);
    tenant.revokePermission(app.clientId, "User.Read.All");
    tenant.revokePermission(app.clientId, "Group.Read.All");
    expect(decodeJwt((await tokenRequest(form)).body.access_token).roles).toBeUndefined();
  });
});

describe("authorization code + PKCE", () => {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const params = (extra: Record<string, string> = {}) => ({
    client_id: t.emu.clientId, response_type: "code", redirect_uri: REDIRECT, scope: "openid profile email offline_access User.Read",
    state: "st-123", nonce: "n-456", code_challenge: challenge, code_challenge_method: "S256", ...extra,
  });
  const someUser = () => t.emu.tenants.get(t.emu.tenantId).listUsers().find((u) => u.accountEnabled && u.userType === "Member" && u.mail)!;

  it("redeems a code only with the app's credential, a secret or a certificate assertion; a refused one leaves the code unspent", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const cert = testCertificate("code-redeemer");
    tenant.addCertificate(t.emu.clientId, { certificatePem: cert.certificatePem });
    const loc = new URL((await signIn(t, params(), someUser().userPrincipalName)).headers.get("location")!);
    const form = { grant_type: "authorization_code", client_id: t.emu.clientId, code: loc.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier };
    expectAadError(await tokenRequest(form), 401, "invalid_client", 7000218);
    expectAadError(await tokenRequest({ ...form, client_secret: "wrong" }), 401, "invalid_client", 7000215);
    const tokenUrl = `${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/token`;
    const assertion = await clientAssertion(tokenUrl, t.emu.clientId, { kind: "certificate", ...cert });
    const redeemed = await tokenRequest({ ...form, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion });
    expect(redeemed.status).toBe(200);
    expect(typeof redeemed.body.id_token).toBe("string");
    expectAadError(await tokenRequest({ ...form, client_secret: t.emu.clientSecret }), 400, "invalid_grant", 54005);
    // Two redemptions of one code at once, each with a valid credential: one token, one 54005.
    const next = new URL((await signIn(t, params(), someUser().userPrincipalName)).headers.get("location")!).searchParams.get("code")!;
    const both = await Promise.all([assertion, await clientAssertion(tokenUrl, t.emu.clientId, { kind: "certificate", ...cert })].map((a) =>
      tokenRequest({ ...form, code: next, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: a })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
  });

  it("signs a user in, redeems the code once, and the ID token validates against the JWKS", async () => {
    const user = someUser();
    const res = await signIn(t, params(), user.userPrincipalName);
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    expect(`${loc.origin}${loc.pathname}`).toBe(REDIRECT);
    expect(loc.searchParams.get("state")).toBe("st-123");
    const code = loc.searchParams.get("code")!;
    const form = { grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code, redirect_uri: REDIRECT, code_verifier: verifier };
    const r = await tokenRequest(form);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: "Bearer", expires_in: 3599 });
    expect(r.body.scope.split(" ")).toEqual(expect.arrayContaining(["User.Read", "openid", "profile", "email"]));
    expect(typeof r.body.refresh_token).toBe("string");
    const jwks = createLocalJWKSet((await (await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/discovery/v2.0/keys`)).json()) as any);
    const { payload, protectedHeader } = await jwtVerify(r.body.id_token, jwks, { issuer: `${t.emu.loginUrl}/${t.emu.tenantId}/v2.0`, audience: t.emu.clientId });
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({ tid: t.emu.tenantId, oid: user.id, preferred_username: user.userPrincipalName, name: user.displayName, email: user.mail, nonce: "n-456", ver: "2.0" });
    expect(typeof payload.sub).toBe("string");
    // the same code again: 54005
    expectAadError(await tokenRequest(form), 400, "invalid_grant", 54005);
    // refresh token
    const rr = await tokenRequest({ grant_type: "refresh_token", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, refresh_token: r.body.refresh_token, scope: "openid User.Read offline_access" });
    expect(rr.status).toBe(200);
    expect(decodeJwt(rr.body.access_token).oid).toBe(user.id);
    // One browser session, one sid: in the ID and access tokens of the sign-in, and in those refreshed from it.
    const sid = payload.sid as string;
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    expect([decodeJwt(r.body.access_token).sid, decodeJwt(rr.body.id_token).sid, decodeJwt(rr.body.access_token).sid]).toEqual([sid, sid, sid]);
    // /me with the delegated token
    const me = await t.graph("/me", r.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(user.id);
    // OIDC userinfo (the metadata's userinfo_endpoint)
    const meta = (await (await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as any;
    const info = (await (await t.call(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${r.body.access_token}` } })).json()) as any;
    expect(info).toMatchObject({ sub: decodeJwt(r.body.id_token).sub, name: user.displayName, email: user.mail });
    // sign-out goes back to a registered URI with the state
    const out = await t.call(`${meta.end_session_endpoint}?post_logout_redirect_uri=${encodeURIComponent(REDIRECT)}&state=bye`, { redirect: "manual" });
    expect(out.headers.get("location")).toBe(`${REDIRECT}?state=bye`);
    // client_info when asked (MSAL does)
    const code2 = new URL((await signIn(t, params(), user.userPrincipalName)).headers.get("location")!).searchParams.get("code")!;
    const withInfo = await tokenRequest({ ...form, code: code2, client_info: "1" });
    expect(JSON.parse(Buffer.from(withInfo.body.client_info, "base64url").toString())).toEqual({ uid: user.id, utid: t.emu.tenantId });
  });

  it("the ID token has preferred_username, name and oid only when the profile scope was asked for", async () => {
    const user = someUser();
    const idClaims = async (scope: string) => {
      const loc = new URL((await signIn(t, params({ scope }), user.userPrincipalName)).headers.get("location")!);
      const r = await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code: loc.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier });
      expect(r.status).toBe(200);
      return decodeJwt(r.body.id_token);
    };
    const without = await idClaims("openid email");
    expect(without).toMatchObject({ tid: t.emu.tenantId, email: user.mail, ver: "2.0" });
    expect(without).not.toHaveProperty("preferred_username");
    expect(without).not.toHaveProperty("name");
    expect(without).not.toHaveProperty("oid");
    expect(await idClaims("openid profile")).toMatchObject({ preferred_username: user.userPrincipalName, name: user.displayName, oid: user.id });
  });

  it("PKCE mismatch is 501481; an expired code is 70008", async () => {
    const user = someUser();
    const code1 = new URL((await signIn(t, params(), user.userPrincipalName)).headers.get("location")!).searchParams.get("code")!;
    expectAadError(await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code: code1, redirect_uri: REDIRECT, code_verifier: "wrong-verifier-wrong-verifier-wrong-verifier" }), 400, "invalid_grant", 501481);
    const code2 = new URL((await signIn(t, params(), user.userPrincipalName)).headers.get("location")!).searchParams.get("code")!;
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000);
      expectAadError(await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code: code2, redirect_uri: REDIRECT, code_verifier: verifier }), 400, "invalid_grant", 70008);
    } finally {
      vi.useRealTimers();
    }
    expectAadError(await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, code: "not-a-code", redirect_uri: REDIRECT }), 400, "invalid_grant", 9002313);
  });

  it("redeeming a code needs the redirect_uri it was issued for (documented as required): missing is 900144, another is 500117", async () => {
    const user = someUser();
    const code = new URL((await signIn(t, params(), user.userPrincipalName)).headers.get("location")!).searchParams.get("code")!;
    const form = { grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code, code_verifier: verifier };
    const missing = await tokenRequest(form);
    expectAadError(missing, 400, "invalid_request", 900144);
    expect(missing.body.error_description).toMatch(/^AADSTS900144: The request body must contain the following parameter: 'redirect_uri'\./);
    expectAadError(await tokenRequest({ ...form, redirect_uri: "https://elsewhere.example/cb" }), 400, "invalid_grant", 500117);
  });

  it("prompt=none without a session at Microsoft is login_required, a login_hint or not (a hint names an account, it signs nobody in)", async () => {
    const user = someUser();
    for (const extra of [{ prompt: "none", login_hint: user.userPrincipalName }, { prompt: "none" }] as Record<string, string>[]) {
      const answer = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams(params(extra))}`, { redirect: "manual" });
      const back = new URL(answer.headers.get("location")!).searchParams;
      expect([back.get("code"), back.get("error")], JSON.stringify(extra)).toEqual([null, "login_required"]);
    }
  });

  it("the browser's session: prompt=none signs in its one account; sign-out asks which account unless logout_hint names it", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const [ann, bob] = tenant.listUsers().filter((u) => u.accountEnabled && u.userType === "Member");
    const authorizeUrl = (extra: Record<string, string>) => `${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams(params(extra))}`;
    const silently = async (cookie: string, extra: Record<string, string> = {}) => new URL((await t.call(authorizeUrl({ prompt: "none", ...extra }), { redirect: "manual", headers: { cookie } })).headers.get("location")!).searchParams;
    const idClaims = async (answer: URLSearchParams) => {
      const r = await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code: answer.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier });
      return decodeJwt(r.body.id_token);
    };
    const first = await signIn(t, params(), ann!.userPrincipalName);
    const cookie = first.headers.get("set-cookie")!.split(";")[0]!;
    expect(cookie).toMatch(/^ESTSAUTH=.+/);
    expect(first.headers.get("set-cookie")).toMatch(/secure; HttpOnly; SameSite=None/);
    const asAnn = await idClaims(await silently(cookie));
    expect(asAnn.oid).toBe(ann!.id);
    // The browser's session keeps its sid across sign-ins; another browser has its own.
    const firstSid = (await idClaims(new URL(first.headers.get("location")!).searchParams)).sid;
    expect(asAnn.sid).toBe(firstSid);
    expect((await idClaims(new URL((await signIn(t, params(), ann!.userPrincipalName)).headers.get("location")!).searchParams)).sid).not.toBe(firstSid);
    expect(asAnn).not.toHaveProperty("login_hint"); // not in the app's token configuration

    tenant.updateApp(t.emu.clientId, { optionalClaims: { idToken: [{ name: "login_hint" }] } });
    try {
      // With Ann signed in, a sign-in without a prompt is Ann's at once (single sign-on); Bob uses "another account".
      expect(new URL((await t.call(authorizeUrl({}), { redirect: "manual", headers: { cookie } })).headers.get("location")!).searchParams.get("code")).toBeTruthy();
      await signIn(t, params({ prompt: "select_account" }), bob!.userPrincipalName, t.emu.tenantId, cookie);
      const two = await silently(cookie);
      expect(two.get("error")).toBe("interaction_required");
      expect(two.get("error_description")).toMatch(/^AADSTS16000: /);
      const bobHint = (await idClaims(await silently(cookie, { login_hint: bob!.userPrincipalName }))).login_hint as string;
      expect(bobHint).toMatch(/^O\./);
      // The claim is the login_hint that picks that account, and the logout_hint that signs it out.
      expect((await idClaims(await silently(cookie, { login_hint: bobHint }))).oid).toBe(bob!.id);

      const meta = (await (await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as any;
      const signOut = (extra: Record<string, string> = {}) => t.call(`${meta.end_session_endpoint}?${new URLSearchParams({ post_logout_redirect_uri: REDIRECT, state: "bye", ...extra })}`, { redirect: "manual", headers: { cookie } });
      const picker = await signOut({ logout_hint: bob!.userPrincipalName }); // a user name is no logout_hint
      const html = await picker.text();
      expect(html).toContain("Which account do you want to sign out of?");
      expect(html).toContain(ann!.userPrincipalName);
      expect(html).toContain(bob!.userPrincipalName);
      expect((await signOut({ logout_hint: bobHint })).headers.get("location")).toBe(`${REDIRECT}?state=bye`);
      expect((await idClaims(await silently(cookie))).oid).toBe(ann!.id); // Bob signed out, Ann still in

      const annButton = /name="signout_account" value="([^"]+)">/.exec((await (await signOut()).text()))![1]!;
      const picked = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/logout`, {
        method: "POST", redirect: "manual", headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ post_logout_redirect_uri: REDIRECT, state: "bye", signout_account: annButton }).toString(), // base64: nothing to unescape
      });
      expect(picked.headers.get("location")).toBe(`${REDIRECT}?state=bye`);
      expect((await silently(cookie)).get("error")).toBe("login_required");
    } finally {
      tenant.updateApp(t.emu.clientId, { optionalClaims: { idToken: [] } });
    }
  });

  it("form_post returns an auto-submitting form carrying code and state", async () => {
    const res = await signIn(t, params({ response_mode: "form_post" }), someUser().userPrincipalName);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`action="${REDIRECT}"`);
    expect(html).toMatch(/name="code" value="[^"]+"/);
    expect(html).toContain('name="state" value="st-123"');
  });

  it("the sign-in page lists the tenant's users; an unregistered redirect URI is shown as AADSTS50011", async () => {
    const page = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams(params())}`);
    const html = await page.text();
    expect(html).toContain(someUser().userPrincipalName);
    const bad = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams(params({ redirect_uri: "https://evil.example/cb" }))}`, { redirect: "manual" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("location")).toBeNull();
    expect(await bad.text()).toContain("AADSTS50011");
    const unknownApp = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams(params({ client_id: "11111111-2222-3333-4444-555555555555" }))}`);
    expect(await unknownApp.text()).toContain("AADSTS700016");
  });

  it("a disabled user cannot sign in (AADSTS50057), nor refresh", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.createUser({ displayName: "Soon Disabled", userPrincipalName: `soon.disabled@${tenant.domain}` });
    const ok = await signIn(t, params(), user.userPrincipalName);
    const code = new URL(ok.headers.get("location")!).searchParams.get("code")!;
    const r = await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code, redirect_uri: REDIRECT, code_verifier: verifier });
    tenant.setSignInEnabled(user.id, false);
    const res = await signIn(t, params(), user.userPrincipalName);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("AADSTS50057");
    expectAadError(await tokenRequest({ grant_type: "refresh_token", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, refresh_token: r.body.refresh_token }), 400, "invalid_grant", 50057);
  });

  it("signs in users of another tenant through /organizations, with that tenant's tid", async () => {
    const other = t.emu.tenants.add({ users: 4, groups: 1 });
    other.consentApp(t.emu.clientId);
    const user = other.listUsers()[0]!;
    const res = await signIn(t, params(), user.userPrincipalName, "organizations");
    const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
    const r = await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code, redirect_uri: REDIRECT, code_verifier: verifier }, "organizations");
    expect(r.status).toBe(200);
    const jwks = createLocalJWKSet((await (await t.call(`${t.emu.loginUrl}/organizations/discovery/v2.0/keys`)).json()) as any);
    const { payload } = await jwtVerify(r.body.id_token, jwks, { audience: t.emu.clientId });
    expect(payload.tid).toBe(other.id);
    expect(payload.iss).toBe(`${t.emu.loginUrl}/${other.id}/v2.0`);
  });

  it("a guest signs in as the host's guest only at the host's own authority: /organizations neither offers nor finds them", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const guest = tenant.createUser({ displayName: "Gita Guest", userPrincipalName: `gita_partner.example#EXT#@${tenant.domain}`, mail: "gita@partner.example", userType: "Guest" });
    const authorize = async (segment: string) => (await t.call(`${t.emu.loginUrl}/${segment}/oauth2/v2.0/authorize?${new URLSearchParams(params())}`)).text();
    expect(await authorize(t.emu.tenantId)).toContain(guest.userPrincipalName);
    expect(await authorize("organizations")).not.toContain(guest.userPrincipalName);
    const atOrganizations = await signIn(t, params(), guest.userPrincipalName, "organizations");
    expect(atOrganizations.status).toBe(400);
    expect(await atOrganizations.text()).toContain("AADSTS50034");

    const atHost = await signIn(t, params(), guest.userPrincipalName);
    const code = new URL(atHost.headers.get("location")!).searchParams.get("code")!;
    const r = await tokenRequest({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(r.status).toBe(200);
    const jwks = createLocalJWKSet((await (await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/discovery/v2.0/keys`)).json()) as any);
    const { payload } = await jwtVerify(r.body.id_token, jwks, { audience: t.emu.clientId });
    expect([payload.tid, payload.oid]).toEqual([t.emu.tenantId, guest.id]);
  });
});

describe("admin consent", () => {
  it("consents a multi-tenant app in a tenant and redirects with admin_consent=True", async () => {
    const other = t.emu.tenants.add({ users: 2, groups: 1 });
    const page = await t.call(`${t.emu.loginUrl}/${other.id}/v2.0/adminconsent?${new URLSearchParams({ client_id: t.emu.clientId, redirect_uri: REDIRECT, state: "s1", scope: "https://graph.microsoft.com/.default" })}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const txn = /name="txn" value="([^"]+)"/.exec(html)![1]!;
    const res = await t.call(`${t.emu.loginUrl}/${other.id}/v2.0/adminconsent`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ txn, tenant: other.id, action: "accept" }).toString(),
    });
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    expect(Object.fromEntries(loc.searchParams)).toEqual({ admin_consent: "True", tenant: other.id, scope: "https://graph.microsoft.com/.default", state: "s1" });
    expect((await tokenRequest(cc(), other.id)).status).toBe(200);
  });
});
