import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cliEngine, databaseForCli, seedDataFolder, engines, type TestStore } from "../support/db.ts";
import { bin, importProgressFrames, runCli, underTerminal } from "../support/cli.ts";
import type { ImportReport } from "../../src/core/imports.ts";
import ExcelJS from "exceljs";

const reportKeys = [
  "applied", "columnWarnings", "columns", "counts", "created", "dryRun", "file", "groupsCreated", "partial", "problems", "source", "timings", "truncated", "unchanged", "updateExisting", "updated", "warnings",
];

/**
 * The cases of the CLI's own behaviour (its flags, reports, messages and exit codes) run on cliEngine: PostgreSQL when
 * the run has one, PGlite otherwise. The import and export beneath them are tested on both engines in test/import, and
 * a CLI process opens PostgreSQL in a fraction of the seconds PGlite's start takes. A first import, its report and its
 * users, and the progress bars, drawn while the database works (on a thread of its own for PGlite), run on every engine.
 */

/**
 * `rollcall import` and `rollcall export` as a script or an admin runs them: a real process, exit codes, one JSON document.
 * Each test starts several processes (each opens the database), hence the generous timeout on a busy machine.
 */
describe.each(engines)("rollcall import / export (CLI) on %s", { timeout: 300_000 }, (engine) => {
  const cliCase = it.runIf(engine === cliEngine);
  let dir: string;
  let store: TestStore | undefined;
  let env: Record<string, string | undefined>;
  const cli = (...args: string[]) => runCli(args, { ...env, ROLLCALL_LOG_LEVEL: "silent" });
  const path = (name: string) => join(dir, name);
  const write = (name: string, text: string) => {
    writeFileSync(path(name), text);
    return path(name);
  };
  const emailsIn = async (workspace: string) => (await cli("users", "list", "--workspace", workspace, "--json")).json<{ email: string }[]>().map((u) => u.email);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-cli-import-"));
    env = { ROLLCALL_DATA_DIR: seedDataFolder(join(dir, "data")), DATABASE_URL: undefined };
    store = await databaseForCli(engine);
    if (store) env.DATABASE_URL = store.url;
    expect((await cli("workspaces", "add", "default-gb", "--default-country", "GB")).code).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("imports a file: exit 0 and one JSON report with the documented fields", async () => {
    const file = write("staff.csv", "Email,Full name,Mobile,Card number,Groups\nada@example.com,Ada Lovelace,07911 123456,000123,Engineers; London\ngrace@example.com,Grace Hopper,,000124,Engineers\n");
    const result = await cli("import", file, "--workspace", "default-gb", "--json");
    expect(result.code, result.stderr).toBe(0);
    const report = result.json<ImportReport>();
    expect(Object.keys(report).sort()).toEqual(reportKeys);
    expect(report).toMatchObject({
      file: { name: "staff.csv", format: "csv", encoding: "utf8", delimiter: ",", layout: "generic" },
      source: "staff.csv", dryRun: false, partial: false, applied: true,
      counts: { rows: 2, invalid: 0, problems: 0, created: 2, updated: 0, unchanged: 0, groupsCreated: 2 },
      created: [{ row: 2, email: "ada@example.com", displayName: "Ada Lovelace" }, { row: 3, email: "grace@example.com", displayName: "Grace Hopper" }],
      groupsCreated: ["Engineers", "London"], problems: [],
    });
    const users = (await cli("users", "list", "--workspace", "default-gb", "--json")).json<Record<string, unknown>[]>();
    expect(users.find((u) => u.email === "ada@example.com")).toMatchObject({ mobilePhone: "+447911123456", cardNumbers: ["000123"], source: { type: "import", name: "staff.csv" } });

    const again = await cli("import", file, "--workspace", "default-gb", "--json");
    expect(again.json<ImportReport>().counts).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
  });

  cliCase("--encoding reads an old HR system's DOS export (cp850) and names it in the report; an unknown encoding exits 2 with examples", async () => {
    const file = path("hr-dos.csv");
    // "Søren Müller" as a DOS program writes it: ø is 0x9B and ü 0x81 in code page 850.
    writeFileSync(file, Buffer.concat([Buffer.from("Email;Name\r\nsoren@example.dk;S"), Buffer.from([0x9b]), Buffer.from("ren M"), Buffer.from([0x81]), Buffer.from("ller\r\n")]));
    const human = await cli("import", file, "--encoding", "cp850", "--dry-run", "--workspace", "default-gb");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("hr-dos.csv (csv, cp850, \";\"-separated)");
    expect(human.stdout).toContain("+ row 2: Søren Müller <soren@example.dk>");
    const unknown = await cli("import", file, "--encoding", "dos-nordic", "--dry-run", "--workspace", "default-gb");
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toContain('error [invalid_input]: --encoding: "dos-nordic" is not a text encoding Rollcall knows; give one such as utf-8');
  });

  cliCase("--dry-run shows each update with before and after and changes nothing", async () => {
    const file = write("changed.csv", "Email,Full name\nada@example.com,Ada King\nnew@example.com,New Person\n");
    const result = await cli("import", file, "--source", "staff.csv", "--dry-run", "--workspace", "default-gb", "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({
      dryRun: true, applied: false, counts: { created: 1, updated: 1 },
      updated: [{ row: 2, email: "ada@example.com", changes: { displayName: { before: "Ada Lovelace", after: "Ada King" } } }],
    });
    const human = await cli("import", file, "--source", "staff.csv", "--dry-run", "--workspace", "default-gb");
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('displayName: "Ada Lovelace" → "Ada King"');
    expect(human.stdout).toContain("dry run: nothing was changed");
    const users = (await cli("users", "list", "--workspace", "default-gb", "--json")).json<{ email: string; displayName: string }[]>();
    expect(users.map((u) => [u.email, u.displayName]).sort()).toEqual([["ada@example.com", "Ada Lovelace"], ["grace@example.com", "Grace Hopper"]]);
  });

  cliCase("imports a phone number given with an extension without it, exits 0 and warns at the row", async () => {
    const file = write("ext.csv", 'Email,Full name,Mobile\next@example.com,Ext User,"07911 123456 ext. 77"\n');
    const human = await cli("import", file, "--workspace", "default-gb");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("1 row(s): 1 to create, 0 to update, 0 unchanged, 0 with problems, 1 warning(s)");
    expect(human.stdout).toContain('  warning, row 2, Mobile: mobilePhone "07911 123456 ext. 77" has the extension 77, which a phone number in E.164 cannot hold: kept +447911123456 without it');
  });

  cliCase("sums up an .xlsx column of card numbers or phone numbers saved as numbers in one warning each, not one per row", async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("Staff");
    sheet.addRow(["Email", "Full name", "Card", "Mobile"]);
    for (let i = 0; i < 12; i++) sheet.addRow([`card${i}@example.com`, `Card Holder ${i}`, 4200 + i, 7911123400 + i]);
    const file = path("numbers.xlsx");
    await workbook.xlsx.writeFile(file);
    const human = await cli("import", file, "--dry-run", "--workspace", "default-gb");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("12 row(s): 12 to create, 0 to update, 0 unchanged, 0 with problems, 2 warning(s)");
    expect(human.stdout).toContain(
      "  warning, column Card (C): holds numbers, not text, in 12 rows (rows 2, 3, 4, 5, 6, …): Excel drops the leading zeros of a card number typed as a number (0042 is saved as 42), so any they had are lost. Format the column as Text in Excel, type the values again (or export them again as text), and import again",
    );
    expect(human.stdout).toContain("  warning, column Mobile (D): holds numbers, not text, in 12 rows (rows 2, 3, 4, 5, 6, …): Excel drops the leading 0 and the + of a phone number typed as a number, so they were read as numbers of GB (row 2: 7911123400 as +447911123400): check that they are right.");
    expect(human.stdout).not.toContain("warning, row");
    const report = (await cli("import", file, "--dry-run", "--workspace", "default-gb", "--json")).json<ImportReport>();
    expect(report.columnWarnings.map((w) => [w.column, w.letter, w.field, w.rows, w.firstRows.length])).toEqual([["Card", "C", "cardNumbers", 12, 10], ["Mobile", "D", "mobilePhone", 12, 10]]);
    expect(report).toMatchObject({ warnings: [], counts: { warnings: 2 } });
  });

  cliCase("a file without a name column updates the users it matches and names each row that would add one without a name", async () => {
    const file = write("departments.csv", "Email,Department\nada@example.com,Research\nnobody@example.com,Ops\n");
    const human = await cli("import", file, "--source", "staff.csv", "--workspace", "default-gb");
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("2 row(s): 0 to create, 1 to update, 0 unchanged, 1 with problems");
    expect(human.stdout).toContain(
      "  ! row 3: displayName is missing, and this row would add a new user: the file has no name column (Display name, or First name and Last name), and the row matches no user by its email or userPrincipalName. Give this user's name (in a Display name column, or as a first and last name), or delete the row; rows that match a user keep that user's name",
    );
    const partial = await cli("import", file, "--source", "staff.csv", "--partial", "--workspace", "default-gb", "--json");
    expect(partial.json<ImportReport>()).toMatchObject({ applied: true, counts: { updated: 1, invalid: 1 } });
    const users = (await cli("users", "list", "--workspace", "default-gb", "--json")).json<{ email: string; displayName: string; department: string | null }[]>();
    expect(users.find((u) => u.email === "ada@example.com")).toMatchObject({ displayName: "Ada Lovelace", department: "Research" });
  });

  cliCase("--dry-run shows a change of PIN alone in words, never the PIN", async () => {
    const file = write("pins.csv", "Email,Full name,PIN\npin@example.com,Pin Holder,1357\n");
    expect((await cli("import", file, "--workspace", "default-gb")).code).toBe(0);
    write("pins.csv", "Email,Full name,PIN\npin@example.com,Pin Holder,2468\n");
    const human = await cli("import", file, "--dry-run", "--workspace", "default-gb");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("~ row 2: Pin Holder <pin@example.com>\n      pin: \"set\" → \"changed\"");
    expect(human.stdout).not.toContain("2468");
  });

  cliCase("without --partial a file with bad rows imports nothing and exits 1, naming each row, column and value", async () => {
    const file = write("bad.csv", "Email,Name,Mobile\ngood@example.com,Good,\nbad-email,Bad,\nphone@example.com,Phone,123\n");
    const result = await cli("import", file, "--workspace", "default-gb", "--json");
    expect(result.code).toBe(1);
    const report = result.json<ImportReport>();
    expect(report).toMatchObject({ applied: false, counts: { rows: 3, invalid: 2, problems: 2, created: 1 } });
    expect(report.problems).toEqual([
      { row: 3, column: "Email", field: "email", value: "bad-email", message: expect.stringContaining("not a valid email") },
      { row: 4, column: "Mobile", field: "mobilePhone", value: "123", message: expect.stringContaining("123") },
    ]);
    const human = await cli("import", file, "--workspace", "default-gb");
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("! row 3, Email: email");
    expect(human.stdout).toContain("! row 4, Mobile: mobilePhone");
    expect(human.stdout).toContain("nothing was imported");
    expect(await emailsIn("default-gb")).not.toContain("good@example.com");
  });

  cliCase("--partial imports the valid rows, reports the others and exits 0", async () => {
    const result = await cli("import", path("bad.csv"), "--partial", "--workspace", "default-gb", "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ applied: true, partial: true, counts: { created: 1, invalid: 2 }, problems: [{ row: 3 }, { row: 4 }] });
    expect(await emailsIn("default-gb")).toContain("good@example.com");
  });

  cliCase("--partial with no valid row imports nothing and exits 1, saying no row was valid", async () => {
    const file = write("all-bad.csv", "Email,Name\nbad-email,Bad\nworse,Worse\n");
    const result = await cli("import", file, "--partial", "--workspace", "default-gb", "--json");
    expect(result.code, result.stderr).toBe(1);
    expect(result.json()).toMatchObject({ applied: false, partial: true, counts: { rows: 2, invalid: 2, created: 0 } });
    const human = await cli("import", file, "--partial", "--workspace", "default-gb");
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("nothing was imported: no row was valid; fix the 2 problem(s) above and retry");
    expect(human.stdout).not.toContain("applied:");
  });

  cliCase("fails with a clear error on stderr and nothing on stdout for a missing or unreadable file", async () => {
    const missing = await cli("import", path("nope.csv"), "--workspace", "default-gb", "--json");
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe("");
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: "not_found", message: `Cannot read ${path("nope.csv")}: no such file` } });
    const noMapping = await cli("import", write("mapped.csv", "Email,Name\na@example.com,A\n"), "--mapping", path("nope.json"), "--workspace", "default-gb");
    expect([noMapping.code, noMapping.stdout, noMapping.stderr]).toEqual([3, "", expect.stringContaining(`Cannot read mapping file ${path("nope.json")}: no such file\n`)]);
    const garbage = await cli("import", write("garbage.csv", ""), "--workspace", "default-gb", "--json");
    expect(garbage.code).toBe(1);
    expect(JSON.parse(garbage.stderr)).toMatchObject({ error: { code: "import_invalid", message: "The file is empty." } });
    const sheet = await cli("import", write("sheetless.csv", "Email,Name\na@example.com,A\n"), "--sheet", "Staff", "--workspace", "default-gb", "--json");
    expect([sheet.code, JSON.parse(sheet.stderr).error]).toEqual([2, expect.objectContaining({ code: "invalid_input", message: expect.stringMatching(/^The file is CSV, which has no sheets/) })]);
    const folder = await cli("import", dirname(path("nope.csv")), "--workspace", "default-gb", "--json");
    expect([folder.code, folder.stdout, JSON.parse(folder.stderr).error.message]).toEqual([2, "", expect.stringMatching(/ is a folder: give the path of a CSV or Excel \(\.xlsx\) file$/)]);
    const noFile = await cli("import", "--workspace", "default-gb");
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain("give the CSV or .xlsx file");
  });

  cliCase.each(["csv", "xlsx"])("exports %s that imports back unchanged", async (format) => {
    const out = path(`export.${format}`);
    const result = await cli("export", "--format", format, "--out", out, "--source", "staff.csv", "--workspace", "default-gb", "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ format, out, users: 2, columns: expect.arrayContaining(["email", "displayName", "cardNumbers", "groups"]) });
    const bytes = readFileSync(out);
    if (format === "xlsx") expect(bytes.subarray(0, 2).toString()).toBe("PK");
    else expect(bytes.toString("utf8")).toContain("ada@example.com");
    const back = await cli("import", out, "--source", "staff.csv", "--workspace", "default-gb", "--json");
    expect(back.code, back.stderr).toBe(0);
    expect(back.json<ImportReport>().counts).toMatchObject({ rows: 2, created: 0, updated: 0, unchanged: 2 });
  });

  cliCase("exports to standard output with --out -, the same bytes as the file, the summary on standard error", async () => {
    const out = path("to-file.csv");
    expect((await cli("export", "--out", out, "--source", "staff.csv", "--workspace", "default-gb")).code).toBe(0);
    const piped = await cli("export", "--out", "-", "--source", "staff.csv", "--workspace", "default-gb");
    expect([piped.code, piped.stdout, piped.stderr]).toEqual([0, readFileSync(out, "utf8"), "exported 2 user(s) to standard output (csv, 18 columns)\n"]);
    const workbook = await cli("export", "--out", "-", "--format", "xlsx", "--source", "staff.csv", "--workspace", "default-gb");
    expect([workbook.code, workbook.stdout.slice(0, 2)]).toEqual([0, "PK"]);
    expect(existsSync("-")).toBe(false); // not a file named "-" in the working folder
  });

  cliCase("stops quietly and successfully when standard output's reader goes away (export --out - | head)", async () => {
    expect((await cli("workspaces", "add", "piped")).code).toBe(0);
    const rows = Array.from({ length: 1500 }, (_, i) => `piped${i}@example.com,Piped user number ${i} with a name long enough to pass a pipe's buffer`);
    expect((await cli("import", write("piped.csv", ["email,displayName", ...rows].join("\n")), "--workspace", "piped")).code).toBe(0);
    const shell = `set -o pipefail; "${process.execPath}" "${bin}" export --out - --workspace piped | head -c 100 > /dev/null`;
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", shell], { env: { ...process.env, ...env, ROLLCALL_LOG_LEVEL: "silent" } as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("close", (code) => resolve({ code, stderr }));
    });
    expect(result).toEqual({ code: 0, stderr: "" });
  });

  cliCase("exports only the users the filters match, the same ones `users list` gives", async () => {
    const filter = ["--source", "staff.csv", "--search", "ADA", "--enabled", "true", "--workspace", "default-gb"];
    const listed = await cli("users", "list", ...filter, "--json");
    expect(listed.json<{ email: string }[]>().map((u) => u.email)).toEqual(["ada@example.com"]);
    const out = path("ada.csv");
    const result = await cli("export", "--out", out, ...filter, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ users: 1 });
    expect(readFileSync(out, "utf8")).toContain("ada@example.com");
    const bad = await cli("export", "--out", out, "--enabled", "perhaps", "--workspace", "default-gb");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"perhaps" must be true or false');
  });

  cliCase("refuses an export filtered by a group or source the workspace does not have, as users list does, and writes no file", async () => {
    const result = await cli("export", "--out", path("nobody.csv"), "--group", "No Such Group", "--workspace", "default-gb", "--json");
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: "invalid_input", details: { fields: [{ field: "group", value: "No Such Group" }] } } });
    expect(existsSync(path("nobody.csv"))).toBe(false);
  });

  cliCase("refuses an export whose format it cannot tell, with exit 2", async () => {
    const result = await cli("export", "--out", path("users.pdf"), "--workspace", "default-gb", "--json");
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: "invalid_input" } });
  });

  it("draws a progress bar per phase on a terminal, the apply step by step, and none when standard error is not one", async () => {
    // 200 PINs (tens of ms of scrypt each) make the hashing phase last long enough to be seen part-way: it reports
    // each hundred done, so the bar stays at 50% for half of it.
    const lines = ["email,displayName,groups,pin", ...Array.from({ length: 3000 }, (_, i) => `bar${i}@example.com,Bar ${i},Bars,${i < 200 ? 1000 + i : ""}`)];
    const file = write("bars.csv", lines.join("\n") + "\n");
    const onTerminal = await underTerminal(["import", file, "--workspace", "default-gb"], { ...env, ROLLCALL_LOG_LEVEL: "silent" });
    expect(onTerminal.code, onTerminal.output).toBe(0);
    expect(onTerminal.output).toContain("applied: 3000 created");
    const frames = importProgressFrames(onTerminal.output);
    const changes = <T>(list: T[]) => list.filter((x, i) => x !== list[i - 1]);
    expect(changes(frames.map((f) => f.phase))).toEqual(["reading", "checking", "hashing", "planning", "applying"]);
    expect(frames.some((f) => f.phase === "reading" && f.rows > 0)).toBe(true);

    const hashing = frames.filter((f) => f.phase === "hashing").map((f) => f.percent);
    expect(hashing.some((p) => p > 0 && p < 100), hashing.join(" ")).toBe(true);
    expect(hashing.at(-1)).toBe(100);

    const applying = frames.filter((f) => f.phase === "applying");
    expect(changes(applying.map((f) => f.step))).toEqual(["groups", "updates", "new users", "change log", "memberships", ""]);
    const duringSteps = applying.filter((f) => f.step).map((f) => f.percent);
    expect(duringSteps).toEqual([...duringSteps].sort((a, b) => a - b));
    expect(Math.max(...duringSteps)).toBeLessThan(100);
    expect(applying.at(-1)).toEqual({ phase: "applying", step: "", percent: 100, rows: 3000 });

    const piped = await cli("import", write("bars2.csv", "email,displayName\nbar@example.com,Bar\n"), "--workspace", "default-gb");
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).not.toMatch(/reading|applying|█/);
  });
});
