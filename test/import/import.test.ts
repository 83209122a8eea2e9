import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { createUser, getUser } from "../../src/core/users.ts";
import { createGroup, addMember, listGroups } from "../../src/core/groups.ts";
import { runImport, type ImportOptions, type ImportProgress } from "../../src/core/imports.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";
import { verifySecret } from "../../src/security/hashing.ts";
import { RollcallError } from "../../src/errors.ts";
import { listNotifications } from "../../src/core/notifications.ts";
import ExcelJS from "exceljs";

const fixture = (name: string) => join(import.meta.dirname, "../fixtures/import", name);

describe.each(engines)("importing users on %s", (engine) => {
  let store: TestStore;
  let dir: string;
  let seq = 0;
  const newWorkspace = async (): Promise<WorkspaceContext> => ({ db: store.db, workspace: await createWorkspace(store.db, { name: `ws${++seq}`, defaultCountry: "GB" }), actor: "test" });
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const importFile = (ctx: WorkspaceContext, path: string, options: Partial<ImportOptions> = {}) =>
    runImport(ctx, store, { path, fileName: path.split("/").at(-1)!, dryRun: false, partial: false, updateExisting: false, ...options });
  const userCount = async (ctx: WorkspaceContext) =>
    Number((await store.db.selectFrom("users").select((eb) => eb.fn.countAll().as("n")).where("workspace_id", "=", ctx.workspace.id).executeTakeFirstOrThrow()).n);
  const changeCount = async (ctx: WorkspaceContext) =>
    Number((await store.db.selectFrom("change_log").select((eb) => eb.fn.countAll().as("n")).where("workspace_id", "=", ctx.workspace.id).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    store = await openTestStore(engine);
    dir = await mkdtemp(join(tmpdir(), "rollcall-import-"));
  });
  afterAll(async () => {
    await store?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates users with source, tag, groups, card and hashed PIN; re-importing the same file changes nothing", async () => {
    const ctx = await newWorkspace();
    const first = await importFile(ctx, fixture("basic.csv"));
    expect(first).toMatchObject({ applied: true, counts: { rows: 2, created: 2, updated: 0, invalid: 0, groupsCreated: 2 } });
    const ada = await getUser(ctx, "ada@example.com");
    expect(ada).toMatchObject({
      displayName: "Ada Lovelace", mobilePhone: "+447911123456", cardNumbers: ["000123"], groups: ["Engineers", "London"],
      source: { type: "import", name: "basic.csv" }, tags: ["Imported"],
    });
    const row = await store.db.selectFrom("users").select(["pin_hash", "source_id"]).where("id", "=", ada.id).executeTakeFirstOrThrow();
    expect(await verifySecret("1234", row.pin_hash!)).toBe(true);
    expect(row.source_id).not.toBeNull();
    const changes = await changeCount(ctx);

    const again = await importFile(ctx, fixture("basic.csv"));
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    expect(await changeCount(ctx)).toBe(changes);
    expect((await getUser(ctx, "ada@example.com")).updatedAt).toBe(ada.updatedAt);
  });

  // Without autovacuum, each updated user's old row would stay dead: the import vacuums after updating.
  it.runIf(engine === "pglite")("keeps the users table from growing with each re-import that changes every user", async () => {
    const ctx = await newWorkspace();
    const rows = (round: number) => Array.from({ length: 60 }, (_, i) => `u${i}@example.com,User ${i},Title ${round} ${"x".repeat(100)},${String(i).padStart(6, "0")},Team ${round}`);
    const path = (round: number) => file(`grow${round}.csv`, ["email,displayName,jobTitle,cardNumbers,groups", ...rows(round)].join("\n"));
    const size = async () => Number((await sql<{ bytes: string }>`select (pg_total_relation_size('users') + pg_total_relation_size('user_identifiers') + pg_total_relation_size('group_members'))::text as bytes`.execute(store.db)).rows[0]!.bytes);
    const reimport = async (round: number) => (await importFile(ctx, await path(round), { sourceName: "staff" })).counts;
    expect((await reimport(0)).created).toBe(60);
    expect((await reimport(1)).updated).toBe(60);
    const after = await size();
    for (let round = 2; round <= 5; round++) expect((await reimport(round)).updated).toBe(60);
    expect(await size()).toBeLessThanOrEqual(after);
  });

  it("dry run lists creates and updates with before and after, and writes nothing", async () => {
    const ctx = await newWorkspace();
    await importFile(ctx, fixture("basic.csv"));
    const path = await file("basic.csv", "Email,Full name,Department\nada@example.com,Ada King,Engineering\nnew@example.com,New Person,Sales\n");
    const before = await changeCount(ctx);
    const report = await importFile(ctx, path, { dryRun: true });
    expect(report).toMatchObject({ applied: false, dryRun: true, counts: { created: 1, updated: 1, unchanged: 0 } });
    expect(report.created).toEqual([{ row: 3, email: "new@example.com", userPrincipalName: null, displayName: "New Person" }]);
    expect(report.updated[0]).toMatchObject({ row: 2, email: "ada@example.com", changes: { displayName: { before: "Ada Lovelace", after: "Ada King" } } });
    expect(Object.keys(report.updated[0]!.changes)).toEqual(["displayName"]);
    expect(await changeCount(ctx)).toBe(before);
    expect((await getUser(ctx, "ada@example.com")).displayName).toBe("Ada Lovelace");
  });

  it("logs an update with only the fields that changed, before and after", async () => {
    const ctx = await newWorkspace();
    await importFile(ctx, fixture("basic.csv"));
    const path = await file(
      "basic.csv",
      "Email,Full name,Department,Mobile,Card number,Groups,PIN\n" +
        "ada@example.com,Ada King,Engineering,07911 123456,000999,Engineers; London,\n" +
        'grace@example.com,"Grace ""Amazing"" Hopper","Navy, Research",+1 202 555 0143,000124,Engineers,5678\n',
    );
    const report = await importFile(ctx, path);
    expect(report.counts).toMatchObject({ updated: 2, unchanged: 0 });
    const updates = await store.db.selectFrom("change_log").select(["subject", "before", "after"]).where("workspace_id", "=", ctx.workspace.id).where("action", "=", "update").orderBy("subject").execute();
    expect(updates).toEqual([
      { subject: "ada@example.com", before: { displayName: "Ada Lovelace", cardNumbers: ["000123"] }, after: { displayName: "Ada King", cardNumbers: ["000999"] } },
      // A PIN is logged in words, never its value or hash: Grace had none.
      { subject: "grace@example.com", before: { pin: null }, after: { pin: "changed" } },
    ]);
  });

  it("previews and logs a change of PIN alone, in words: set → changed, or none → changed", async () => {
    const ctx = await newWorkspace();
    await importFile(ctx, fixture("basic.csv"));
    const pins = await file("basic.csv", "Email,Full name,PIN\nada@example.com,Ada Lovelace,9876\ngrace@example.com,\"Grace \"\"Amazing\"\" Hopper\",5678\n");
    const preview = await importFile(ctx, pins, { dryRun: true });
    expect(preview.counts).toMatchObject({ updated: 2, unchanged: 0 });
    expect(preview.updated.map((u) => [u.email, u.changes])).toEqual([
      ["ada@example.com", { pin: { before: "set", after: "changed" } }],
      ["grace@example.com", { pin: { before: null, after: "changed" } }],
    ]);
    expect(JSON.stringify(preview)).not.toMatch(/9876|5678|scrypt|pending/);

    await importFile(ctx, pins);
    const logged = await store.db.selectFrom("change_log").select(["subject", "before", "after"]).where("workspace_id", "=", ctx.workspace.id).where("action", "=", "update").orderBy("subject").execute();
    expect(logged).toEqual([
      { subject: "ada@example.com", before: { pin: "set" }, after: { pin: "changed" } },
      { subject: "grace@example.com", before: { pin: null }, after: { pin: "changed" } },
    ]);
    // The same PINs again: nothing to preview.
    expect((await importFile(ctx, pins, { dryRun: true })).counts).toMatchObject({ updated: 0, unchanged: 2 });
  });

  it("is all or nothing by default, and --partial applies the valid rows and reports the rest", async () => {
    const ctx = await newWorkspace();
    const path = await file("staff.csv", "Email,Name,Mobile\ngood@example.com,Good,\nbad-email,Bad,\nphone@example.com,Phone,123\ngood@example.com,Twice,\nphone@example.com,Phone fixed,\n");
    const strict = await importFile(ctx, path);
    expect(strict.applied).toBe(false);
    expect(await userCount(ctx)).toBe(0);
    expect(strict.problems).toEqual([
      expect.objectContaining({ row: 3, column: "Email", field: "email", value: "bad-email" }),
      expect.objectContaining({ row: 4, column: "Mobile", field: "mobilePhone", value: "123" }),
      expect.objectContaining({ row: 5, column: "Email", field: "email", message: '"good@example.com" is also in row 2' }),
      // Row 4 is not imported, but it still names phone@example.com: row 6 does not take its place.
      expect.objectContaining({ row: 6, column: "Email", field: "email", message: '"phone@example.com" is also in row 4' }),
    ]);
    const partial = await importFile(ctx, path, { partial: true });
    expect(partial).toMatchObject({ applied: true, counts: { created: 1, invalid: 4 } });
    expect(await userCount(ctx)).toBe(1);
  });

  it("reads identifiers an HR export wrote as Excel text formulas (=\"00123\") without the formula", async () => {
    const ctx = await newWorkspace();
    const path = await file("payroll.csv", 'Email,Name,Employee ID,Card number\neq@example.com,EQ One,="00123","=""0042"""\n');
    expect(await importFile(ctx, path)).toMatchObject({ applied: true, problems: [] });
    const user = await store.db.selectFrom("users").select(["id", "employee_id"]).where("workspace_id", "=", ctx.workspace.id).executeTakeFirstOrThrow();
    expect(user.employee_id).toBe("00123");
    expect(await store.db.selectFrom("user_identifiers").select(["kind", "value"]).where("user_id", "=", user.id).execute()).toEqual([{ kind: "card", value: "0042" }]);
  });

  it("sums up a column of PINs, card numbers or employee IDs that Excel saved as numbers in one warning, not one per row (a numeric card file drowned the report)", async () => {
    const ctx = await newWorkspace();
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("Staff");
    sheet.addRow(["Email", "Name", "PIN", "Card number", "Employee ID"]);
    // Typed as 012345, 0042 and 00123 into cells of the General format: Excel saves the numbers 12345, 42 and 123.
    for (let i = 0; i < 30; i++) sheet.addRow([`num${i}@example.com`, `Typed as numbers ${i}`, 12345 + i, 42 + i, 123 + i]);
    // Saved as text, or as a number shown through a zero-padding format: nothing is lost, nothing to say.
    sheet.addRow(["text@example.com", "Typed as text", "012345", "0042", "00123"]);
    sheet.addRow(["padded@example.com", "Zero-padded", "", 143, ""]);
    sheet.getCell("D33").numFmt = "0000";
    // A PIN of 0042 read as 42 is too short: the problem at that row says why.
    sheet.addRow(["short@example.com", "Short PIN", 42, "", ""]);
    const path = join(dir, "numbers.xlsx");
    await workbook.xlsx.writeFile(path);

    const report = await importFile(ctx, path, { partial: true });
    const advice = "Format the column as Text in Excel, type the values again (or export them again as text), and import again";
    const lost = (what: string) => `holds numbers, not text, in 30 rows (rows 2, 3, 4, 5, 6, …): Excel drops the leading zeros of ${what} typed as a number (0042 is saved as 42), so any they had are lost. ${advice}`;
    const firstRows = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    expect(report.columnWarnings).toEqual([
      { column: "PIN", letter: "C", field: "pin", rows: 30, firstRows, message: lost("a PIN") },
      { column: "Card number", letter: "D", field: "cardNumbers", rows: 30, firstRows, message: lost("a card number") },
      { column: "Employee ID", letter: "E", field: "employeeId", rows: 30, firstRows, message: lost("an employee ID") },
    ]);
    expect(report.warnings).toEqual([]);
    expect(report.problems).toEqual([
      { row: 34, column: "PIN", field: "pin", message: "must be 4 to 12 digits long (C34 holds a number, not text: Excel drops the leading zeros of a PIN typed as a number (0042 is saved as 42), so any it had are lost. Format the column as Text in Excel, type the values again, and import again)" },
    ]);
    expect(JSON.stringify(report)).not.toContain("12345");
    expect(report.counts).toMatchObject({ created: 32, invalid: 1, warnings: 3 });
    expect(report.truncated).toBe(false);
    expect(await getUser(ctx, "padded@example.com")).toMatchObject({ cardNumbers: ["0143"] });

    // One row of numbers says so in the singular.
    const single = new ExcelJS.Workbook();
    single.addWorksheet("Staff").addRows([["Email", "Name", "Card number"], ["one@example.com", "One", 42], ["two@example.com", "Two", "0043"]]);
    await single.xlsx.writeFile(join(dir, "one-number.xlsx"));
    expect((await importFile(ctx, join(dir, "one-number.xlsx"), { dryRun: true })).columnWarnings).toEqual([
      expect.objectContaining({ column: "Card number", rows: 1, firstRows: [2], message: expect.stringMatching(/^holds numbers, not text, in 1 row \(row 2\): /) }),
    ]);
  });

  it("sums up the card numbers and employee IDs Excel saved as numbers that users keep with their leading zeros in the column's warning, not one warning per row (a re-imported card file drowned the report)", async () => {
    const ctx = await newWorkspace();
    await createUser(ctx, { email: "held@example.com", displayName: "Held", cardNumbers: ["0042"], employeeId: "00123" });
    await createUser(ctx, { email: "held2@example.com", displayName: "Held 2", cardNumbers: ["0043"], employeeId: "00124" });
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet("Staff").addRows([
      ["Email", "Name", "Card", "Employee ID"],
      ["held@example.com", "Held", 42, 123],
      ["held2@example.com", "Held 2", 43, 124],
      ["new@example.com", "New", 77, "E-9"],
    ]);
    const path = join(dir, "held.xlsx");
    await workbook.xlsx.writeFile(path);

    const report = await importFile(ctx, path);
    expect(report.warnings).toEqual([]);
    const advice = "Format the column as Text in Excel, type the values again (or export them again as text), and import again";
    expect(report.columnWarnings).toEqual([
      {
        column: "Card", letter: "C", field: "cardNumbers", rows: 3, firstRows: [2, 3, 4],
        message: `holds numbers, not text, in 3 rows (rows 2, 3, 4): Excel drops the leading zeros of a card number typed as a number (0042 is saved as 42). In 2 rows (rows 2, 3) it is one its user holds with them, and the user keeps it (row 2: 42 is card 0042); any the other rows had are lost. ${advice}`,
      },
      {
        column: "Employee ID", letter: "D", field: "employeeId", rows: 2, firstRows: [2, 3],
        message: "holds numbers, not text, in 2 rows (rows 2, 3): Excel drops the leading zeros of an employee ID typed as a number (0042 is saved as 42), but each is one its user holds with them, and the user keeps it (row 2: 123 is employee ID 00123). To keep the zeros in the file too, format the column as Text in Excel",
      },
    ]);
    expect(report.counts).toMatchObject({ created: 1, unchanged: 2, warnings: 2 });
    expect(await getUser(ctx, "held@example.com")).toMatchObject({ cardNumbers: ["0042"], employeeId: "00123" });
    expect(await getUser(ctx, "held2@example.com")).toMatchObject({ cardNumbers: ["0043"], employeeId: "00124" });
    expect(await getUser(ctx, "new@example.com")).toMatchObject({ cardNumbers: ["77"], employeeId: "E-9" });
  });

  it("warns once per column of phone numbers Excel saved as numbers, says at a row which number lost a 0 or a + it needs (they were stored wrong or refused unexplained), and which reading it took of one valid both with and without its 0", async () => {
    const ctx: WorkspaceContext = { db: store.db, workspace: await createWorkspace(store.db, { name: `ws${++seq}`, defaultCountry: "IT" }), actor: "test" };
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet("Staff").addRows([
      ["Email", "Name", "Mobile", "Office phone"],
      // 312 345 6789, an Italian mobile number, needs no 0: read as +393123456789, right, but worth a look.
      ["mobile@example.com", "Mobile", 3123456789, "+39 06 1234 5678"],
      ["mobile2@example.com", "Mobile 2", 3123456780, 3123456781],
      // 06 1234 5678, a Rome number typed as a number: 612345678, which is no Italian number without its 0.
      ["rome@example.com", "Rome", "", 612345678],
      // +49 30 123456, a German number typed as a number: 4930123456.
      ["berlin@example.com", "Berlin", 4930123456, ""],
      ["text@example.com", "Text", "0612345678", "+39 312 345 6782"],
    ]);
    const path = join(dir, "phones.xlsx");
    await workbook.xlsx.writeFile(path);

    const report = await importFile(ctx, path, { partial: true });
    const advice = "Format the column as Text in Excel, type the values again, and import again";
    const dropped = "Excel drops the leading 0 and the + of a phone number typed as a number";
    expect(report.problems).toEqual([
      { row: 4, column: "Office phone", field: "businessPhones", value: "612345678", message: `"612345678" is not a valid number for IT (D4 holds the number 612345678, not text: ${dropped}, and this one is not valid without its leading 0: it was 0612345678 (+390612345678). ${advice})` },
      { row: 5, column: "Mobile", field: "mobilePhone", value: "4930123456", message: `"4930123456" is not a valid number for IT (C5 holds the number 4930123456, not text: ${dropped}, and this one is not valid without its leading 0 or its +: it was 04930123456 (+3904930123456) or +4930123456. ${advice})` },
    ]);
    const check = "Format the column as Text in Excel, type the values again (or export them again as text), and import again";
    expect(report.columnWarnings).toEqual([
      { column: "Mobile", letter: "C", field: "mobilePhone", rows: 2, firstRows: [2, 3], message: `holds numbers, not text, in 2 rows (rows 2, 3): Excel drops the leading 0 and the + of a phone number typed as a number, so they were read as numbers of IT (row 2: 3123456789 as +393123456789): check that they are right. ${check}` },
      { column: "Office phone", letter: "D", field: "businessPhones", rows: 1, firstRows: [3], message: `holds numbers, not text, in 1 row (row 3): Excel drops the leading 0 and the + of a phone number typed as a number, so they were read as numbers of IT (row 3: 3123456781 as +393123456781): check that they are right. ${check}` },
    ]);
    // In Italy the 0 is part of the number: 312 345 6789 (a mobile) and 0312 345 6789 (a landline) are two numbers.
    const read = (cell: string, number: string) =>
      `${cell} holds the number ${number}, not text, valid both as it reads (+39${number}) and with the leading 0 Excel drops (0${number}, +390${number}): it was read as +39${number}. If it was 0${number}, format the column as Text in Excel, type it again, and import again`;
    expect(report.warnings).toEqual([
      { row: 2, column: "Mobile", field: "mobilePhone", value: "3123456789", message: read("C2", "3123456789") },
      { row: 3, column: "Mobile", field: "mobilePhone", value: "3123456780", message: read("C3", "3123456780") },
      { row: 3, column: "Office phone", field: "businessPhones", value: "3123456781", message: read("D3", "3123456781") },
    ]);
    expect(report.counts).toMatchObject({ created: 3, invalid: 2, warnings: 5 });
    expect(await getUser(ctx, "mobile2@example.com")).toMatchObject({ mobilePhone: "+393123456780", businessPhones: ["+393123456781"] });

    // Where the 0 is only a trunk prefix (France: 06 12 34 56 78 is +33 6 12 34 56 78) both readings are one number: nothing to say at the row.
    const paris: WorkspaceContext = { db: store.db, workspace: await createWorkspace(store.db, { name: `ws${++seq}`, defaultCountry: "FR" }), actor: "test" };
    const french = new ExcelJS.Workbook();
    french.addWorksheet("Staff").addRows([["Email", "Name", "Mobile"], ["paris@example.com", "Paris", 612345678]]);
    await french.xlsx.writeFile(join(dir, "paris.xlsx"));
    const frReport = await importFile(paris, join(dir, "paris.xlsx"), { dryRun: true });
    expect([frReport.warnings, frReport.columnWarnings.map((w) => w.column)]).toEqual([[], ["Mobile"]]);
  });

  it("refuses a card number, employee ID or PIN a spreadsheet saved in scientific notation (1.23457E+15), whose digits are gone (imported as it read)", async () => {
    const ctx = await newWorkspace();
    const path = await file("sci.csv", "Email,Name,Card number,Employee ID,PIN\na@example.com,A,1.23457E+15,,\nb@example.com,B,0042; 4.5E+11,,\nc@example.com,C,,\"1,2E+11\",\nd@example.com,D,,,1.2E+5\ne@example.com,E,1234567890123,E1.5E+3,\n");
    const report = await importFile(ctx, path, { partial: true });
    const lost = "in the scientific notation a spreadsheet shows a long number in, and its last digits are lost: format the column as Text in Excel, type";
    expect(report.problems).toEqual([
      { row: 2, column: "Card number", field: "cardNumbers", value: "1.23457E+15", message: `C2 holds 1.23457E+15 ${lost} the card number again, and import again (or save the file as .xlsx)` },
      { row: 3, column: "Card number", field: "cardNumbers", value: "4.5E+11", message: `C3 holds 4.5E+11 ${lost} the card number again, and import again (or save the file as .xlsx)` },
      { row: 4, column: "Employee ID", field: "employeeId", value: "1,2E+11", message: `D4 holds 1,2E+11 ${lost} the employee ID again, and import again (or save the file as .xlsx)` },
      { row: 5, column: "PIN", field: "pin", message: `E5 holds a number ${lost} the PIN again, and import again (or save the file as .xlsx)` },
    ]);
    expect(report.counts).toMatchObject({ created: 1, invalid: 4 });
    expect(await getUser(ctx, "e@example.com")).toMatchObject({ cardNumbers: ["1234567890123"], employeeId: "E1.5E+3" });
  });

  it("keeps a preferred language in its canonical case and names the cell of one that is no language tag", async () => {
    const ctx = await newWorkspace();
    const path = await file("languages.csv", "Email,Name,Preferred language\na@example.com,A,en-gb\nb@example.com,B,en_US\nc@example.com,C,\n");
    expect((await importFile(ctx, path)).problems).toEqual([
      { row: 3, column: "Preferred language", field: "preferredLanguage", value: "en_US", message: '"en_US" is not a language tag: write it as en-US' },
    ]);
    expect(await userCount(ctx)).toBe(0);
    await importFile(ctx, path, { partial: true });
    const users = await store.db.selectFrom("users").select(["email", "preferred_language"]).where("workspace_id", "=", ctx.workspace.id).orderBy("email").execute();
    expect(users).toEqual([{ email: "a@example.com", preferred_language: "en-GB" }, { email: "c@example.com", preferred_language: null }]);
  });

  it("refuses an address that is one user's email and another's userPrincipalName, in the file or in the directory", async () => {
    const ctx = await newWorkspace();
    const inFile = await file("roles.csv", "Email,UPN,Name\na@example.com,a@corp.example,A\nb@example.com,a@example.com,B\na@corp.example,,C\nd@example.com,d@example.com,D\n");
    const report = await importFile(ctx, inFile);
    expect(report.problems.map((p) => [p.row, p.column, p.field, p.message])).toEqual([
      [3, "UPN", "userPrincipalName", '"a@example.com" is also in row 2 (as its email)'],
      [4, "Email", "email", '"a@corp.example" is also in row 2 (as its userPrincipalName)'],
    ]);
    expect(await userCount(ctx)).toBe(0);

    await createUser(ctx, { email: "held@example.com", displayName: "Held" });
    const against = await importFile(ctx, await file("against.csv", "Email,UPN,Name\nnew@example.com,held@example.com,New\nother@example.com,other@example.com,Other\n"), { partial: true });
    expect(against.problems.map((p) => [p.row, p.field, p.message.match(/already belongs to Held <held@example.com>/)?.[0]])).toEqual([
      [2, "userPrincipalName", "already belongs to Held <held@example.com>"],
    ]);
    expect(against.counts).toMatchObject({ created: 1, invalid: 1 });
    expect((await getUser(ctx, "held@example.com")).userPrincipalName).toBeNull();
  });

  it("never drops a value no heading names: in a CSV file (an unquoted comma shifts the cells) a problem, in a workbook a warning", async () => {
    const ctx = await newWorkspace();
    const rows = [["x1@example.com", "Smith, John", "Ops", ""], ["x2@example.com", "Smith", " Jane", "Ops"], ["x3@example.com", "Three", "Ops", "", ""]];
    const csv = await file("shifted.csv", `Email,Display name,Department,\n${rows.map((r) => r.map((c) => (c.includes(",") ? `"${c}"` : c)).join(",")).join("\n")}\n`);
    const report = await importFile(ctx, csv);
    expect(report.applied).toBe(false);
    expect(report.problems).toEqual([
      { row: 3, column: "D (no heading)", field: "row", value: "Ops", message: expect.stringMatching(/^a value in a column without a heading \(the last is C\): a value holding the delimiter without double quotes moves/) },
    ]);
    expect(await userCount(ctx)).toBe(0);
    expect(await importFile(ctx, csv, { partial: true })).toMatchObject({ applied: true, counts: { created: 2, invalid: 1 } });
    expect(await getUser(ctx, "x3@example.com")).toMatchObject({ displayName: "Three", department: "Ops" });

    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet("Staff").addRows([["Email", "Display name", "Department"], ...rows.map((r) => (r[0] === "x2@example.com" ? [...r, "a note"] : r))]);
    const xlsx = join(dir, "notes.xlsx");
    await workbook.xlsx.writeFile(xlsx);
    const other = await newWorkspace();
    const read = await importFile(other, xlsx);
    expect(read).toMatchObject({ applied: true, counts: { created: 3, invalid: 0 } });
    expect(read.warnings).toEqual([
      { row: 3, column: "D (no heading)", field: "row", value: "Ops", message: "a value in a column without a heading, not imported; give the column a heading to import it" },
      { row: 3, column: "E (no heading)", field: "row", value: "a note", message: "a value in a column without a heading, not imported; give the column a heading to import it" },
    ]);
  });

  it("reads the headings below a report's title, and says which row it read when none maps", async () => {
    const path = await file("titled.csv", "Staff list 2024,,\nExported 1 March,,\n\nEmail,Display name,Dept\na@example.com,A,Ops\n");
    const report = await importFile(await newWorkspace(), path);
    expect(report).toMatchObject({ applied: true, counts: { created: 1, invalid: 0, warnings: 1 }, created: [{ row: 5, email: "a@example.com" }] });
    expect(report.warnings).toEqual([{ row: 1, column: null, field: "row", value: "Staff list 2024", message: "rows 1-2 above the headings (row 4) read as a title, not imported" }]);

    // A first row of several cells is the headings, however wrong: nothing below it is tried.
    const wide = await file("wide.csv", "Staff list,2024,March\nEmail,Display name,Dept\na@example.com,A,Ops\n");
    const error = await importFile(await newWorkspace(), wide).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "import_invalid", details: { reason: "columns", headerRow: 1 } });
    expect((error as Error).message).toMatch(/Not recognised: "Staff list", "2024", "March"\..* The headings were read from row 1, the first row that is not blank: if they are further down, delete the rows above them\.$/);
  });

  it("reads a Polish Excel export (BOM, semicolons, Polish headings, a decimal comma) and a Japanese one", async () => {
    const polish = await file("pracownicy.csv", "\uFEFFImię;Nazwisko;Adres e-mail;Dział;Stanowisko;Etat\r\nŁucja;Wiśniewska;lucja@example.pl;Księgowość;Główna księgowa;0,5\r\n");
    const ctx = await newWorkspace();
    const imported = await importFile(ctx, polish, { mapping: { Etat: "customAttributes.etat" } });
    expect(imported.counts).toMatchObject({ created: 1, invalid: 0 });
    expect(imported.file).toMatchObject({ encoding: "utf8", delimiter: ";" });
    expect(await getUser(ctx, "lucja@example.pl")).toMatchObject({
      displayName: "Łucja Wiśniewska", givenName: "Łucja", surname: "Wiśniewska", department: "Księgowość", jobTitle: "Główna księgowa", customAttributes: { etat: "0,5" },
    });
    const japanese = await file("shain.csv", "\uFEFF姓,名,メールアドレス,部署,社員番号\r\n山田,花子,hanako@example.jp,営業部,00123\r\n");
    expect((await importFile(ctx, japanese)).counts).toMatchObject({ created: 1, invalid: 0 });
    expect(await getUser(ctx, "hanako@example.jp")).toMatchObject({ displayName: "花子 山田", surname: "山田", givenName: "花子", department: "営業部", employeeId: "00123" });
  });

  it("says which delimiter split the headings when they hold another (as many commas as semicolons)", async () => {
    const path = await file("tied.csv", "Name, full;E-Mail\nAda Lovelace;ada@example.com\n");
    const error = await importFile(await newWorkspace(), path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "import_invalid", details: { reason: "columns", delimiter: "," } });
    expect((error as Error).message).toContain('The headings were split on the comma (","), and some hold a semicolon (";"): if the file is semicolon-separated, put the line sep=; above the headings, or save it again with one delimiter.');
    const declared = await file("declared.csv", "sep=;\nName, full;E-Mail\nAda Lovelace;ada@example.com\n");
    expect(await importFile(await newWorkspace(), declared, { mapping: { "Name, full": "displayName" }, dryRun: true })).toMatchObject({ counts: { created: 1 } });
  });

  it("imports a phone number given with an extension without it, and warns at that cell", async () => {
    const ctx = await newWorkspace();
    const path = await file("ext.csv", 'Email,Name,Mobile,Business phones\next@example.com,Ext,"+1 425 555 0100 ext. 123","+44 20 7946 0000 x42; +44 20 7946 0001"\nplain@example.com,Plain,07911 123456,\n');
    const report = await importFile(ctx, path);
    expect(report).toMatchObject({ applied: true, counts: { created: 2, invalid: 0, problems: 0, warnings: 2 }, problems: [] });
    expect(report.warnings).toEqual([
      { row: 2, column: "Mobile", field: "mobilePhone", value: "+1 425 555 0100 ext. 123", message: '"+1 425 555 0100 ext. 123" has the extension 123, which a phone number in E.164 cannot hold: kept +14255550100 without it' },
      { row: 2, column: "Business phones", field: "businessPhones", value: "+44 20 7946 0000 x42", message: expect.stringContaining("has the extension 42") },
    ]);
    expect(await getUser(ctx, "ext@example.com")).toMatchObject({ mobilePhone: "+14255550100", businessPhones: ["+442079460000", "+442079460001"] });
  });

  it("--partial with no valid row imports nothing: not applied, no source, no change, and a failure notification", async () => {
    const ctx = await newWorkspace();
    const sources = async () => (await store.db.selectFrom("sources").select("name").where("workspace_id", "=", ctx.workspace.id).execute()).map((s) => s.name);
    const allBad = await file("all-bad.csv", "Email,Name\nbad-email,Bad\nworse,Worse\n");
    const report = await importFile(ctx, allBad, { partial: true });
    expect(report).toMatchObject({ applied: false, partial: true, counts: { rows: 2, invalid: 2, created: 0, updated: 0 } });
    expect(await userCount(ctx)).toBe(0);
    expect(await sources()).toEqual([]);
    const [notice] = await listNotifications(store.db, ctx.workspace);
    expect(notice).toMatchObject({ title: "Import of all-bad.csv failed", body: expect.stringContaining("No row was valid") });

    // Rows that read well but each take a card another user holds, in batches applied while the file is read: rolled back.
    await createUser(ctx, { email: "hand@example.com", displayName: "By Hand", cardNumbers: ["1", "2", "3"] });
    const changes = await changeCount(ctx);
    const taken = await file("taken.csv", "Email,Name,Card\nu1@example.com,U1,1\nu2@example.com,U2,2\nu3@example.com,U3,3\n");
    const inBatches = await importFile(ctx, taken, { partial: true, batchRows: 1 });
    expect(inBatches).toMatchObject({ applied: false, counts: { rows: 3, invalid: 3, created: 0 } });
    expect(await userCount(ctx)).toBe(1);
    expect(await changeCount(ctx)).toBe(changes);
    expect(await sources()).toEqual([]);

    // One valid row is enough: the rest are reported and the import applies.
    const oneGood = await file("one-good.csv", "Email,Name,Card\nu1@example.com,U1,1\nu4@example.com,U4,4\n");
    expect(await importFile(ctx, oneGood, { partial: true, batchRows: 1 })).toMatchObject({ applied: true, counts: { created: 1, invalid: 1 } });
  });

  it("raises one notification for a failed import, none for a dry run or a successful one; the fixed file settles it", async () => {
    const ctx = await newWorkspace();
    const bad = await file("broken.csv", "Email,Name\nbad-email,Bad\n");
    await importFile(ctx, bad, { dryRun: true });
    expect(await listNotifications(store.db, ctx.workspace)).toEqual([]);
    await importFile(ctx, bad);
    const empty = await file("empty.csv", "Email,Name\n");
    await expect(importFile(ctx, empty)).rejects.toThrow(/no users/);
    await importFile(ctx, await file("fine.csv", "Email,Name\nfine@example.com,Fine\n"));
    const raised = await listNotifications(store.db, ctx.workspace);
    expect(raised.map((n) => n.title).sort()).toEqual(["Import of broken.csv failed", "Import of empty.csv failed"]);
    expect(raised.find((n) => n.title.includes("broken"))!.body).toContain("1 problem(s) in 1 row(s)");
    // The same file, fixed and imported, settles its failure ("fix the file and import it again"); another file's stays.
    await importFile(ctx, await file("broken.csv", "Email,Name\nmended@example.com,Mended\n"));
    expect((await listNotifications(store.db, ctx.workspace, { active: true })).map((n) => n.title)).toEqual(["Import of empty.csv failed"]);
    expect((await listNotifications(store.db, ctx.workspace)).find((n) => n.title.includes("broken"))).toMatchObject({ resolvedAt: expect.any(String) });
  });

  it("skips Entra-synced users' rows with a warning, takes over manual users only with --update-existing, and refuses taken cards", async () => {
    const ctx = await newWorkspace();
    await store.db.insertInto("users").values({ workspace_id: ctx.workspace.id, email: "synced@example.com", display_name: "Synced", source_type: "entra", source_name: "Contoso", custom_attributes: "{}" }).execute();
    const manual = await createUser(ctx, { email: "hand@example.com", displayName: "By Hand", cardNumbers: ["777", "888"] });
    // Kept when its Entra ID source was removed (core/source-removal.ts): manual, with the source's name.
    await store.db.insertInto("users").values({ workspace_id: ctx.workspace.id, email: "kept@example.com", display_name: "Kept", source_type: "manual", source_name: "Fabrikam", external_id: "obj-1", custom_attributes: "{}" }).execute();
    const path = await file("staff.csv", "Email,Name,Card\nsynced@example.com,Synced Changed,\nhand@example.com,Hand Changed,777\nother@example.com,Other,888\nkept@example.com,Kept Changed,\n");

    const refused = await importFile(ctx, path, { partial: true });
    expect(refused.problems.map((p) => [p.row, p.field, p.message.match(/by hand|already belongs|kept from Entra ID source "Fabrikam"/)?.[0]])).toEqual([
      [3, "email", "by hand"], [4, "cardNumbers", "already belongs"], [5, "email", 'kept from Entra ID source "Fabrikam"'],
    ]);
    // The synced user's row is no problem: the sync owns that user, so the import leaves it alone and says so.
    expect(refused.warnings).toEqual([expect.objectContaining({ row: 2, field: "email", message: expect.stringMatching(/^skipped: Synced <synced@example.com> is synced from Entra ID source "Contoso"/) })]);
    expect(refused.counts).toMatchObject({ created: 0, invalid: 3, synced: 1, skipped: 4 });

    // Taken over, By Hand keeps only 777: 888 moves to the new user.
    const takeover = await importFile(ctx, path, { updateExisting: true });
    expect(takeover).toMatchObject({ applied: true, problems: [], counts: { synced: 1, updated: 2, created: 1 } });
    const taken = await getUser(ctx, manual.id);
    expect(taken).toMatchObject({ displayName: "Hand Changed", source: { type: "import", name: "staff.csv" }, tags: ["Imported"], cardNumbers: ["777"] });
    expect((await getUser(ctx, "other@example.com")).cardNumbers).toEqual(["888"]);
    expect((await getUser(ctx, "synced@example.com")).displayName).toBe("Synced");
  });

  it("swaps or moves cards and aliases between users the import updates, and refuses a value its holder keeps", async () => {
    const ctx = await newWorkspace();
    const source = { sourceName: "ri" };
    const header = "Email,Display name,Department,Card,Aliases\n";
    const rows = (r1: string, r2: string) => file("ri.csv", `${header}r1@ri.com,R One,Ops,${r1}\nr2@ri.com,R Two,Ops,${r2}\n`);
    await importFile(ctx, await rows("0001,rone", "0002,rtwo"), source);
    const held = async () => [await getUser(ctx, "r1@ri.com"), await getUser(ctx, "r2@ri.com")].map((u) => [u.cardNumbers, u.aliases]);

    const swap = await rows("0002,RTWO", "0001,rone2");
    const preview = await importFile(ctx, swap, { ...source, dryRun: true });
    expect(preview).toMatchObject({ problems: [], counts: { updated: 2, invalid: 0 } });
    expect(await importFile(ctx, swap, source)).toMatchObject({ applied: true, problems: [], counts: { updated: 2 } });
    expect(await held()).toEqual([[["0002"], ["RTWO"]], [["0001"], ["rone2"]]]);
    const log = await store.db.selectFrom("change_log").select(["subject", "before", "after"]).where("workspace_id", "=", ctx.workspace.id).where("action", "=", "update").orderBy("subject").execute();
    expect(log).toEqual([
      { subject: "r1@ri.com", before: { aliases: ["rone"], cardNumbers: ["0001"] }, after: { aliases: ["RTWO"], cardNumbers: ["0002"] } },
      { subject: "r2@ri.com", before: { aliases: ["rtwo"], cardNumbers: ["0002"] }, after: { aliases: ["rone2"], cardNumbers: ["0001"] } },
    ]);

    // A move: R Two gives 0001 up for a new card, R One takes it. In batches of one row, the giver's row first.
    expect(await importFile(ctx, await rows("0001,RTWO", "0009,rone2"), source)).toMatchObject({ applied: true, counts: { updated: 2 } });
    const back = await file("back.csv", `${header}r2@ri.com,R Two,Ops,0003,rone2\nr1@ri.com,R One,Ops,0009,RTWO\n`);
    expect(await importFile(ctx, back, { ...source, batchRows: 1 })).toMatchObject({ applied: true, counts: { updated: 2 } });
    expect(await held()).toEqual([[["0009"], ["RTWO"]], [["0003"], ["rone2"]]]);

    // Held by a user the import does not change, or whose own row is refused (synced from Entra ID): still taken.
    await createUser(ctx, { email: "hand@ri.com", displayName: "By Hand", cardNumbers: ["0777"] });
    const synced = await store.db.insertInto("users").values({ workspace_id: ctx.workspace.id, email: "synced@ri.com", display_name: "Synced", source_type: "entra", source_name: "Contoso", custom_attributes: "{}" }).returning("id").executeTakeFirstOrThrow();
    await store.db.insertInto("user_identifiers").values({ workspace_id: ctx.workspace.id, kind: "card", key: "0555", value: "0555", user_id: synced.id, position: 0 }).execute();
    const taken = await file("taken.csv", `${header}r1@ri.com,R One,Ops,0777,RTWO\nr2@ri.com,R Two,Ops,0555,rone2\nsynced@ri.com,Synced,Ops,,\n`);
    const refused = await importFile(ctx, taken, { ...source, partial: true });
    expect(refused.problems.map((p) => [p.row, p.field, p.message.match(/^"\d+" already belongs to (By Hand|Synced)/)?.[1] ?? p.message])).toEqual([
      [2, "cardNumbers", "By Hand"], [3, "cardNumbers", "Synced"],
    ]);
    expect(refused.warnings.map((w) => [w.row, w.message.slice(0, 8)])).toEqual([[4, "skipped:"]]);
    expect(refused.counts).toMatchObject({ updated: 0, created: 0, invalid: 2, synced: 1 });
    expect(await held()).toEqual([[["0009"], ["RTWO"]], [["0003"], ["rone2"]]]);
  });

  it("swaps cards between users added by hand when the import takes them over", async () => {
    const ctx = await newWorkspace();
    const one = await createUser(ctx, { email: "r1@ri.com", displayName: "R One", cardNumbers: ["0001"], aliases: ["one"] });
    const two = await createUser(ctx, { email: "r2@ri.com", displayName: "R Two", cardNumbers: ["0002"], aliases: ["two"] });
    const swap = await file("swap.csv", "Email,Display name,Department,Card,Aliases\nr1@ri.com,R One,Ops,0002,two\nr2@ri.com,R Two,Ops,0001,one\n");
    expect(await importFile(ctx, swap, { updateExisting: true })).toMatchObject({ applied: true, problems: [], counts: { updated: 2 } });
    expect((await getUser(ctx, one.id)).cardNumbers).toEqual(["0002"]);
    expect((await getUser(ctx, two.id)).aliases).toEqual(["one"]);
  });

  it("imports identifiers without the invisible characters pasted into them: a re-import with the clean values updates the same user", async () => {
    const ctx = await newWorkspace();
    const pasted = await file("badges.csv", "Email,Name,Card,Employee ID\nzw@x.com\u200B,Zoe\u200DW,\u200B0042,\uFEFFE7\nsoft\u00ADhy@x.com,Hy,0043\u00A0,E8\n");
    expect(await importFile(ctx, pasted, { sourceName: "badges" })).toMatchObject({ applied: true, counts: { created: 2 } });
    expect(await getUser(ctx, "zw@x.com")).toMatchObject({ email: "zw@x.com", displayName: "Zoe\u200DW", cardNumbers: ["0042"], employeeId: "E7" });
    const clean = await file("badges.csv", "Email,Name,Card,Employee ID\nzw@x.com,Zoe W,0042,E7\nsofthy@x.com,Hy,0043,E8\n");
    expect(await importFile(ctx, clean, { sourceName: "badges" })).toMatchObject({ applied: true, problems: [], counts: { created: 0, updated: 1, unchanged: 1 } });
    expect(await userCount(ctx)).toBe(2);
  });

  it("treats users of another import file as a conflict unless --source names that file or --update-existing is given", async () => {
    const ctx = await newWorkspace();
    await importFile(ctx, fixture("basic.csv"));
    const path = await file("other.csv", "Email,Full name\nada@example.com,Ada from other\n");
    const refused = await importFile(ctx, path);
    expect(refused.problems[0]!.message).toContain('imported from "basic.csv"');
    const same = await importFile(ctx, path, { sourceName: "basic.csv" });
    expect(same.counts.updated).toBe(1);
    expect((await getUser(ctx, "ada@example.com")).source.name).toBe("basic.csv");
  });

  it("links groups, creates missing ones once, and on re-import drops only memberships of this import's own groups", async () => {
    const ctx = await newWorkspace();
    await createGroup(ctx, { name: "Handmade" });
    await importFile(ctx, fixture("basic.csv"));
    await addMember(ctx, "Handmade", "ada@example.com");
    const path = await file("basic.csv", "Email,Full name,Groups\nada@example.com,Ada Lovelace,engineers\n");
    const report = await importFile(ctx, path);
    expect(report.counts).toMatchObject({ updated: 1, groupsCreated: 0 });
    expect(report.updated[0]!.changes.groups).toEqual({ before: ["Engineers", "Handmade", "London"], after: ["Engineers", "Handmade"] });
    expect((await getUser(ctx, "ada@example.com")).groups).toEqual(["Engineers", "Handmade"]);
  });

  it("refuses to add members to an Entra-synced group", async () => {
    const ctx = await newWorkspace();
    await store.db.insertInto("groups").values({ workspace_id: ctx.workspace.id, name: "Synced Team", source_type: "entra", source_name: "Contoso" }).execute();
    const report = await importFile(ctx, await file("g.csv", "Email,Name,Groups\nx@example.com,X,synced team\n"));
    expect(report.problems[0]).toMatchObject({ row: 2, field: "groups", message: expect.stringContaining("synced from Entra ID") });

    // With --partial the refused row creates none of its other groups: a new one takes the spelling of a row that is imported.
    const partial = await importFile(ctx, await file("g.csv", "Email,Name,Groups\nx@example.com,X,synced team;team x\ny@example.com,Y,Team X\n"), { partial: true });
    expect(partial).toMatchObject({ applied: true, counts: { created: 1, invalid: 1 }, groupsCreated: ["Team X"] });
    expect((await getUser(ctx, "y@example.com")).groups).toEqual(["Team X"]);
  });

  it("checks a groups cell's names as a group made by hand is checked: a problem at that row and cell, nothing imported", async () => {
    const ctx = await newWorkspace();
    const id = "01a24e84-aff8-72f7-afd6-5d4714c80548";
    const csv = `Email,Name,Groups\na@example.com,A,Team A\nb@example.com,B,"""Night\nshift"", Team A"\nc@example.com,C,\u200b\nd@example.com,D,${id}\ne@example.com,E,Cafe\u0301\n`;
    const report = await importFile(ctx, await file("named.csv", csv));
    expect(report.applied).toBe(false);
    expect(report.problems.map((p) => [p.row, p.column, p.field, p.message])).toEqual([
      [3, "Groups", "groups", 'the group name "Night\\nshift" must be on one line, without tabs or other control characters'],
      [4, "Groups", "groups", 'the group name "\u200b" must hold a visible character'],
      [5, "Groups", "groups", `the group name "${id}" cannot be an id: groups are looked up by id or name, and this would read as an id; add a word to it`],
    ]);
    expect([await userCount(ctx), (await listGroups(ctx, {}, { limit: 10, offset: 0 })).total]).toEqual([0, 0]);

    // A line break typed in a workbook's cell (Alt+Enter) is the same problem; a decomposed name is stored composed.
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("Staff");
    sheet.addRows([["Email", "Name", "Groups"], ["a@example.com", "A", "Cafe\u0301; Team A"], ["b@example.com", "B", "Night\nshift"]]);
    const path = join(dir, "named.xlsx");
    await workbook.xlsx.writeFile(path);
    const fromSheet = await importFile(ctx, path);
    expect(fromSheet.problems.map((p) => [p.row, p.column, p.field])).toEqual([[3, "Groups", "groups"]]);
    expect(await userCount(ctx)).toBe(0);
    const fixed = await importFile(ctx, await file("named.csv", "Email,Name,Groups\na@example.com,A,Cafe\u0301; Team A\n"));
    expect(fixed.applied).toBe(true);
    expect((await getUser(ctx, "a@example.com")).groups).toEqual(["Caf\u00e9", "Team A"]);
  });

  it("keeps a PIN when its cell is blank and re-hashes only a changed PIN", async () => {
    const ctx = await newWorkspace();
    await importFile(ctx, await file("p.csv", "Email,Name,PIN\np@example.com,P,4321\n"));
    const hash = async () => (await store.db.selectFrom("users").select("pin_hash").where("email", "=", "p@example.com").executeTakeFirstOrThrow()).pin_hash!;
    const original = await hash();
    expect((await importFile(ctx, await file("p.csv", "Email,Name,PIN\np@example.com,P,\n"))).counts.unchanged).toBe(1);
    expect(await hash()).toBe(original);
    expect((await importFile(ctx, await file("p.csv", "Email,Name,PIN\np@example.com,P,9999\n"))).counts.updated).toBe(1);
    expect(await verifySecret("9999", await hash())).toBe(true);
  });

  // Files bigger than a batch are applied batch by batch while the rest is read, in one transaction.
  it("applies a file of several batches as one: later batches see earlier ones, and a late problem rolls everything back", async () => {
    const ctx = await newWorkspace();
    const manual = await createUser(ctx, { email: "hand@example.com", displayName: "By Hand", cardNumbers: ["999"] });
    const line = (i: number, name = `User ${i}`, card = String(i)) => `u${i}@example.com,${name},${card},${i % 2 ? "Team A" : "team a; Team B"}`;
    const csv = (lines: string[]) => file("batches.csv", ["Email,Name,Card,Groups", ...lines].join("\n"));
    const inBatches = (path: string, options: Partial<ImportOptions> = {}) => importFile(ctx, path, { batchRows: 3, ...options });
    const counts = async () => ({ users: await userCount(ctx), changes: await changeCount(ctx), staged: Number((await sql<{ n: string }>`select count(*)::text as n from import_rows`.execute(store.db)).rows[0]!.n) });
    const groupsOf = async (c: WorkspaceContext) => (await listGroups(c, {}, { limit: 10, offset: 0 })).items;
    const start = await counts();
    const eight = Array.from({ length: 8 }, (_, i) => line(i + 1));

    // A problem in the last batch (a taken card) stops a strict import after earlier batches were written: none stays.
    const late = await inBatches(await csv([...eight.slice(0, 7), line(8, "User 8", "999")]));
    expect(late).toMatchObject({ applied: false, counts: { created: 7, invalid: 1 }, problems: [expect.objectContaining({ row: 9, field: "cardNumbers" })] });
    expect(await counts()).toEqual(start);
    expect((await groupsOf(ctx)).map((g) => g.name)).toEqual([]);
    expect(await store.db.selectFrom("sources").select("id").where("workspace_id", "=", ctx.workspace.id).where("name", "=", "batches.csv").execute()).toEqual([]);
    // So does a file that turns out damaged after some batches were written.
    await expect(inBatches(await csv([...eight, 'u9@example.com,"Unclosed,9,Team A']))).rejects.toThrow(/never closed/);
    expect(await counts()).toEqual(start);
    // A dry run plans every batch and writes nothing.
    const dry = await inBatches(await csv(eight), { dryRun: true });
    expect(dry).toMatchObject({ applied: false, counts: { created: 8, groupsCreated: 2 } });
    expect(await counts()).toEqual(start);

    const first = await inBatches(await csv(eight));
    expect(first).toMatchObject({ applied: true, counts: { rows: 8, created: 8, groupsCreated: 2 } });
    expect(first.created.map((c) => c.row)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await counts()).toEqual({ users: start.users + 8, changes: start.changes + 8 + 2, staged: 0 });
    expect((await groupsOf(ctx)).map((g) => [g.name, g.memberCount])).toEqual([["Team A", 8], ["Team B", 4]]);

    // Rows 3 and 8 change, in the first and the last batch; the report shows each before its batch was written.
    const changed = eight.map((l, i) => (i === 1 || i === 6 ? line(i + 1, `Renamed ${i + 1}`) : l));
    const again = await inBatches(await csv(changed));
    expect(again).toMatchObject({ applied: true, counts: { created: 0, updated: 2, unchanged: 6 } });
    expect(again.updated.map((u) => [u.row, u.changes.displayName])).toEqual([[3, { before: "User 2", after: "Renamed 2" }], [8, { before: "User 7", after: "Renamed 7" }]]);
    const partial = await inBatches(await csv([...changed, line(9, "User 9", "999")]), { partial: true });
    expect(partial).toMatchObject({ applied: true, counts: { unchanged: 8, invalid: 1 } });
    expect((await getUser(ctx, manual.id)).cardNumbers).toEqual(["999"]);
    expect((await counts()).staged).toBe(0);
  });

  // Into an empty workspace the batches skip the lookups against users: the file's own repeats must still stop it.
  it("stops a first import into an empty workspace when a later batch repeats an earlier batch's email or card", async () => {
    const ctx = await newWorkspace();
    const csv = await file("first.csv", ["Email,Name,Card", "a@example.com,A,1", "b@example.com,B,2", "c@example.com,C,3", "A@example.com,A again,4", "d@example.com,D,2"].join("\n"));
    const report = await importFile(ctx, csv, { batchRows: 2 });
    expect(report).toMatchObject({ applied: false, counts: { created: 3, invalid: 2 } });
    expect(report.problems.map((p) => [p.row, p.field, p.message])).toEqual([
      [5, "email", '"A@example.com" is also in row 2'],
      [6, "cardNumbers", '"2" is also in row 3'],
    ]);
    expect(await userCount(ctx)).toBe(0);
    // The rest of the file, once fixed, goes in whole.
    const fixed = await importFile(ctx, await file("first.csv", ["Email,Name,Card", "a@example.com,A,1", "b@example.com,B,2", "c@example.com,C,3", "d@example.com,D,4"].join("\n")), { batchRows: 2 });
    expect(fixed).toMatchObject({ applied: true, counts: { created: 4 } });
    expect((await getUser(ctx, "d@example.com")).cardNumbers).toEqual(["4"]);
  });

  /** What an import wrote into `ctx`: its users with their cards, aliases and groups, its groups, its change log. */
  const written = async (ctx: WorkspaceContext) => {
    const ws = ctx.workspace.id;
    const { rows: users } = await sql<Record<string, unknown>>`
      SELECT u.email, u.user_principal_name, u.display_name, u.given_name, u.surname, u.department, u.job_title, u.employee_id, u.mobile_phone,
             u.business_phones, u.preferred_language, u.enabled, u.pin_hash, u.custom_attributes, u.source_type, u.source_name, s.name AS source, u.external_id, u.tags,
             array(SELECT i.kind || ':' || i.key || ':' || i.value || ':' || i.position FROM user_identifiers i WHERE i.user_id = u.id ORDER BY i.kind, i.position) AS identifiers,
             array(SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.member_user_id = u.id ORDER BY g.name) AS groups
      FROM users u JOIN sources s ON s.id = u.source_id WHERE u.workspace_id = ${ws} AND u.source_type = 'import' ORDER BY u.display_name`.execute(store.db);
    const { rows: groups } = await sql`SELECT g.name, g.source_type, g.source_name, s.name AS source FROM groups g LEFT JOIN sources s ON s.id = g.source_id WHERE g.workspace_id = ${ws} ORDER BY g.name`.execute(store.db);
    const { rows: changes } = await sql<Record<string, unknown>>`
      SELECT c.subject, c.action, c.before, c.after, c.actor, c.user_id IS NOT NULL AS of_user, c.group_id IS NOT NULL AS of_group
      FROM change_log c WHERE c.workspace_id = ${ws} AND c.actor LIKE '%(import staff)' ORDER BY c.id`.execute(store.db);
    return { users, groups, changes };
  };

  /** An empty workspace (its import is written directly) and one holding another user (its import is staged). */
  const emptyAndPopulated = async () => {
    const [first, beside] = [await newWorkspace(), await newWorkspace()];
    await createUser(beside, { email: "other@example.com", displayName: "Other" });
    return { first, beside };
  };

  // A first import writes its users straight into the tables; into a workspace that holds users, rows are staged
  // and applied with SQL. Both must leave the same directory and the same change log.
  it("writes a first import into an empty workspace exactly as the staged apply writes it beside other users", async () => {
    const csv = await file("both.csv", [
      "email,userPrincipalName,displayName,givenName,surname,department,jobTitle,employeeId,mobilePhone,businessPhones,preferredLanguage,enabled,aliases,cardNumbers,groups,tags,customAttributes.site,customAttributes.floor",
      `a@example.com,a@corp.example,Ada A,Ada,A,Eng,"C:\\Temp ""quoted""",E1,+447911123456,+442071234567,en-GB,true,Ada.A;a2,0001;0002,Team A;London,VIP;Imported,HQ,3`,
      "b@example.com,,Bob B,,,,,,,,,false,,0003,team a;Handmade,,,",
      ",c@corp.example,Cy C,,,Ops,,,,,,,,,London;New Team,,Tab\tin,",
      "d@example.com,,Di D,,,,,,,,,,,,,,,",
    ].join("\n"));
    const { first, beside } = await emptyAndPopulated();
    for (const ctx of [first, beside]) {
      await createGroup(ctx, { name: "HANDMADE" });
      const report = await importFile(ctx, csv, { batchRows: 2, sourceName: "staff" });
      expect(report).toMatchObject({ applied: true, counts: { created: 4, groupsCreated: 3 }, groupsCreated: ["London", "Team A", "New Team"] });
      expect(report.created.map((c) => c.row)).toEqual([2, 3, 4, 5]);
      expect("check" in report.timings, "only the staged import checks rows against users").toBe(ctx === beside);
    }
    // A dry run of a first import reports the same and writes nothing.
    const dry = await newWorkspace();
    await createGroup(dry, { name: "HANDMADE" });
    const preview = await importFile(dry, csv, { batchRows: 2, sourceName: "staff", dryRun: true });
    expect(preview).toMatchObject({ applied: false, counts: { created: 4, groupsCreated: 3 }, groupsCreated: ["London", "Team A", "New Team"] });
    expect([await userCount(dry), await changeCount(dry)]).toEqual([0, 1]);
    const direct = await written(first);
    expect(direct.users).toHaveLength(4);
    expect(direct.users[0]).toMatchObject({ display_name: "Ada A", job_title: 'C:\\Temp "quoted"', tags: ["Imported", "VIP"], custom_attributes: { site: "HQ", floor: "3" }, identifiers: ["alias:ada.a:Ada.A:0", "alias:a2:a2:1", "card:0001:0001:0", "card:0002:0002:1"] });
    expect(direct.users[1]).toMatchObject({ display_name: "Bob B", enabled: false, groups: ["HANDMADE", "Team A"], custom_attributes: {} });
    expect(direct.users[2]).toMatchObject({ display_name: "Cy C", custom_attributes: { site: "Tab\tin" } });
    expect(direct.changes.filter((c) => c.action === "create")).toHaveLength(4);
    expect(direct.changes.at(-1)).toMatchObject({ subject: "d@example.com", after: { email: "d@example.com", displayName: "Di D", cardNumbers: [], source: "import:staff" } });
    expect(direct).toEqual(await written(beside));
  });

  it("writes a first import without custom attributes, and with blank Enabled cells, as the staged apply does", async () => {
    const csv = await file("plain.csv", [
      "email,displayName,department,enabled,cardNumbers,groups",
      "a@example.com,Ada A,Eng,true,0001,Team A",
      "b@example.com,Bob B,,,0002,",
      'c@example.com,"Cy ""C""",Ops,false,,Team A;London',
    ].join("\n"));
    const { first, beside } = await emptyAndPopulated();
    for (const ctx of [first, beside]) await importFile(ctx, csv, { batchRows: 2, sourceName: "staff" });
    const direct = await written(first);
    expect(direct.changes.filter((c) => c.action === "create").map((c) => c.after)).toEqual([
      { email: "a@example.com", userPrincipalName: null, displayName: "Ada A", department: "Eng", enabled: true, cardNumbers: ["0001"], groups: ["Team A"], source: "import:staff" },
      { email: "b@example.com", userPrincipalName: null, displayName: "Bob B", department: null, enabled: null, cardNumbers: ["0002"], groups: [], source: "import:staff" },
      { email: "c@example.com", userPrincipalName: null, displayName: 'Cy "C"', department: "Ops", enabled: false, cardNumbers: [], groups: ["Team A", "London"], source: "import:staff" },
    ]);
    expect(direct).toEqual(await written(beside));
  });

  it("lets only one of two imports racing into the same empty workspace create its users; the other changes nothing", async () => {
    const ctx = await newWorkspace();
    const lines = Array.from({ length: 7 }, (_, i) => `r${i}@example.com,R ${i},${100 + i},Racers`);
    const race = await file("race.csv", ["Email,Name,Card,Groups", ...lines].join("\n"));
    // Both plan before either applies (batches of 3: each applies while it reads, in its own transaction).
    const outcomes = await Promise.allSettled([importFile(ctx, race, { batchRows: 3 }), importFile(ctx, race, { batchRows: 3 })]);
    const applied = outcomes.filter((o) => o.status === "fulfilled" && o.value.counts.created === 7);
    expect(applied).toHaveLength(1);
    for (const other of outcomes.filter((o) => !applied.includes(o))) {
      // Either it ran after the winner committed (and found everything unchanged) or it met the winner's rows
      // (its import source, its group or its users, whichever it reached first).
      if (other.status === "fulfilled") expect(other.value.counts).toMatchObject({ created: 0, unchanged: 7 });
      else expect(other.reason).toMatchObject({ code: "conflict", message: expect.stringMatching(/^This .+ is already another (source|group|user)'s \(changed at the same time\?\); try again$/) });
    }
    expect(await userCount(ctx)).toBe(7);
    expect((await listGroups(ctx, {}, { limit: 10, offset: 0 })).items.map((g) => [g.name, g.memberCount])).toEqual([["Racers", 7]]);
    expect((await getUser(ctx, "r6@example.com")).cardNumbers).toEqual(["106"]);
  });

  it("reports each phase in its own units and the apply step by step, each phase ending with done === total", async () => {
    const ctx = await newWorkspace();
    const reports: ImportProgress[] = [];
    await importFile(ctx, fixture("basic.csv"), { onProgress: (p) => reports.push(p) });
    const phases = reports.map((p) => p.phase).filter((phase, i, all) => phase !== all[i - 1]);
    expect(phases).toEqual(["reading", "checking", "hashing", "planning", "applying"]);
    const of = (phase: ImportProgress["phase"]) => reports.filter((p) => p.phase === phase).map(({ step, done, total }) => ({ step, done, total }));
    const size = (await stat(fixture("basic.csv"))).size;
    expect(of("reading").at(-1)).toEqual({ step: undefined, done: size, total: size });
    expect(of("hashing")).toEqual([{ step: undefined, done: 0, total: 1 }, { step: undefined, done: 1, total: 1 }]);
    const steps = ["groups", "updates", "new users", "change log", "cards", "memberships"];
    expect(of("applying")).toEqual([...steps.map((step, done) => ({ step, done, total: steps.length })), { step: undefined, done: steps.length, total: steps.length }]);
    for (const phase of phases) expect(of(phase).at(-1)).toMatchObject({ step: undefined, done: of(phase).at(-1)!.total });
    expect(reports.at(-1)!.rows).toBe(2);

    // A dry run stops after planning; an unchanged PIN still counts in hashing (checking it costs one scrypt too).
    const dry: ImportProgress[] = [];
    await importFile(ctx, fixture("basic.csv"), { dryRun: true, onProgress: (p) => dry.push(p) });
    expect(dry.map((p) => p.phase)).not.toContain("applying");
    expect(dry.filter((p) => p.phase === "hashing").at(-1)).toMatchObject({ done: 1, total: 1 });
  });

  it("imports Entra ID's bulk-create template: UPN as key, Block sign in inverted, office details as custom attributes", async () => {
    const ctx = await newWorkspace();
    const report = await importFile(ctx, fixture("entra-bulk-create.csv"));
    expect(report).toMatchObject({ file: { layout: "entra" }, counts: { created: 2 } });
    expect(report.columns.ignored[0]!.column).toBe("Initial password [passwordProfile] Required");
    const isabella = await getUser(ctx, "isabella@contoso.com");
    expect(isabella).toMatchObject({ userPrincipalName: "isabella@contoso.com", email: null, enabled: false, businessPhones: ["+14255550100"], customAttributes: { usageLocation: "US", officeLocation: "Building 4" } });
    expect((await getUser(ctx, "alain@contoso.com")).enabled).toBe(true);
  });

  it("imports an XLSX written by LibreOffice without losing leading zeros or digits", async () => {
    const ctx = await newWorkspace();
    const report = await importFile(ctx, fixture("libreoffice.xlsx"), { mapping: { "Employee ID": "employeeId", "Start date": "customAttributes.startDate" } });
    expect(report.counts.created).toBe(2);
    expect(await getUser(ctx, "ada@example.com")).toMatchObject({ cardNumbers: ["000123"], employeeId: "12345678901", mobilePhone: "+447911123456", customAttributes: { startDate: "2024-03-01" }, groups: ["Analysts", "Engineers"] });
    expect(await getUser(ctx, "grace@example.com")).toMatchObject({ cardNumbers: ["000042"], mobilePhone: "+447911123457" });
  });

  it("imports the rows a filter hides in a workbook like the others, with a warning on each", async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("Staff");
    sheet.addRows([["Email", "Display name", "Department"], ["shown@example.com", "Shown", "Sales"], ["hidden@example.com", "Hidden", "Ops"]]);
    sheet.getRow(3).hidden = true;
    const path = join(dir, "filtered.xlsx");
    await workbook.xlsx.writeFile(path);
    const ctx = await newWorkspace();
    const report = await importFile(ctx, path);
    expect(report).toMatchObject({ applied: true, counts: { created: 2, warnings: 1 } });
    expect(report.warnings).toEqual([{ row: 3, column: null, field: "row", message: expect.stringMatching(/^a row hidden in the sheet \(filtered out, or hidden by hand\) is imported like the others/) }]);
  });

  it("refuses a number Excel already rounded (more than 15 digits), at its cell; fifteen digits and text are kept whole", async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet("Staff").addRows([
      ["Email", "Display name", "Card", "Employee ID"],
      ["long@example.com", "Long", 123456789012345678, "E1"],
      ["ok@example.com", "Fifteen", 123456789012345, "123456789012345678"],
    ]);
    const path = join(dir, "long-numbers.xlsx");
    await workbook.xlsx.writeFile(path);
    const ctx = await newWorkspace();
    const report = await importFile(ctx, path, { partial: true });
    expect(report.problems).toEqual([
      { row: 2, column: "Card", field: "cardNumbers", value: expect.stringMatching(/^12345678901234\d+$/), message: "C2 holds a number longer than the 15 digits Excel keeps, so its last digits are already lost in the file: format the column as Text in Excel, type the number again, and import again" },
    ]);
    expect(await getUser(ctx, "ok@example.com")).toMatchObject({ cardNumbers: ["123456789012345"], employeeId: "123456789012345678" });
  });

  it.each(["header-only.csv", "blank-lines-only.csv", "garbage.bin", "zip-bomb.xlsx", "truncated.xlsx", "mixed-encodings.csv"])("imports nothing from %s", async (name) => {
    const ctx = await newWorkspace();
    const error = await importFile(ctx, fixture(name)).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RollcallError);
    expect(await userCount(ctx)).toBe(0);
    const staged = await store.db.executeQuery<{ n: number }>({ sql: "SELECT count(*)::int AS n FROM import_rows", parameters: [], query: { kind: "RawNode" } } as never);
    expect(staged.rows[0]!.n).toBe(0);
  });
});
