import { describe, expect, it } from "vitest";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * Sign in with Microsoft needs this server's callback registered on the app registration (Authentication > Web),
 * or the first person to sign in meets AADSTS50011 on Microsoft's page. The source's page says which URI.
 */
describe.skipIf(!hasChromium)("web console: the redirect URI a sign-in source needs", () => {
  const ui = signedInConsole(async (server) => {
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    const config = { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", schedule: null };
    const ctx = { db: server.rt.store.db, workspace, actor: "test", secrets: server.rt.secrets, entraCustomUrls: true };
    await createEntraSource(ctx, { name: "contoso", config: { ...config, signIn: true }, credential: { kind: "secret", secret: "test-secret" } });
    await createEntraSource(ctx, { name: "fabrikam", config, credential: { kind: "secret", secret: "test-secret" } });
  });

  it("shows the redirect URI to register on a source used for sign-in, in its settings and its form", async () => {
    const uri = `${ui.server.url}/api/v1/auth/microsoft/callback`;
    await ui.page.goto(`${ui.server.url}/w/default/sync/contoso`);
    const prop = ui.page.locator(".prop", { has: ui.page.locator("dt", { hasText: "Sign in with Microsoft" }) });
    await expect.poll(() => prop.textContent()).toContain(`Used for sign-in; register ${uri} as a Web redirect URI on the app registration (Authentication), ` +
      `and ${uri.replace(/callback$/, "frontchannel-logout")} as its Front-channel logout URL (signing out of Microsoft anywhere then signs out of Rollcall too); add the ID token's optional claim login_hint`);

    await ui.page.getByRole("button", { name: "Edit" }).click();
    await expect.poll(() => ui.page.getByText("Use for Sign in with Microsoft").locator("..").textContent()).toContain(uri);

    await ui.page.goto(`${ui.server.url}/w/default/sync/fabrikam`);
    await expect.poll(() => prop.textContent()).toBe("Sign in with MicrosoftOff");
  });
});
