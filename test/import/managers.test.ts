import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { createUser, getUser, updateUser } from "../../src/core/users.ts";
import { runImport, type ImportOptions } from "../../src/core/imports.ts";
import { exportUsers } from "../../src/core/exports.ts";
import { listChanges } from "../../src/core/change-log.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";

// An import's Manager column: a user of the file or of the workspace, checked before anything is applied.
describe.each(engines)("an import's managers on %s", (engine) => {
  let store: TestStore;
  let dir: string;
  let seq = 0;
  const newWorkspace = async (): Promise<WorkspaceContext> => ({ db: store.db, workspace: await createWorkspace(store.db, { name: `mgr${++seq}`, defaultCountry: "GB" }), actor: "test" });
  const importText = async (ctx: WorkspaceContext, name: string, text: string, options: Partial<ImportOptions> = {}) => {
    const path = join(dir, `${++seq}-${name}`);
    await writeFile(path, text);
    return runImport(ctx, store, { path, fileName: name, dryRun: false, partial: false, updateExisting: false, ...options });
  };
  const managerOf = async (ctx: WorkspaceContext, key: string) => (await getUser(ctx, key)).manager?.email ?? null;

  beforeAll(async () => {
    store = await openTestStore(engine);
    dir = await mkdtemp(join(tmpdir(), "rollcall-managers-"));
  });
  afterAll(async () => {
    await store?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("sets managers named by a later row, an earlier row or a user of the workspace, logs them, and a second import changes nothing", async () => {
    const ctx = await newWorkspace();
    await createUser(ctx, { email: "boss@example.com", userPrincipalName: "boss.upn@example.com", displayName: "Boss" });
    const text = "Email,Name,Manager email\nada@example.com,Ada,cy@example.com\ncy@example.com,Cy,BOSS.UPN@example.com\nbob@example.com,Bob,ada@example.com\n";
    const report = await importText(ctx, "hr.csv", text);
    expect(report.problems).toEqual([]);
    expect(report.counts).toMatchObject({ created: 3, invalid: 0 });
    expect(await managerOf(ctx, "ada@example.com")).toBe("cy@example.com");
    expect(await managerOf(ctx, "cy@example.com")).toBe("boss@example.com");
    expect(await managerOf(ctx, "bob@example.com")).toBe("ada@example.com");
    const ada = await getUser(ctx, "ada@example.com");
    const history = await listChanges(store.db, ctx.workspace.id, { userId: ada.id, limit: 10 });
    // One entry per user and import: the manager is in the row's create entry.
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ action: "create", actor: "test (import hr.csv)", after: { email: "ada@example.com", manager: "Cy <cy@example.com>" } });

    const again = await importText(ctx, "hr.csv", text);
    expect(again.counts).toMatchObject({ unchanged: 3, updated: 0 });
    expect(await listChanges(store.db, ctx.workspace.id, { userId: ada.id, limit: 10 })).toHaveLength(history.length);
  });

  it("counts a row changing only its manager as an update in the preview and the report, and logs one entry per user with every change", async () => {
    const ctx = await newWorkspace();
    await importText(ctx, "hr.csv", "email,displayName,department,manager\nboss@example.com,Boss,Ops,\nada@example.com,Ada,Ops,\nbob@example.com,Bob,Ops,\ncy@example.com,Cy,Ops,boss@example.com\n");
    const ada = await getUser(ctx, "ada@example.com");
    const bob = await getUser(ctx, "bob@example.com");
    // Ada: her manager alone; Bob: his department and his manager; Cy: nothing; Dee: new, managed by Bob.
    const text = "email,displayName,department,manager\nboss@example.com,Boss,Ops,\nada@example.com,Ada,Ops,boss@example.com\nbob@example.com,Bob,Sales,dee@example.com\ncy@example.com,Cy,Ops,boss@example.com\ndee@example.com,Dee,Ops,\n";
    for (const dryRun of [true, false]) {
      const report = await importText(ctx, "hr.csv", text, { dryRun });
      expect(report.problems).toEqual([]);
      expect(report.counts).toMatchObject({ created: 1, updated: 2, unchanged: 2, skipped: 2 });
      expect(report.updated).toEqual([
        expect.objectContaining({ row: 3, id: ada.id, changes: { manager: { before: null, after: "Boss <boss@example.com>" } } }),
        expect.objectContaining({ row: 4, id: bob.id, changes: { department: { before: "Ops", after: "Sales" }, manager: { before: null, after: "Dee <dee@example.com>" } } }),
      ]);
      expect(report.unchanged.map((u) => u.row)).toEqual([2, 5]);
    }
    expect(await managerOf(ctx, "ada@example.com")).toBe("boss@example.com");
    expect(await managerOf(ctx, "bob@example.com")).toBe("dee@example.com");
    const last = async (id: string) => (await listChanges(store.db, ctx.workspace.id, { userId: id, limit: 10 })).filter((c) => c.actor === "test (import hr.csv)");
    const [adaEntry, ...adaOlder] = await last(ada.id);
    expect(adaOlder.map((c) => c.action)).toEqual(["create"]);
    expect(adaEntry).toMatchObject({ action: "update", before: { manager: null }, after: { manager: "Boss <boss@example.com>" } });
    const [bobEntry, ...bobOlder] = await last(bob.id);
    expect(bobOlder.map((c) => c.action)).toEqual(["create"]);
    expect(bobEntry).toMatchObject({ action: "update", before: { department: "Ops", manager: null }, after: { department: "Sales", manager: "Dee <dee@example.com>" } });

    // In a file of several batches, a row of an earlier batch, already applied when the managers are set, too.
    const again = await importText(ctx, "hr.csv", text.replace("ada@example.com,Ada,Ops,boss@example.com", "ada@example.com,Ada,Ops,cy@example.com"), { batchRows: 2 });
    expect(again.counts).toMatchObject({ created: 0, updated: 1, unchanged: 4 });
    expect(again.updated).toEqual([expect.objectContaining({ row: 3, changes: { manager: { before: "Boss <boss@example.com>", after: "Cy <cy@example.com>" } } })]);
    expect((await last(ada.id)).map((c) => c.action)).toEqual(["update", "update", "create"]);
  });

  it("an empty cell removes the manager (as it clears any field); a file without the column leaves managers alone", async () => {
    const ctx = await newWorkspace();
    await importText(ctx, "hr.csv", "email,displayName,manager\nada@example.com,Ada,bob@example.com\nbob@example.com,Bob,\n");
    expect(await managerOf(ctx, "ada@example.com")).toBe("bob@example.com");
    await importText(ctx, "hr.csv", "email,displayName,department\nada@example.com,Ada,Ops\nbob@example.com,Bob,Ops\n");
    expect(await managerOf(ctx, "ada@example.com")).toBe("bob@example.com");
    await importText(ctx, "hr.csv", "email,displayName,manager\nada@example.com,Ada,\nbob@example.com,Bob,\n");
    expect(await managerOf(ctx, "ada@example.com")).toBeNull();
  });

  it("previews an unknown, ambiguous or self manager and a loop as problems at the cell, and applies none of the file", async () => {
    const ctx = await newWorkspace();
    await createUser(ctx, { email: "top@example.com", displayName: "Top" });
    await createUser(ctx, { email: "mid@example.com", displayName: "Mid" });
    await updateUser(ctx, "mid@example.com", { manager: "top@example.com" });
    const text = "Email,Name,Manager\n" +
      "ada@example.com,Ada,nobody@example.com\n" + // row 2: unknown
      "bob@example.com,Bob,bob@example.com\n" + // row 3: themselves
      "cy@example.com,Cy,dee@example.com\n" + // rows 4–5: a loop in the file
      "dee@example.com,Dee,cy@example.com\n" +
      "top@example.com,Top,mid@example.com\n" + // row 6: a loop through a user the file leaves alone
      "eve@example.com,Eve,ghost@example.com\n" + // row 7: a row with problems
      "fay@example.com,Fay,top@example.com\n" + // row 8: fine
      "ghost@example.com,,top@example.com\n"; // row 9: no name
    const preview = await importText(ctx, "hr.csv", text, { dryRun: true, updateExisting: true });
    const byRow = Object.fromEntries(preview.problems.map((p) => [p.row, p]));
    expect(Object.keys(byRow).map(Number)).toEqual([2, 3, 4, 5, 6, 7, 9]);
    expect(byRow[2]).toMatchObject({ column: "Manager", field: "manager", value: "nobody@example.com" });
    expect(byRow[2]!.message).toContain(`no user of this file or of workspace "${ctx.workspace.name}" has this email`);
    expect(byRow[3]!.message).toContain("is the user themselves");
    expect(byRow[4]!.message).toContain("would make a loop");
    expect(byRow[6]!.message).toContain("would make a loop");
    expect(byRow[7]!.message).toContain("no user of this file");

    const refused = await importText(ctx, "hr.csv", text, { updateExisting: true });
    expect(refused.applied).toBe(false);
    expect((await getUser(ctx, "top@example.com").catch(() => null))?.manager ?? null).toBeNull();
    await expect(getUser(ctx, "fay@example.com")).rejects.toThrow();

    // Partial: the valid rows are imported, the refused ones not at all.
    const partial = await importText(ctx, "hr.csv", text, { updateExisting: true, partial: true });
    expect(partial.counts).toMatchObject({ invalid: 7, created: 1 });
    expect(await managerOf(ctx, "fay@example.com")).toBe("top@example.com");
    await expect(getUser(ctx, "ada@example.com")).rejects.toThrow();
    expect(await managerOf(ctx, "top@example.com")).toBeNull();
  });

  it("a file read in several batches sets managers named rows ahead, and a problem in its last batch applies none of it", async () => {
    const ctx = await newWorkspace();
    await createUser(ctx, { email: "held@example.com", displayName: "Held" });
    const rows = ["a", "b", "c", "d", "e"].map((n, i, all) => `${n}@example.com,${n.toUpperCase()},${all[i + 1] ?? "held"}@example.com`);
    const text = `email,displayName,manager\n${rows.join("\n")}\n`;
    const refused = await importText(ctx, "hr.csv", text.replace("held@example.com\n", "gone@example.com\n"), { batchRows: 2 });
    expect(refused).toMatchObject({ applied: false, problems: [expect.objectContaining({ row: 6, field: "manager", value: "gone@example.com" })] });
    await expect(getUser(ctx, "a@example.com")).rejects.toThrow();
    const report = await importText(ctx, "hr.csv", text, { batchRows: 2 });
    expect(report).toMatchObject({ applied: true, problems: [], counts: { created: 5 } });
    expect(await managerOf(ctx, "a@example.com")).toBe("b@example.com");
    expect(await managerOf(ctx, "e@example.com")).toBe("held@example.com");
  });

  it("a first import with --partial leaves out the rows whose manager is refused", async () => {
    const ctx = await newWorkspace();
    const report = await importText(ctx, "hr.csv", "email,displayName,manager\nada@example.com,Ada,nobody@example.com\nbob@example.com,Bob,ada@example.com\ncy@example.com,Cy,\n", { partial: true });
    expect(report.counts).toMatchObject({ created: 1, invalid: 2 });
    expect(report.problems.map((p) => p.row)).toEqual([2, 3]);
    expect(report.problems[1]!.message).toContain("names the user of row 2, whose manager cell is refused");
    expect((await getUser(ctx, "cy@example.com")).manager).toBeNull();
  });

  it("keeps a synced user's manager (their source owns it) with a warning, and exports managers that import back unchanged", async () => {
    const ctx = await newWorkspace();
    await createUser(ctx, { email: "boss@example.com", displayName: "Boss" });
    await createUser(ctx, { email: "ada@example.com", displayName: "Ada" });
    await updateUser(ctx, "ada@example.com", { manager: "boss@example.com" });
    const contoso = await store.db.insertInto("sources").values({ workspace_id: ctx.workspace.id, type: "entra", name: "Contoso", config: "{}", secret_ciphertext: null }).returning("id").executeTakeFirstOrThrow();
    const boss = await getUser(ctx, "boss@example.com");
    await store.db.insertInto("users").values({ workspace_id: ctx.workspace.id, email: "synced@example.com", display_name: "Synced", source_type: "entra", source_name: "Contoso", source_id: contoso.id, external_id: "e1", tags: ["ID synced"], custom_attributes: "{}", manager_id: boss.id }).execute();
    const synced = await getUser(ctx, "synced@example.com");

    const out = join(dir, `export-${seq}.csv`);
    const result = await exportUsers(ctx, { format: "csv", out });
    expect(result.columns).toContain("manager");
    const lines = (await readFile(out, "utf8")).replace(/^\uFEFF/, "").trimEnd().split("\r\n");
    const column = lines[0]!.split(",").indexOf("manager");
    expect(lines.find((l) => l.startsWith("ada@"))!.split(",")[column]).toBe("boss@example.com");
    const back = await runImport(ctx, store, { path: out, fileName: "users.csv", dryRun: false, partial: false, updateExisting: false });
    expect(back).toMatchObject({ applied: true, problems: [], warnings: [], counts: { unchanged: 3, updated: 0, created: 0 } });
    expect(await managerOf(ctx, "ada@example.com")).toBe("boss@example.com");

    const edited = await importText(ctx, "users.csv", `email,displayName,manager,rollcallId\nsynced@example.com,Synced,ada@example.com,${synced.id}\n`);
    expect(edited.problems).toEqual([]);
    expect(edited.warnings).toEqual([expect.objectContaining({ row: 2, column: "manager", field: "manager", message: expect.stringContaining("kept: the user is synced from their Entra ID source") })]);
    expect(await managerOf(ctx, "synced@example.com")).toBe("boss@example.com");
  });
});
