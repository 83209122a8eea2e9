import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { runImport } from "../../src/core/imports.ts";

/**
 * The same person from a Mac's CSV export (decomposed, NFD) and from Entra ID (composed, NFC): one user, linked by
 * email, not a conflict over an address that only looks the same.
 */
describe.each(engines)("a person imported from an NFD file and synced from Entra ID (%s)", (engine) => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 20, groups: 2 });
    await h.addSource("corp", { country: "DE" });
    dir = await mkdtemp(join(tmpdir(), "rollcall-composed-"));
  });
  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("is linked by email, one user", async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const mail = `jürgen.müller@${tenant.domain}`;
    tenant.createUser({ displayName: "Jürgen Müller", userPrincipalName: `jmueller@${tenant.domain}`, mail });
    const path = join(dir, "staff.csv");
    await writeFile(path, `email,displayName,department\n${mail},Jürgen Müller,Qualitätssicherung\n`.normalize("NFD"));
    const imported = await runImport(h.ctx, h.store, { path, fileName: "staff.csv", dryRun: false, partial: false, updateExisting: false });
    expect(imported.counts).toMatchObject({ created: 1 });

    const run = await h.sync("corp");
    expect(run.status).toBe("succeeded");
    expect(run.counts).toMatchObject({ linked: 1, conflicts: 0 });
    const jurgens = await h.store.db.selectFrom("users").select(["email", "source_type"]).where("display_name", "=", "Jürgen Müller").execute();
    expect(jurgens).toEqual([{ email: mail, source_type: "entra" }]);
  });
});
