import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { getSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { testCertificate } from "../emulator/helpers.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { hasChromium } from "./harness.ts";
import { addEmulatorSource, signedInConsole } from "./signed-in.ts";

/** An Entra ID source's certificate credential in the console's source form: added, switched to, write-only, and connecting to the emulator. */
describe.skipIf(!hasChromium)("web console: an Entra ID source with a certificate", () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 5, groups: 1, seed: 5 });
  });
  afterAll(async () => emulator?.close());
  const ui = signedInConsole();

  it("adds a source with a certificate and its private key, which connects; the key is never shown", async () => {
    const { page, server } = ui;
    const certificate = testCertificate("console-entra");
    emulator.tenants.get(emulator.tenantId).addCertificate(emulator.clientId, { certificatePem: certificate.certificatePem });
    const validTo = new Date(new X509Certificate(certificate.certificatePem).validTo).toISOString().slice(0, 10);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("button", { name: "Add Entra ID source" }).first().click();
    const form = page.getByRole("dialog", { name: "Add Entra ID source" });
    await form.getByRole("textbox", { name: "Name", exact: true }).fill("by-cert");
    await form.getByLabel("Directory (tenant) ID").fill(emulator.tenantId);
    await form.getByLabel("Application (client) ID").fill(emulator.clientId);
    await form.getByRole("button", { name: /Show cloud, endpoints/ }).click();
    await form.getByLabel("Login URL").fill(emulator.loginUrl);
    await form.getByLabel("Graph URL").fill(emulator.graphUrl);
    await form.getByRole("radio", { name: "Certificate" }).check();
    // Neither part entered: the form marks both before sending.
    await form.getByRole("button", { name: "Add source" }).click();
    const invalid = form.locator("[aria-invalid='true']");
    await expect.poll(() => invalid.evaluateAll((fields) => fields.map((f) => f.getAttribute("name")))).toEqual(["certificatePem", "privateKeyPem"]);
    // Half a certificate goes to the server, which names the missing part at its field.
    await form.getByRole("textbox", { name: "Certificate (PEM)" }).fill(certificate.certificatePem);
    await form.getByRole("button", { name: "Add source" }).click();
    await expect.poll(() => invalid.evaluateAll((fields) => fields.map((f) => f.getAttribute("name")))).toEqual(["privateKeyPem"]);
    await form.getByRole("textbox", { name: "Private key (PEM)" }).fill(certificate.privateKeyPem);
    await form.getByRole("button", { name: "Add source" }).click();
    await page.getByRole("heading", { name: "by-cert", level: 1 }).waitFor();
    // Saved without a date, the source takes the certificate's own.
    expect((await getSource(await sourceCtx(), "by-cert")).config).toMatchObject({ credential: "certificate", secretExpiresOn: validTo });

    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Connected. Everything the source needs is in place.").waitFor({ timeout: 30_000 });
    expect(await page.content()).not.toContain("PRIVATE KEY");

    await page.getByRole("button", { name: "Edit settings" }).click();
    const edit = page.getByRole("dialog", { name: "Edit source by-cert" });
    await edit.locator("[data-kind='source-credential']").getByText(`certificate set, expires on ${validTo}`).waitFor();
    await edit.getByRole("button", { name: "Replace certificate" }).click();
    expect(await edit.getByRole("radio", { name: "Certificate" }).isChecked()).toBe(true);
    await edit.getByText("A certificate is stored (its key never shown): leave blank to keep it.").waitFor();
    expect(await edit.getByRole("textbox", { name: "Private key (PEM)" }).inputValue()).toBe("");
    await edit.getByRole("button", { name: "Cancel" }).click();
  });

  it("switches a source from a client secret to a certificate: the new one is required, the server's objections shown at its fields", async () => {
    const { page, server } = ui;
    await addEmulatorSource(server, emulator, { name: "switching" });
    const certificate = testCertificate("console-entra-switch");
    const other = testCertificate("console-entra-other");
    emulator.tenants.get(emulator.tenantId).addCertificate(emulator.clientId, { certificatePem: certificate.certificatePem });

    await page.goto(`${server.url}/w/default/sync/switching`);
    await page.getByRole("button", { name: "Edit settings" }).click();
    const form = page.getByRole("dialog", { name: "Edit source switching" });
    await form.locator("[data-kind='source-credential']").getByText("Client secret set").waitFor();
    await form.getByRole("button", { name: "Replace secret" }).click();
    await form.getByText("A secret is stored (never shown): leave blank to keep it.").waitFor();
    await form.getByRole("radio", { name: "Certificate" }).check();
    // Left blank, the stored secret would stay while the form says certificate: the form asks for the certificate.
    await form.getByRole("button", { name: "Save source" }).click();
    await form.getByText("Paste the certificate (PEM): a secret is stored now, and switching to a certificate needs the new one.").waitFor();
    expect(await form.getByRole("textbox", { name: "Private key (PEM)" }).getAttribute("aria-invalid")).toBe("true");

    // Another certificate's key: refused by the server, at the private key's field, nothing saved.
    await form.getByRole("textbox", { name: "Certificate (PEM)" }).fill(certificate.certificatePem);
    await form.getByRole("textbox", { name: "Private key (PEM)" }).fill(other.privateKeyPem);
    await form.getByRole("button", { name: "Save source" }).click();
    await form.getByText(/is not the certificate's private key/i).waitFor();
    expect(await form.getByRole("textbox", { name: "Private key (PEM)" }).getAttribute("aria-invalid")).toBe("true");
    expect((await getSource(await sourceCtx(), "switching")).config.credential).toBe("secret");

    await form.getByRole("textbox", { name: "Private key (PEM)" }).fill(certificate.privateKeyPem);
    await form.getByRole("button", { name: "Save source" }).click();
    await form.waitFor({ state: "hidden" });
    expect((await getSource(await sourceCtx(), "switching")).config.credential).toBe("certificate");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Connected. Everything the source needs is in place.").waitFor({ timeout: 30_000 });
    expect(await page.content()).not.toContain("PRIVATE KEY");
  });

  const sourceCtx = async () => ({ db: ui.server.rt.store.db, workspace: await resolveWorkspace(ui.server.rt.store.db, "default") });
});
