import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { admin, hasChromium, signIn } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createEntraSource, getSource } from "../../src/core/sources.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";

/**
 * A session that ends while a form is open (expired, or revoked on the server) costs the admin nothing typed:
 * the save that finds it gone keeps the form's changes, the admin signs in again on the same address, finds
 * the form as they left it (secrets asked again, never stored) and saves.
 */
describe.skipIf(!hasChromium)("web console: unsaved changes across a new sign-in", () => {
  let ctx: WorkspaceContext;
  const other = { email: "second@rollcall.test", password: "another long enough password" };
  const ui = signedInConsole(async (server) => {
    ctx = await seedDirectory(server.rt);
    await createEntraSource(
      { ...ctx, secrets: server.rt.secrets, entraCustomUrls: true },
      {
        name: "contoso",
        config: { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", schedule: null, signIn: true },
        credential: { kind: "secret", secret: "test-secret" },
      },
    );
    await createAccount(server.rt.store.db, { email: other.email, password: other.password, workspace: ctx.workspace, role: "admin" }, "test");
  });

  const expireSessions = () => sql`update sessions set expires_at = now() - interval '1 minute'`.execute(ui.server.rt.store.db);
  const revokeSessions = () => sql`delete from sessions`.execute(ui.server.rt.store.db);
  const storedDrafts = () => ui.page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("rollcall.draft:")).map((k) => `${k} ${sessionStorage.getItem(k)}`).join("\n"));

  /** The sign-in page, shown in place of the console at the same address; signs in there. */
  async function signInAgain(who = admin): Promise<void> {
    await ui.page.getByText("Your session has ended. Sign in again to continue.").waitFor();
    await ui.page.getByLabel("Email").fill(who.email);
    await ui.page.getByLabel("Password").fill(who.password);
    await ui.page.getByRole("button", { name: "Sign in" }).click();
  }

  it("keeps a user's edits, but not the PIN, over an expired session, and saves them after signing in", async () => {
    await ui.page.goto(`${ui.server.url}/w/default/users?q=alan`);
    await ui.page.getByRole("link", { name: "Alan Turing" }).click();
    await ui.page.getByRole("heading", { name: "Alan Turing", level: 1 }).waitFor();
    const address = ui.page.url();
    await ui.page.getByRole("button", { name: "Edit" }).click();
    let dialog = ui.page.getByRole("dialog", { name: "Edit Alan Turing" });
    await dialog.getByLabel("Job title").fill("Codebreaker");
    await dialog.getByLabel("PIN").fill("2468");
    await expireSessions();
    await dialog.getByRole("button", { name: "Save changes" }).click();

    await ui.page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
    expect(ui.page.url()).toBe(address);
    const kept = await storedDrafts();
    expect(kept).toContain("Codebreaker");
    expect(kept).not.toContain("2468");
    await signInAgain();

    dialog = ui.page.getByRole("dialog", { name: "Edit Alan Turing" });
    await dialog.getByText("Your unsaved changes were restored — review and save. The PIN is never kept while you sign in: type it again.").waitFor();
    expect(await dialog.getByLabel("Job title").inputValue()).toBe("Codebreaker");
    expect(await dialog.getByLabel("PIN").inputValue()).toBe("");
    expect(await storedDrafts()).toBe(""); // the open form holds them now
    await dialog.getByLabel("PIN").fill("2468");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await ui.page.getByText("Changes saved").waitFor();
    await dialog.waitFor({ state: "hidden" });
    await ui.page.locator(".prop", { hasText: "Job title" }).getByText("Codebreaker").waitFor();
    const row = await ui.server.rt.store.db.selectFrom("users").select(["job_title", "pin_hash"]).where("email", "=", "alan@contoso.com").executeTakeFirstOrThrow();
    expect(row.job_title).toBe("Codebreaker");
    expect(row.pin_hash).not.toBeNull();
  });

  it("keeps a source's settings, not its client secret, over a revoked session, and back from the sign-in saves them", async () => {
    await ui.page.goto(`${ui.server.url}/w/default/sync/contoso`);
    await ui.page.getByRole("button", { name: "Edit" }).click();
    let form = ui.page.getByRole("dialog", { name: "Edit source contoso" });
    await form.getByLabel("Phone country").fill("GB");
    await form.getByRole("button", { name: "Replace secret" }).click();
    await form.getByLabel("Client secret").fill("very-secret-value");
    await revokeSessions();
    await form.getByRole("button", { name: "Save source" }).click();

    await ui.page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
    expect(await storedDrafts()).not.toContain("very-secret-value");
    // Signing in with Microsoft comes back to this page, where the changes wait.
    expect(await ui.page.getByRole("link", { name: "Sign in with Microsoft" }).getAttribute("href")).toBe(`/api/v1/auth/microsoft/start?returnTo=${encodeURIComponent("/w/default/sync/contoso")}`);
    await signInAgain();

    form = ui.page.getByRole("dialog", { name: "Edit source contoso" });
    await form.getByText("The client secret is never kept while you sign in: type it again.").waitFor();
    expect(await form.getByLabel("Phone country").inputValue()).toBe("GB");
    expect(await form.getByLabel("Client secret").inputValue()).toBe("");
    await form.getByText("Type the client secret again: it was not kept while you signed in.").waitFor();
    await form.getByLabel("Client secret").fill("very-secret-value");
    await form.getByRole("button", { name: "Save source" }).click();
    await ui.page.getByText("Source saved").waitFor();
    const saved = await getSource(ctx, "contoso");
    expect(saved.config.country).toBe("GB");
    expect(saved.secret.set).toBe(true);
  });

  it("keeps a new group's name over an expired session and creates it after signing in", async () => {
    await ui.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Groups" }).click();
    await ui.page.getByRole("button", { name: "New group" }).click();
    let dialog = ui.page.getByRole("dialog", { name: "New group" });
    await dialog.getByLabel("Name").fill("Pilots");
    await dialog.getByLabel("Description").fill("Fly the planes");
    await expireSessions();
    await dialog.getByRole("button", { name: "Create group" }).click();
    await signInAgain();

    dialog = ui.page.getByRole("dialog", { name: "New group" });
    await dialog.getByText("Your unsaved changes were restored — review and save.").waitFor();
    expect(await dialog.getByLabel("Name").inputValue()).toBe("Pilots");
    expect(await dialog.getByLabel("Description").inputValue()).toBe("Fly the planes");
    await dialog.getByRole("button", { name: "Create group" }).click();
    await ui.page.getByRole("heading", { name: "Pilots", level: 1 }).waitFor();
  });

  it("keeps the emails typed to add to a group over an expired session, and adds them after signing in", async () => {
    await ui.page.getByRole("heading", { name: "Pilots", level: 1 }).waitFor(); // the group the test above created
    await ui.page.getByLabel("Add a member").fill("ada@contoso.com, alan@contoso.com");
    await expireSessions();
    await ui.page.getByRole("button", { name: "Add", exact: true }).click();
    await signInAgain();

    await ui.page.getByText("Your unsaved changes were restored — review and save.").waitFor();
    expect(await ui.page.getByLabel("Add a member").inputValue()).toBe("ada@contoso.com, alan@contoso.com");
    await ui.page.getByRole("button", { name: "Add", exact: true }).click();
    await ui.page.getByText(/^2 members ·/).waitFor();
    expect(await ui.page.getByLabel("Add a member").inputValue()).toBe("");
    expect(await storedDrafts()).toBe("");
  });

  it("keeps an import checked but not yet applied over an expired session, the file as the server keeps it, and imports it after signing in", async () => {
    await ui.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Import & export" }).click();
    const csv = ["Email,Display name", "linus@contoso.com,Linus Torvalds", "ken@contoso.com,Ken Thompson"].join("\n");
    await ui.page.locator("#import-file").setInputFiles({ name: "new-hires.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await ui.page.getByLabel("Source name").fill("Badges");
    await ui.page.getByRole("button", { name: "Check file" }).click();
    const importButton = ui.page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.isEnabled()).toBe(true);
    await expireSessions();
    await importButton.click();
    await signInAgain();

    await ui.page.getByText("Your unsaved changes were restored — review and save.").waitFor();
    await ui.page.getByText("kept on the server").waitFor();
    expect(await ui.page.getByLabel("Source name").inputValue()).toBe("Badges");
    await expect.poll(() => importButton.isEnabled()).toBe(true); // checked again, without the file
    expect(await importButton.textContent()).toBe("Import: create 2, update 0");
    await importButton.click();
    await ui.page.getByText("Import finished.").waitFor();
    const imported = await sql<{ email: string }>`select email from users where source_name = 'Badges' order by email`.execute(ui.server.rt.store.db);
    expect(imported.rows.map((r) => r.email)).toEqual(["ken@contoso.com", "linus@contoso.com"]);
    expect(await storedDrafts()).toBe("");
  });

  it("keeps an import's options, not a file never sent, over an expired session, and asks for the file again", async () => {
    await ui.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Import & export" }).click();
    await ui.page.locator("#import-file").setInputFiles({ name: "more.csv", mimeType: "text/csv", buffer: Buffer.from("Email\nnew@contoso.com\n") });
    await ui.page.getByLabel("Source name").fill("Visitors");
    await ui.page.getByLabel("Import the valid rows even if some rows have problems").check();
    await expireSessions();
    await ui.page.getByRole("button", { name: "Check file" }).click();
    await signInAgain();

    await ui.page.getByText("Your import options were restored. The file had not been sent yet, and files are not kept while you sign in: choose it again.").waitFor();
    expect(await ui.page.getByLabel("Source name").inputValue()).toBe("Visitors");
    expect(await ui.page.getByLabel("Import the valid rows even if some rows have problems").isChecked()).toBe(true);
    expect(await ui.page.getByRole("button", { name: "Check file" }).isDisabled()).toBe(true);
    await ui.page.getByText("Drop a CSV or Excel (.xlsx) file here").waitFor();
  });

  it("asks for the file again when the server no longer keeps the upload the import was checked with", async () => {
    await ui.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Import & export" }).click();
    await ui.page.locator("#import-file").setInputFiles({ name: "late.csv", mimeType: "text/csv", buffer: Buffer.from("Email,Display name\nlate@contoso.com,Late Comer\n") });
    await ui.page.getByRole("button", { name: "Check file" }).click();
    const importButton = ui.page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.isEnabled()).toBe(true);
    await expireSessions();
    await importButton.click();
    await ui.page.getByText("Your session has ended. Sign in again to continue.").waitFor();
    await sql`update import_uploads set expires_at = now() - interval '1 second'`.execute(ui.server.rt.store.db); // as a day later
    await signInAgain();

    await ui.page.getByText("The server no longer keeps late.csv (an upload is kept for a day): choose the file again.").waitFor();
    await ui.page.getByText("Drop a CSV or Excel (.xlsx) file here").waitFor();
    expect(await ui.page.getByLabel("Source name").inputValue()).toBe("Visitors");
  });

  it("keeps the workspace settings and the notification settings over an expired session, and saves both after signing in", async () => {
    await ui.page.goto(`${ui.server.url}/w/default/settings`);
    const general = ui.page.locator("section", { has: ui.page.getByRole("heading", { name: "General" }) });
    const notifications = ui.page.locator("section", { has: ui.page.getByRole("heading", { name: "Notifications" }) });
    await general.getByLabel("Default country").fill("GB");
    await notifications.getByLabel("E-mail recipients").fill("it-ops@contoso.com");
    await expireSessions();
    await general.getByRole("button", { name: "Save" }).click();
    await signInAgain();

    await general.getByText("Your unsaved changes were restored — review and save.").waitFor();
    await notifications.getByText("Your unsaved changes were restored — review and save.").waitFor();
    expect(await general.getByLabel("Default country").inputValue()).toBe("GB");
    expect(await notifications.getByLabel("E-mail recipients").inputValue()).toBe("it-ops@contoso.com");
    await general.getByRole("button", { name: "Save" }).click();
    await ui.page.getByText("Settings saved").waitFor();
    await notifications.getByRole("button", { name: "Save notification settings" }).click();
    await ui.page.getByText("Notification settings saved").waitFor();
    expect(await ui.page.getByText("Your unsaved changes were restored — review and save.").count()).toBe(0);
    const workspace = await ui.server.rt.store.db.selectFrom("workspaces").select("default_country").where("name", "=", "default").executeTakeFirstOrThrow();
    expect(workspace.default_country).toBe("GB");
    const saved = await ui.page.evaluate(() => fetch("/api/v1/workspaces/default/notification-settings").then((r) => r.json() as Promise<{ emailTo: string[] }>));
    expect(saved.emailTo).toEqual(["it-ops@contoso.com"]);
  });

  it("shows nobody else the changes: another account signing in finds the page as it is", async () => {
    await ui.page.goto(`${ui.server.url}/w/default/users`);
    await ui.page.getByRole("button", { name: "Add user" }).first().click();
    const dialog = ui.page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Display name").fill("Private Draft");
    await expireSessions();
    await dialog.getByLabel("Email").fill("private@contoso.com");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await signInAgain(other);
    await ui.page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    await ui.page.getByRole("link", { name: "Ada Lovelace" }).waitFor();
    expect(await dialog.count()).toBe(0);
    expect(await storedDrafts()).toBe("");
    // Signing out on purpose forgets whatever was kept, for pages not opened again too.
    await ui.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Groups" }).click();
    await ui.page.getByRole("button", { name: "New group" }).click();
    await ui.page.getByRole("dialog", { name: "New group" }).getByLabel("Name").fill("Left behind");
    await expireSessions();
    await ui.page.getByRole("dialog", { name: "New group" }).getByRole("button", { name: "Create group" }).click();
    await ui.page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
    await signIn(ui.page, ui.server.url, other);
    expect(await storedDrafts()).toContain("Left behind");
    await ui.page.getByRole("button", { name: "Sign out" }).click();
    await ui.page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
    expect(await storedDrafts()).toBe("");
  });
});
