import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { createUser, getUser } from "../../src/core/users.ts";
import { runImport, type ImportOptions } from "../../src/core/imports.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";
import { rejection } from "../support/assert.ts";
import { listChanges } from "../../src/core/change-log.ts";

// Which existing user a row describes, and what a file may not claim.
describe.each(engines)("an import's rows and the users already held, on %s", (engine) => {
  let store: TestStore;
  let dir: string;
  let seq = 0;
  const newWorkspace = async (): Promise<WorkspaceContext> => ({ db: store.db, workspace: await createWorkspace(store.db, { name: `match${++seq}`, defaultCountry: "GB" }), actor: "test" });
  const importText = async (ctx: WorkspaceContext, name: string, text: string, options: Partial<ImportOptions> = {}) => {
    const path = join(dir, `${seq}-${name}`);
    await writeFile(path, text);
    return runImport(ctx, store, { path, fileName: name, dryRun: false, partial: false, updateExisting: false, ...options });
  };

  beforeAll(async () => {
    store = await openTestStore(engine);
    dir = await mkdtemp(join(tmpdir(), "rollcall-matching-"));
  });
  afterAll(async () => {
    await store?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("matches a UPN-only row to the user whose email it is, and an email row to the user whose UPN it is", async () => {
    const ctx = await newWorkspace();
    await createUser(ctx, { email: "ada@example.com", displayName: "Ada Lovelace" });
    await createUser(ctx, { userPrincipalName: "bob@example.com", displayName: "Bob" });
    // Entra's bulk-create template (UPN only) beside the email of a user added by hand: the same person, not a new one.
    const upnFile = "version:v1.0\nName [displayName] Required,User name [userPrincipalName] Required\nAda Lovelace,ada@example.com\n";
    const refused = await importText(ctx, "entra.csv", upnFile);
    expect(refused.counts).toMatchObject({ created: 0, invalid: 1 });
    expect(refused.problems[0]!.message).toContain("belongs to Ada Lovelace <ada@example.com>, who was added by hand; import with --update-existing");
    const taken = await importText(ctx, "entra.csv", upnFile, { updateExisting: true });
    expect(taken.counts).toMatchObject({ created: 0, updated: 1 });
    const emailFile = "Email,Name,Department\nbob@example.com,Bob,Ops\n";
    expect((await importText(ctx, "hr.csv", emailFile, { updateExisting: true })).counts).toMatchObject({ created: 0, updated: 1 });
    expect((await getUser(ctx, "bob@example.com")).department).toBe("Ops");
    const held = await store.db.selectFrom("users").select(["email", "user_principal_name"]).where("workspace_id", "=", ctx.workspace.id).orderBy("display_name").execute();
    expect(held).toEqual([{ email: "ada@example.com", user_principal_name: "ada@example.com" }, { email: "bob@example.com", user_principal_name: "bob@example.com" }]);
  });

  it("keeps another owner's spelling of an address a row gives in another case; its own file's case-only change is an update", async () => {
    const ctx = await newWorkspace();
    const fay = await createUser(ctx, { email: "fay@example.com", userPrincipalName: "fay.upn@example.com", displayName: "Fay" });
    // Another owner's user, described by a file that spells her addresses otherwise: the same person, nothing to change.
    for (const text of ["email,displayName\nFAY@Example.com,Fay\n", "userPrincipalName,displayName\nFay.UPN@example.com,Fay\n"]) {
      const report = await importText(ctx, "other.csv", text);
      expect(report.problems).toEqual([]);
      expect(report.counts).toMatchObject({ updated: 0, unchanged: 1, invalid: 0 });
    }
    expect(await getUser(ctx, fay.id)).toMatchObject({ email: "fay@example.com", userPrincipalName: "fay.upn@example.com", source: { type: "manual" } });
    // Taken over, the file is her source and its spelling hers; then its own case-only change is an update, logged.
    const taken = await importText(ctx, "other.csv", "email,displayName\nFAY@Example.com,Fay\n", { updateExisting: true });
    expect(taken.updated[0]?.changes.email).toEqual({ before: "fay@example.com", after: "FAY@Example.com" });
    const recased = await importText(ctx, "other.csv", "email,displayName\nFay@example.com,Fay\n");
    expect(recased.counts).toMatchObject({ updated: 1, unchanged: 0 });
    expect(recased.updated[0]?.changes).toEqual({ email: { before: "FAY@Example.com", after: "Fay@example.com" } });
    expect((await getUser(ctx, fay.id)).email).toBe("Fay@example.com");
    const history = await listChanges(store.db, ctx.workspace.id, { userId: fay.id, limit: 10 });
    expect(history[0]).toMatchObject({ action: "update", before: { email: "FAY@Example.com" }, after: { email: "Fay@example.com" } });
  });

  it("reads a Mac's decomposed (NFD) export as the same people, names and addresses as the composed (NFC) file", async () => {
    const ctx = await newWorkspace();
    const nfc = "email,displayName,surname,groups,customAttributes.site\njürgen.müller@example.de,Jürgen Müller,Müller,Zespół Łódź,Malmö\n";
    const nfd = nfc.normalize("NFD");
    expect(nfd).not.toBe(nfc);
    expect((await importText(ctx, "hr.csv", nfc)).counts).toMatchObject({ created: 1 });
    // The same user, unchanged: not a second Jürgen, nor a conflict over an address that only looks the same.
    expect((await importText(ctx, "hr.csv", nfd)).counts).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
    const held = await store.db.selectFrom("users").select(["email", "display_name", "surname", "custom_attributes"]).where("workspace_id", "=", ctx.workspace.id).execute();
    expect(held).toEqual([{ email: "jürgen.müller@example.de", display_name: "Jürgen Müller", surname: "Müller", custom_attributes: { site: "Malmö" } }]);
    const groups = await store.db.selectFrom("groups").select("name").where("workspace_id", "=", ctx.workspace.id).execute();
    expect(groups).toEqual([{ name: "Zespół Łódź" }]);
    // A user added by hand in NFD (an API client on a Mac) is stored composed, and found by the composed address.
    await createUser(ctx, { email: "zoë@example.de".normalize("NFD"), displayName: "Zoë Ölçer".normalize("NFD"), customAttributes: { site: "Malmö".normalize("NFD") } });
    expect(await getUser(ctx, "zoë@example.de")).toMatchObject({ displayName: "Zoë Ölçer", customAttributes: { site: "Malmö" } });
  });

  it("finds one address given twice in a file, once composed (NFC) and once decomposed (NFD)", async () => {
    const ctx = await newWorkspace();
    const result = await importText(ctx, "twice.csv", `email,displayName\njosé@example.es,José\n${"josé@example.es".normalize("NFD")},José again\n`);
    expect(result.counts).toMatchObject({ invalid: 1 });
    expect(result.problems[0]!.message).toBe('"josé@example.es" is also in row 2');
    expect(await store.db.selectFrom("users").select("id").where("workspace_id", "=", ctx.workspace.id).execute()).toEqual([]);
  });

  it("never lets a file claim another source's tag, so a re-import changes nothing", async () => {
    const ctx = await newWorkspace();
    const text = "email,displayName,tags\nada@example.com,Ada,Manual;vip\nbob@example.com,Bob,ID synced; imported\n";
    expect((await importText(ctx, "tags.csv", text)).counts.created).toBe(2);
    expect((await getUser(ctx, "ada@example.com")).tags).toEqual(["Imported", "vip"]);
    expect((await getUser(ctx, "bob@example.com")).tags).toEqual(["Imported"]);
    expect((await importText(ctx, "tags.csv", text, { dryRun: true })).counts).toMatchObject({ unchanged: 2, updated: 0 });
    await createUser(ctx, { email: "eve@example.com", displayName: "Eve", tags: ["ID synced", "night shift"] });
    expect((await getUser(ctx, "eve@example.com")).tags).toEqual(["Manual", "night shift"]);
  });

  it("refuses the source name of users added by hand", async () => {
    const ctx = await newWorkspace();
    const error = await rejection(importText(ctx, "staff.csv", "email,name\nada@example.com,Ada\n", { sourceName: "Manual" }));
    expect([error.code, error.message]).toEqual(["invalid_input", expect.stringContaining("users added by hand")]);
  });
});
