import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { testCertificate } from "../emulator/helpers.ts";
import { desktop, hasChromium, launchBrowser, openPage, screenshotIfFailed, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";

/** A SCIM source's Sign in with Microsoft settings on its card: every missing setting named, the client secret never shown. */
describe.skipIf(!hasChromium)("web console: sign-in with Microsoft for a SCIM source", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    ({ page, errors } = await openPage(await browser.newContext({ viewport: desktop })));
    await signIn(page, server.url);
  });
  afterEach(async (context) => {
    await screenshotIfFailed(page, context.task);
    expect(errors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("turns sign-in on with the enterprise application's tenant, client ID and secret, which is write-only", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("button", { name: "Add SCIM source" }).click();
    const add = page.getByRole("dialog", { name: "Add SCIM source" });
    await add.getByRole("textbox", { name: "Name" }).fill("Entra push");
    await add.getByRole("button", { name: "Add SCIM source" }).click();
    await page.getByRole("dialog", { name: "Secret Token of Entra push" }).getByRole("button", { name: "Done" }).click();

    const card = page.locator("[data-kind='scim-source']", { has: page.getByRole("heading", { name: "Entra push" }) });
    const setting = card.locator("[data-kind='scim-sign-in']");
    await setting.getByText("Off").waitFor();
    await setting.getByRole("button", { name: "Change" }).click();
    const form = page.getByRole("dialog", { name: "Sign in with Microsoft: Entra push" });
    await form.getByRole("checkbox", { name: "Use for Sign in with Microsoft" }).check();
    await form.getByRole("button", { name: "Save" }).click();
    await form.getByText(/is required to sign the source.s users in with Microsoft: the directory \(tenant\) ID/i).first().waitFor();
    await form.getByText(/is required .*a client secret/i).first().waitFor();

    const secret = "Q~console.secret.value";
    await form.getByRole("textbox", { name: "Directory (tenant) ID" }).fill("72f988bf-86f1-41af-91ab-2d7cd011db47");
    await form.getByRole("textbox", { name: "Application (client) ID" }).fill("0f8fad5b-d9cb-469f-a165-70867728950e");
    await form.getByLabel("Client secret").fill(secret);
    await form.getByRole("button", { name: "Save" }).click();
    await setting.getByText("On (tenant 72f988bf-86f1-41af-91ab-2d7cd011db47)").waitFor();
    expect(await page.content()).not.toContain(secret);

    await setting.getByRole("button", { name: "Change" }).click();
    await form.getByText("A secret is stored (never shown): leave blank to keep it.").waitFor();
    expect(await form.getByLabel("Client secret").inputValue()).toBe("");
    await form.getByRole("checkbox", { name: "Use for Sign in with Microsoft" }).uncheck();
    await form.getByRole("button", { name: "Save" }).click();
    await setting.getByText("Off").waitFor();
  });

  it("adds a SCIM source with sign-in: a bad tenant ID, a bad client ID and no secret, each said at its field at once", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("button", { name: "Add SCIM source" }).click();
    const add = page.getByRole("dialog", { name: "Add SCIM source" });
    await add.getByRole("textbox", { name: "Name" }).fill("Two bad fields");
    await add.getByRole("checkbox", { name: "Use for Sign in with Microsoft" }).check();
    await add.getByRole("textbox", { name: "Directory (tenant) ID" }).fill("common");
    await add.getByRole("textbox", { name: "Application (client) ID" }).fill("not-a-guid");
    await add.getByRole("button", { name: "Add SCIM source" }).click();
    // The schema's refusals (tenant and client ID) and the core's (no secret) in one answer, each under its own field.
    const problemOf = (field: ReturnType<typeof add.getByRole> | ReturnType<typeof add.getByLabel>) =>
      field.evaluate((el) => (el.getAttribute("aria-invalid") === "true" ? (el.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" ") : ""));
    await expect.poll(() => problemOf(add.getByRole("textbox", { name: "Directory (tenant) ID" }))).toMatch(/"common" names no directory/);
    expect(await problemOf(add.getByRole("textbox", { name: "Application (client) ID" }))).toMatch(/Must be the application \(client\) ID, a GUID/);
    expect(await problemOf(add.getByLabel("Client secret"))).toMatch(/Is required to sign the source.s users in with Microsoft: a client secret/);
    expect(await problemOf(add.getByRole("textbox", { name: "Name" }))).toBe("");
    expect((await server.rt.store.db.selectFrom("sources").select("id").where("name", "=", "Two bad fields").execute()).length).toBe(0);
    // Left as it was found: the dialog keeps what was typed for the next test.
    await add.getByRole("textbox", { name: "Name" }).fill("");
    await add.getByRole("textbox", { name: "Directory (tenant) ID" }).fill("");
    await add.getByRole("textbox", { name: "Application (client) ID" }).fill("");
    await add.getByRole("checkbox", { name: "Use for Sign in with Microsoft" }).uncheck();
    await add.getByRole("button", { name: "Cancel" }).click();
    await add.waitFor({ state: "hidden" });
  });

  it("adds a SCIM source with sign-in on from the start: the same checks as the card's, nothing added until they pass", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("button", { name: "Add SCIM source" }).click();
    const add = page.getByRole("dialog", { name: "Add SCIM source" });
    await add.getByRole("textbox", { name: "Name" }).fill("Signed from start");
    await add.getByRole("group", { name: "Sign in with Microsoft (optional)" }).waitFor();
    await add.getByRole("checkbox", { name: "Use for Sign in with Microsoft" }).check();
    await add.getByRole("textbox", { name: "Directory (tenant) ID" }).fill("72f988bf-86f1-41af-91ab-2d7cd011db47");
    await add.getByRole("button", { name: "Add SCIM source" }).click();
    await add.getByText(/is required .*the application \(client\) ID/i).first().waitFor();
    await add.getByText(/is required .*a client secret/i).first().waitFor();
    expect((await server.rt.store.db.selectFrom("sources").select("id").where("name", "=", "Signed from start").execute()).length).toBe(0);

    const secret = "Q~created.with.signin";
    await add.getByRole("textbox", { name: "Application (client) ID" }).fill("0f8fad5b-d9cb-469f-a165-70867728950e");
    await add.getByLabel("Client secret").fill(secret);
    await add.getByRole("button", { name: "Add SCIM source" }).click();
    await page.getByRole("dialog", { name: "Secret Token of Signed from start" }).getByRole("button", { name: "Done" }).click();
    const card = page.locator("[data-kind='scim-source']", { has: page.getByRole("heading", { name: "Signed from start" }) });
    await card.locator("[data-kind='scim-sign-in']").getByText("On (tenant 72f988bf-86f1-41af-91ab-2d7cd011db47)").waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  it("takes a certificate with its private key instead of a secret, write-only too", async () => {
    const card = page.locator("[data-kind='scim-source']", { has: page.getByRole("heading", { name: "Signed from start" }) });
    await card.locator("[data-kind='scim-sign-in']").getByRole("button", { name: "Change" }).click();
    const form = page.getByRole("dialog", { name: "Sign in with Microsoft: Signed from start" });
    await form.getByText("A secret is stored (never shown): leave blank to keep it.").waitFor();
    await form.getByRole("radio", { name: "Certificate" }).check();
    const certificate = testCertificate("console-scim");
    await form.getByRole("textbox", { name: "Certificate (PEM)" }).fill(certificate.certificatePem);
    await form.getByRole("button", { name: "Save" }).click();
    await form.getByText("Must not be empty").waitFor();
    expect(await form.getByRole("textbox", { name: "Private key (PEM)" }).getAttribute("aria-invalid")).toBe("true");
    await form.getByRole("textbox", { name: "Private key (PEM)" }).fill(certificate.privateKeyPem);
    await form.getByRole("button", { name: "Save" }).click();
    await form.waitFor({ state: "hidden" });
    expect(await page.content()).not.toContain("PRIVATE KEY");
    await card.locator("[data-kind='scim-sign-in']").getByRole("button", { name: "Change" }).click();
    expect(await form.getByRole("radio", { name: "Certificate" }).isChecked()).toBe(true);
    await form.getByText("A certificate is stored (its key never shown): leave blank to keep it.").waitFor();
    expect(await form.getByRole("textbox", { name: "Private key (PEM)" }).inputValue()).toBe("");
    await form.getByRole("button", { name: "Cancel" }).click();
  });

  it("shows when the sign-in credential expires: a certificate's own date, or one entered, marked from 30 days before", async () => {
    const card = page.locator("[data-kind='scim-source']", { has: page.getByRole("heading", { name: "Signed from start" }) });
    const expiry = card.locator("[data-kind='scim-secret-expiry']");
    await expiry.getByText(/certificate set, expires on \d{4}-\d\d-\d\d/).waitFor();
    // The dialog starts from the date the certificate brought, not from the blank it was saved with.
    const own = /expires on (\d{4}-\d\d-\d\d)/.exec((await expiry.textContent()) ?? "")![1]!;
    await card.locator("[data-kind='scim-sign-in']").getByRole("button", { name: "Change" }).click();
    expect(await page.getByRole("dialog", { name: "Sign in with Microsoft: Signed from start" }).getByLabel("Secret expires on").inputValue()).toBe(own);
    await page.getByRole("dialog", { name: "Sign in with Microsoft: Signed from start" }).getByRole("button", { name: "Cancel" }).click();
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    await card.locator("[data-kind='scim-sign-in']").getByRole("button", { name: "Change" }).click();
    const form = page.getByRole("dialog", { name: "Sign in with Microsoft: Signed from start" });
    await form.getByLabel("Secret expires on").fill("");
    await form.getByLabel("Secret expires on").fill(soon);
    await form.getByRole("button", { name: "Save" }).click();
    await expiry.getByText(`certificate set, expires on ${soon} (in 10 days)`).waitFor();
    expect(await expiry.getAttribute("class")).toBe("text-bad");
  });
});
