// What the identity endpoints send back to the app's redirect URI, and when they must not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
beforeAll(async () => { t = await startTestEmulator({ users: 10, groups: 2 }); });
afterAll(async () => { await t.stop(); });

const REDIRECT = "http://localhost:3000/auth/callback";

function authorize(extra: Record<string, string>): Promise<Awaited<ReturnType<TestEmu["call"]>>> {
  const q = new URLSearchParams({ client_id: t.emu.clientId, response_type: "code", redirect_uri: REDIRECT, scope: "openid profile", state: "st-9", ...extra });
  return t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/authorize?${q}`, { redirect: "manual" });
}

describe("prompt=none", () => {
  // It must never show a page: what stops a silent sign-in goes back to the app ("If the request can't be completed
  // silently ... returns an interaction_required error", v2-oauth2-auth-code-flow).
  it("for a disabled user goes back to the app with interaction_required, AADSTS50057 and the state; the same request without prompt shows the page", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.createUser({ displayName: "Silently Disabled", userPrincipalName: `silently.disabled@${tenant.domain}` });
    tenant.setSignInEnabled(user.id, false);

    const res = await authorize({ prompt: "none", login_hint: user.userPrincipalName });
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    expect(`${loc.origin}${loc.pathname}`).toBe(REDIRECT);
    expect(loc.searchParams.get("code")).toBeNull();
    expect(loc.searchParams.get("error")).toBe("interaction_required");
    expect(loc.searchParams.get("error_description")).toMatch(/^AADSTS50057: The user account is disabled\./);
    expect(loc.searchParams.get("error_uri")).toBe(`${t.emu.loginUrl}/error?code=50057`);
    expect(loc.searchParams.get("state")).toBe("st-9");

    const posted = await authorize({ prompt: "none", login_hint: user.userPrincipalName, response_mode: "form_post" });
    const html = await posted.text();
    expect(html).toContain(`action="${REDIRECT}"`);
    expect(html).toContain('name="error" value="interaction_required"');

    const interactive = await authorize({ login_hint: user.userPrincipalName });
    expect(interactive.status).toBe(200);
    expect(interactive.headers.get("location")).toBeNull();
  });
});
