// What the identity endpoints send back to the app's redirect URI, and when they must not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signIn, startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
beforeAll(async () => { t = await startTestEmulator({ users: 10, groups: 2 }); });
afterAll(async () => { await t.stop(); });

const REDIRECT = "http://localhost:3000/auth/callback";

const authorizeParams = (extra: Record<string, string>) => ({ client_id: t.emu.clientId, response_type: "code", redirect_uri: REDIRECT, scope: "openid profile", state: "st-9", ...extra });

/** `cookie`: the browser's session at the login host (ESTSAUTH), if it has one. */
function authorize(extra: Record<string, string>, cookie?: string): Promise<Awaited<ReturnType<TestEmu["call"]>>> {
  return t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams(authorizeParams(extra))}`, { redirect: "manual", ...(cookie && { headers: { cookie } }) });
}

describe("prompt=none", () => {
  // It must never show a page: what stops a silent sign-in goes back to the app ("If the request can't be completed
  // silently ... returns an interaction_required error", v2-oauth2-auth-code-flow).
  it("for a disabled user goes back to the app with interaction_required, AADSTS50057 and the state; the same request without prompt shows the page", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.createUser({ displayName: "Silently Disabled", userPrincipalName: `silently.disabled@${tenant.domain}` });
    // Signed in at Microsoft in this browser, then disabled.
    const session = (await signIn(t, authorizeParams({}), user.userPrincipalName)).headers.get("set-cookie")!.split(";")[0]!;
    tenant.setSignInEnabled(user.id, false);

    const res = await authorize({ prompt: "none", login_hint: user.userPrincipalName }, session);
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    expect(`${loc.origin}${loc.pathname}`).toBe(REDIRECT);
    expect(loc.searchParams.get("code")).toBeNull();
    expect(loc.searchParams.get("error")).toBe("interaction_required");
    expect(loc.searchParams.get("error_description")).toMatch(/^AADSTS50057: The user account is disabled\./);
    expect(loc.searchParams.get("error_uri")).toBe(`${t.emu.loginUrl}/error?code=50057`);
    expect(loc.searchParams.get("state")).toBe("st-9");

    const posted = await authorize({ prompt: "none", login_hint: user.userPrincipalName, response_mode: "form_post" }, session);
    const html = await posted.text();
    expect(html).toContain(`action="${REDIRECT}"`);
    expect(html).toContain('name="error" value="interaction_required"');

    const interactive = await authorize({ login_hint: user.userPrincipalName });
    expect(interactive.status).toBe(200);
    expect(interactive.headers.get("location")).toBeNull();
  });
});

describe("response_type", () => {
  it("takes code; a token or ID token from the authorization endpoint (implicit grant, not enabled) goes back to the app refused", async () => {
    const refused = async (extra: Record<string, string>) => {
      const res = await authorize(extra);
      const loc = new URL(res.headers.get("location")!);
      expect(loc.searchParams.get("state")).toBe("st-9");
      return [loc.searchParams.get("error"), loc.searchParams.get("error_description")?.split(":")[0]];
    };
    expect(await refused({ response_type: "token" })).toEqual(["unsupported_response_type", "AADSTS700051"]);
    expect(await refused({ response_type: "id_token" })).toEqual(["unsupported_response_type", "AADSTS700054"]);
    expect(await refused({ response_type: "code id_token" })).toEqual(["unsupported_response_type", "AADSTS700054"]);
    expect((await authorize({})).status).toBe(200);
  });
});

describe("sign-out (end_session_endpoint)", () => {
  // "This URL must match one of the redirect URIs registered for your application" (v2-protocols-oidc, Send a
  // sign-out request); one that doesn't leaves the person on Microsoft's signed-out page.
  async function logout(params: Record<string, string>, tenant = t.emu.tenantId) {
    const res = await t.call(`${t.emu.loginUrl}/${tenant}/oauth2/v2.0/logout?${new URLSearchParams(params)}`, { redirect: "manual" });
    return { status: res.status, location: res.headers.get("location"), text: await res.text() };
  }
  const signedOutPage = { status: 200, location: null, text: expect.stringContaining("You signed out of your account") };

  it("goes back only to exactly a registered redirect URI, with the state; its origin or another URI gets the signed-out page", async () => {
    expect(await logout({ post_logout_redirect_uri: REDIRECT, state: "bye" })).toMatchObject({ status: 302, location: `${REDIRECT}?state=bye` });
    expect(await logout({ post_logout_redirect_uri: REDIRECT })).toMatchObject({ status: 302, location: REDIRECT });
    for (const uri of ["http://localhost:3000", "http://localhost:3000/", `${REDIRECT}/`, `${REDIRECT}?x=1`, "https://evil.example/cb"]) {
      expect(await logout({ post_logout_redirect_uri: uri, state: "bye" }), uri).toMatchObject(signedOutPage);
    }
    expect(await logout({})).toMatchObject(signedOutPage);
  });

  it("loads the front-channel logout URL of each app the browser's session signed in to, with its sid, before going back", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.listUsers().find((u) => u.accountEnabled && u.userType === "Member")!;
    tenant.updateApp(t.emu.clientId, { logoutUrl: "https://app.example/frontchannel", optionalClaims: { idToken: [{ name: "login_hint" }] } });
    try {
      const session = (await signIn(t, authorizeParams({}), user.userPrincipalName)).headers.get("set-cookie")!.split(";")[0]!;
      const picker = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/logout`, { headers: { cookie: session } });
      const account = /name="signout_account" value="([^"]+)">/.exec(await picker.text())![1]!.replace(/&amp;/g, "&");
      const res = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/logout?${new URLSearchParams({ logout_hint: account, post_logout_redirect_uri: REDIRECT, state: "bye" })}`, { redirect: "manual", headers: { cookie: session } });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toMatch(/<iframe hidden src="https:\/\/app\.example\/frontchannel\?sid=[0-9a-f-]{36}"><\/iframe>/);
      expect(html).toContain(`href="${REDIRECT}?state=bye"`);
    } finally {
      tenant.updateApp(t.emu.clientId, { logoutUrl: null, optionalClaims: { idToken: [] } });
    }
  });

  it("takes the same parameters as a form POST (\"supports both HTTP GET and POST requests\")", async () => {
    const post = (uri: string) => t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/logout`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ post_logout_redirect_uri: uri, state: "bye" }).toString(),
    });
    expect((await post(REDIRECT)).headers.get("location")).toBe(`${REDIRECT}?state=bye`);
    expect((await post("http://localhost:3000")).status).toBe(200);
  });

  it("client_id (or an id_token_hint's aud) names the app whose redirect URIs count; another app's URI is refused, an app of another tenant's too", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const other = tenant.registerApp({ displayName: "Other app", redirectUris: ["https://other.example/signed-out"] });
    const mine = t.emu.clientId;
    expect(await logout({ post_logout_redirect_uri: "https://other.example/signed-out" })).toMatchObject({ status: 302 });
    expect(await logout({ post_logout_redirect_uri: "https://other.example/signed-out", client_id: other.clientId })).toMatchObject({ status: 302 });
    expect(await logout({ post_logout_redirect_uri: "https://other.example/signed-out", client_id: mine })).toMatchObject(signedOutPage);
    const hint = (aud: string) => `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from(JSON.stringify({ aud })).toString("base64url")}.sig`;
    expect(await logout({ post_logout_redirect_uri: "https://other.example/signed-out", id_token_hint: hint(mine) })).toMatchObject(signedOutPage);
    expect(await logout({ post_logout_redirect_uri: REDIRECT, id_token_hint: hint(mine) })).toMatchObject({ status: 302 });

    const elsewhere = t.emu.tenants.add({ users: 1, groups: 0 });
    elsewhere.registerApp({ displayName: "Elsewhere", redirectUris: ["https://elsewhere.example/bye"] });
    expect(await logout({ post_logout_redirect_uri: "https://elsewhere.example/bye" })).toMatchObject(signedOutPage);
    expect(await logout({ post_logout_redirect_uri: "https://elsewhere.example/bye" }, elsewhere.id)).toMatchObject({ status: 302 });
    expect(await logout({ post_logout_redirect_uri: "https://elsewhere.example/bye" }, "organizations")).toMatchObject({ status: 302 });
  });
});
