import { describe, expect, it } from "vitest";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createScimSource } from "../../src/core/scim-sources.ts";
import { hasChromium, type ConsoleServer } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * A SCIM source's user whose first Microsoft sign-in pinned their object ID: the user's page shows it, and an admin
 * unlinks it after saying yes to what happens; the user stays, and their history says who unlinked it.
 */
describe.skipIf(!hasChromium)("web console: unlinking a user's Microsoft account", () => {
  const oid = "5f2c0c7e-3a4b-4c5d-8e9f-0a1b2c3d4e5f";
  const users: Record<string, string> = {};

  const ui = signedInConsole(async (server: ConsoleServer) => {
    const db = server.rt.store.db;
    const workspace = await resolveWorkspace(db, "default");
    const ctx = { db, workspace, actor: "test", secrets: server.rt.secrets, entraCustomUrls: true };
    const source = await createScimSource(ctx, { name: "Entra push" }, server.url);
    for (const [userName, displayName] of [["grace@north.example", "Grace Pilot"], ["alan@north.example", "Alan Pilot"]] as const) {
      const created = await fetch(`${server.url}/scim/v2/Users`, {
        method: "POST",
        headers: { authorization: `Bearer ${source.token}`, "content-type": "application/scim+json" },
        body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName, displayName, active: true }),
      });
      expect(created.status).toBe(201);
      users[userName] = ((await created.json()) as { id: string }).id;
    }
    // As Grace's first sign-in with Microsoft (matched by user principal name) leaves it: src/auth/signin-account.ts.
    await db.insertInto("scim_signin_links").values({ user_id: users["grace@north.example"]!, source_id: source.id, object_id: oid }).execute();
  });

  it("shows the linked account only where there is one, and unlinks it after a confirmation that says what happens", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users/${users["alan@north.example"]}`);
    await page.getByRole("heading", { level: 1, name: "Alan Pilot" }).waitFor();
    await page.getByRole("heading", { name: "History" }).waitFor();
    expect(await page.locator("[data-kind='microsoft-link']").count()).toBe(0);

    await page.goto(`${server.url}/w/default/users/${users["grace@north.example"]}`);
    const linked = page.locator("[data-kind='microsoft-link']");
    await linked.getByText(`Linked to Microsoft account ${oid}`).waitFor();
    await linked.getByRole("button", { name: "Unlink Microsoft account" }).click();
    const ask = page.getByRole("dialog", { name: "Unlink Grace Pilot's Microsoft account?" });
    await ask.getByText(`Microsoft account ${oid} no longer signs in as this user. The user and their history stay. The next person to sign in with Microsoft as grace@north.example`).waitFor();
    await ask.getByRole("button", { name: "Unlink" }).click();
    await page.getByText("Microsoft account unlinked from Grace Pilot").waitFor();
    await linked.waitFor({ state: "detached" });
    const history = page.getByRole("region", { name: "History" });
    await history.getByText("Microsoft account (object ID)").waitFor();
    await history.getByText(oid).first().waitFor();
    await history.getByText("by admin@rollcall.test").first().waitFor();
    expect(await server.rt.store.db.selectFrom("scim_signin_links").select("object_id").execute()).toEqual([]);
    await page.getByRole("heading", { level: 1, name: "Grace Pilot" }).waitFor();
  });
});
