import { readFileSync, rmSync, writeFileSync } from "node:fs";
import ExcelJS from "exceljs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDataFolder, engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { openTable } from "../../src/sources/import/open.ts";
import { expectError, signIn, testApi, type Caller, type TestApi } from "../api/support.ts";

const fixture = (name: string) => join(import.meta.dirname, "../fixtures/import", name);

function multipart(fileName: string, content: Buffer, fields: Record<string, string> = {}, fieldsAfter: Record<string, string> = {}): { payload: Buffer; headers: Record<string, string> } {
  const boundary = "----rollcall-test-boundary";
  const parts: Buffer[] = [];
  const field = (name: string, value: string) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  for (const [name, value] of Object.entries(fields)) parts.push(field(name, value));
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
  parts.push(content, Buffer.from("\r\n"));
  for (const [name, value] of Object.entries(fieldsAfter)) parts.push(field(name, value));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}

describe.each(engines)("import API on %s", (engine) => {
  let api: TestApi;
  let as: Caller & { session: { cookie: string; csrf: string } };
  const dataDir = freshDataFolder("rollcall-import-api-");
  const upload = async (fileName: string, content: Buffer, fields: Record<string, string> = {}, fieldsAfter: Record<string, string> = {}) => {
    const { payload, headers } = multipart(fileName, content, fields, fieldsAfter);
    const response = await api.app.inject({
      method: "POST",
      url: "/api/v1/workspaces/acme/imports",
      payload,
      headers: { ...headers, cookie: `rollcall_session=${as.session.cookie}`, "x-csrf-token": as.session.csrf },
    });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };

  beforeAll(async () => {
    api = await testApi(engine, { config: { dataDir, uploadLimitBytes: 64 * 1024 } });
    await createWorkspace(api.store.db, { name: "acme", defaultCountry: "GB" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("uploads, previews, previews again with other options, and commits", async () => {
    const uploaded = await upload("staff.csv", readFileSync(fixture("basic.csv")));
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({ fileName: "staff.csv", preview: { dryRun: true, applied: false, source: "staff.csv", counts: { created: 2 } } });
    const id = uploaded.body.id as string;

    const again = await as("GET", `workspaces/acme/imports/${id}?source=Staff%20list`);
    expect(again).toMatchObject({ status: 200, body: { source: "Staff list", counts: { created: 2 } } });

    const committed = await as("POST", `workspaces/acme/imports/${id}/commit`, { source: "Staff list" });
    expect(committed).toMatchObject({ status: 200, body: { applied: true, counts: { created: 2 } } });
    const users = await as("GET", "workspaces/acme/users?source=Staff%20list");
    expect(users.body.total).toBe(2);
    expect((await as("GET", `workspaces/acme/imports/${id}`)).body.error).toMatchObject({ code: "conflict", details: { imported: { counts: { created: 2 } } } });
  });

  it("keeps a file whose columns it cannot place, and previews and commits it with a mapping", async () => {
    const csv = Buffer.from("Mél professionnel,Nom affiché,Kostenstelle\nines@example.com,Inès Durand,4711\n");
    const refused = await upload("personnel.csv", csv);
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toContain('Not recognised: "Mél professionnel", "Kostenstelle".');
    expect(refused.body.error.details).toMatchObject({ reason: "columns", headers: ["Mél professionnel", "Nom affiché", "Kostenstelle"], unknownColumns: ["Mél professionnel", "Kostenstelle"], upload: { fileName: "personnel.csv" } });
    const id = refused.body.error.details.upload.id as string;

    const mapping = { "Mél professionnel": "email", Kostenstelle: "customAttributes.costCentre" };
    const preview = await as("GET", `workspaces/acme/imports/${id}?mapping=${encodeURIComponent(JSON.stringify(mapping))}`);
    expect(preview.body).toMatchObject({ counts: { created: 1 }, columns: { mapped: [{ column: "Mél professionnel", field: "email" }, { column: "Nom affiché", field: "displayName" }, { column: "Kostenstelle", field: "customAttributes.costCentre" }], unknown: [] } });
    expectError(await as("GET", `workspaces/acme/imports/${id}?mapping=${encodeURIComponent("{not json")}`), 400, "invalid_input", ["mapping"]);
    expectError(await as("GET", `workspaces/acme/imports/${id}?mapping=${encodeURIComponent(JSON.stringify({ Kostenstelle: "costCentre" }))}`), 400, "invalid_input", ["mapping.Kostenstelle"]);

    const committed = await as("POST", `workspaces/acme/imports/${id}/commit`, { mapping });
    expect(committed.body).toMatchObject({ applied: true, counts: { created: 1 } });
    const users = await as("GET", "workspaces/acme/users?source=personnel.csv");
    expect(users.body.items).toEqual([expect.objectContaining({ email: "ines@example.com", displayName: "Inès Durand", customAttributes: { costCentre: "4711" } })]);
    // Files the import refuses for other reasons are not kept.
    const empty = await upload("empty.csv", Buffer.from(""));
    expect(empty.body.error.details.upload).toBeUndefined();
  });

  it("reads the form fields sent after the file, and a later preview or commit starts from the upload's options", async () => {
    const rows = Array.from({ length: 600 }, (_, i) => `p${i}@example.com,Person ${i},${1000 + i}`);
    const csv = Buffer.from(`Mail address,Name,Badge\n${rows.join("\n")}\n`); // ~25 KB: the fields come well after the file's first chunk
    const mapping = JSON.stringify({ "Mail address": "email", Badge: "cardNumbers" });
    const uploaded = await upload("badges.csv", csv, {}, { source: "Badges", mapping });
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    expect(uploaded.body.preview).toMatchObject({ source: "Badges", counts: { created: 600 } });
    const id = uploaded.body.id as string;
    expect((await as("GET", `workspaces/acme/imports/${id}?updateExisting=true`)).body).toMatchObject({ source: "Badges", updateExisting: true, counts: { created: 600 } });
    const committed = await as("POST", `workspaces/acme/imports/${id}/commit`, {});
    expect(committed.body).toMatchObject({ applied: true, source: "Badges", counts: { created: 600 } });
    expect((await as("GET", "workspaces/acme/users?source=Badges&q=p599")).body.items[0]).toMatchObject({ cardNumbers: ["1599"] });
  });

  it("a commit without options applies what the latest preview showed, not the options sent with the file (preview-only options were lost)", async () => {
    const csv = Buffer.from("Email,Name,Badge\nlena@example.com,Lena Meyer,0815\nnot-an-email,Bad,0816\n");
    const uploaded = await upload("badges-2.csv", csv);
    expect(uploaded.body.preview).toMatchObject({ source: "badges-2.csv", partial: false, counts: { created: 1, invalid: 1 } });
    const id = uploaded.body.id as string;
    const mapping = JSON.stringify({ Badge: null });
    const previewed = await as("GET", `workspaces/acme/imports/${id}?source=Front%20desk&partial=true&mapping=${encodeURIComponent(mapping)}`);
    expect(previewed.body).toMatchObject({ source: "Front desk", partial: true, columns: { ignored: [{ column: "Badge" }] }, counts: { created: 1, invalid: 1 } });
    // A preview that gives one option keeps the others of the latest preview.
    expect((await as("GET", `workspaces/acme/imports/${id}?updateExisting=true`)).body).toMatchObject({ source: "Front desk", partial: true, updateExisting: true });

    const committed = await as("POST", `workspaces/acme/imports/${id}/commit`);
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    expect(committed.body).toMatchObject({ applied: true, source: "Front desk", partial: true, updateExisting: true, counts: { created: 1, invalid: 1 } });
    const users = await as("GET", "workspaces/acme/users?source=Front%20desk");
    expect(users.body.items).toEqual([expect.objectContaining({ email: "lena@example.com", cardNumbers: [] })]);
  });

  it("refuses a commit whose options differ from the latest preview's, naming them, and imports nothing", async () => {
    const uploaded = await upload("desk.csv", Buffer.from("Email,Name\nmax@example.com,Max Weber\n"), { source: "Desk" });
    const id = uploaded.body.id as string;
    expect((await as("GET", `workspaces/acme/imports/${id}?updateExisting=true`)).body).toMatchObject({ source: "Desk", updateExisting: true });

    const refused = await as("POST", `workspaces/acme/imports/${id}/commit`, { source: "Reception", updateExisting: false, partial: false });
    expectError(refused, 409, "import_preview_changed");
    expect(refused.body.error.details).toEqual({ differing: ["source", "updateExisting"], previewed: { source: "Desk", updateExisting: true }, given: { source: "Reception", updateExisting: false } });
    expect(refused.body.error.message).toContain("preview it again with these options");
    expect((await as("GET", "workspaces/acme/users?q=max%40example.com")).body.total).toBe(0);
    expect((await as("GET", `workspaces/acme/imports/${id}/progress`)).body).toEqual({ committing: false, progress: null });

    // Repeating the preview's options, all or some, commits them.
    expect(await as("POST", `workspaces/acme/imports/${id}/commit`, { source: "Desk", updateExisting: true })).toMatchObject({ status: 200, body: { applied: true, source: "Desk", counts: { created: 1 } } });
  });

  it("a preview goes back to a default with a blank source or sheet and an empty mapping, and the commit follows it", async () => {
    const csv = Buffer.from("Email,Name,Kostenstelle\nrita@example.com,Rita Levi,4711\n");
    const uploaded = await upload("defaults.csv", csv, { source: "Old name", mapping: JSON.stringify({ Kostenstelle: "customAttributes.costCentre" }) });
    expect(uploaded.body.preview).toMatchObject({ source: "Old name", columns: { unknown: [] } });
    const id = uploaded.body.id as string;
    const cleared = await as("GET", `workspaces/acme/imports/${id}?source=&sheet=&mapping=%7B%7D`);
    expect(cleared.body).toMatchObject({ source: "defaults.csv", columns: { unknown: ["Kostenstelle"] }, counts: { created: 1 } });
    // A preview refused shows nothing to commit: the commit keeps to the one before it.
    expectError(await as("GET", `workspaces/acme/imports/${id}?mapping=${encodeURIComponent(JSON.stringify({ Kostenstelle: "costCentre" }))}`), 400, "invalid_input", ["mapping.Kostenstelle"]);
    expect((await as("POST", `workspaces/acme/imports/${id}/commit`)).body).toMatchObject({ applied: true, source: "defaults.csv" });
    expect((await as("GET", "workspaces/acme/users?source=defaults.csv")).body.items).toEqual([expect.objectContaining({ email: "rita@example.com", customAttributes: {} })]);
  });

  it("reads a CSV file in the encoding named (upload field or preview), commits in it, and refuses an encoding it does not know", async () => {
    // "Jonas Žemaitė" as Windows' Baltic code page (1257) writes it: Ž is 0xDE and ė 0xEB, which 1252 reads as Þ and ë.
    const baltic = Buffer.concat([Buffer.from("Email,Name\njonas@example.lt,Jonas "), Buffer.from([0xde]), Buffer.from("emait"), Buffer.from([0xeb]), Buffer.from("\n")]);
    const uploaded = await upload("baltic.csv", baltic);
    expect(uploaded.body.preview.file).toMatchObject({ encoding: "windows-1252" });
    const id = uploaded.body.id as string;
    expectError(await as("GET", `workspaces/acme/imports/${id}?encoding=baltic`), 400, "invalid_input", ["encoding"]);
    expect((await as("GET", `workspaces/acme/imports/${id}?encoding=baltic`)).body.error.message).toContain('"baltic" is not a text encoding Rollcall knows; give one such as utf-8, utf-16le, windows-1250');
    const previewed = await as("GET", `workspaces/acme/imports/${id}?encoding=Windows-1257`);
    expect(previewed.body).toMatchObject({ file: { encoding: "windows-1257" }, created: [{ displayName: "Jonas Žemaitė" }] });
    // The same encoding however it is spelt is no change of options.
    expect((await as("POST", `workspaces/acme/imports/${id}/commit`, { encoding: "WINDOWS-1257" })).body).toMatchObject({ applied: true, file: { encoding: "windows-1257" } });
    expect((await as("GET", "workspaces/acme/users?q=jonas%40example.lt")).body.items).toEqual([expect.objectContaining({ displayName: "Jonas Žemaitė" })]);

    const sentWith = await upload("koi8.csv", Buffer.concat([Buffer.from("Email,Name\nivan@example.ru,"), Buffer.from("e9d7c1ce20f0c5d4d2cfd7", "hex"), Buffer.from("\n")]), { encoding: "koi8-r" });
    expect(sentWith.body.preview).toMatchObject({ file: { encoding: "koi8-r" }, created: [{ displayName: "Иван Петров" }] });
    expect((await as("POST", `workspaces/acme/imports/${sentWith.body.id}/commit`)).body).toMatchObject({ applied: true, created: [{ displayName: "Иван Петров" }] });
  });

  it("sums up an .xlsx column of PINs, card numbers and phones saved as numbers once per column, in the preview and the commit's report", async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("Staff");
    sheet.addRow(["Email", "Name", "PIN", "Card", "Mobile"]);
    for (let i = 0; i < 8; i++) sheet.addRow([`n${i}@example.com`, `Numbers ${i}`, 987650 + i, 4200 + i, 7911123400 + i]);
    // 4930123456 is no British number: its + was dropped, which the row's problem says.
    sheet.addRow(["berlin@example.com", "Berlin", "", "", 4930123456]);
    const uploaded = await upload("numbers.xlsx", Buffer.from(await workbook.xlsx.writeBuffer()), { partial: "true" });
    expect(uploaded.status).toBe(201);
    const summary = (column: string, letter: string, field: string) => ({ column, letter, field, rows: 8, firstRows: [2, 3, 4, 5, 6, 7, 8, 9], message: expect.stringMatching(/^holds numbers, not text, in 8 rows \(rows 2, 3, 4, 5, 6, …\): Excel drops the leading/) });
    const columnWarnings = [summary("PIN", "C", "pin"), summary("Card", "D", "cardNumbers"), summary("Mobile", "E", "mobilePhone")];
    expect(uploaded.body.preview).toMatchObject({ columnWarnings, warnings: [], counts: { created: 8, invalid: 1, warnings: 3 } });
    expect(uploaded.body.preview.problems).toEqual([
      expect.objectContaining({ row: 10, column: "Mobile", message: expect.stringContaining("E10 holds the number 4930123456, not text: Excel drops the leading 0 and the + of a phone number typed as a number, and this one is not valid without its +: it was +4930123456.") }),
    ]);
    expect(JSON.stringify(uploaded.body)).not.toContain("98765"); // a PIN is never shown
    const committed = await as("POST", `workspaces/acme/imports/${uploaded.body.id}/commit`, {});
    expect(committed).toMatchObject({ status: 200, body: { applied: true, columnWarnings, warnings: [], counts: { created: 8, warnings: 3 } } });
  });

  it("answers 422 import_invalid with the report when problems stop an all-or-nothing commit, and applies with partial", async () => {
    const uploaded = await upload("bad.csv", Buffer.from("Email,Name\nok@example.com,Ok\nnot-an-email,Bad\n"));
    expect(uploaded.body.preview.problems).toEqual([expect.objectContaining({ row: 3, column: "Email", value: "not-an-email" })]);
    const refused = await as("POST", `workspaces/acme/imports/${uploaded.body.id}/commit`, {});
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: "import_invalid", details: { report: { applied: false, counts: { invalid: 1 } } } });
    // The admins' notice (and its webhook) names the upload, which the API knows by that id.
    const notices = (await as("GET", "workspaces/acme/notifications")).body.items as { kind: string; subject: string; data: { importId: string } }[];
    expect(notices.find((n) => n.kind === "import_failed" && n.data.importId === uploaded.body.id)).toMatchObject({ subject: uploaded.body.id });
    // Partial was not what the admin was shown: previewed with it first, it is.
    expectError(await as("POST", `workspaces/acme/imports/${uploaded.body.id}/commit`, { partial: true }), 409, "import_preview_changed");
    expect((await as("GET", `workspaces/acme/imports/${uploaded.body.id}?partial=true`)).body).toMatchObject({ partial: true, counts: { created: 1, invalid: 1 } });
    const partial = await as("POST", `workspaces/acme/imports/${uploaded.body.id}/commit`, { partial: true });
    expect(partial.body).toMatchObject({ applied: true, counts: { created: 1, invalid: 1 } });
  });

  it("previews a Manager column's unknown manager at its cell, and commits the managers once the file is fixed", async () => {
    const bad = await upload("managers.csv", Buffer.from("Email,Name,Manager email\nmia@example.com,Mia,noone@example.com\nmo@example.com,Mo,mia@example.com\n"));
    expect(bad.body.preview.problems).toEqual([expect.objectContaining({ row: 2, column: "Manager email", field: "manager", value: "noone@example.com" })]);
    expect((await as("POST", `workspaces/acme/imports/${bad.body.id}/commit`, {})).status).toBe(422);
    const good = await upload("managers.csv", Buffer.from("Email,Name,Manager email\nmia@example.com,Mia,\nmo@example.com,Mo,mia@example.com\n"));
    expect(good.body.preview.problems).toEqual([]);
    expect(await as("POST", `workspaces/acme/imports/${good.body.id}/commit`, {})).toMatchObject({ status: 200, body: { applied: true, counts: { created: 2 } } });
    expect((await as("GET", "workspaces/acme/users/mo@example.com")).body.manager).toMatchObject({ email: "mia@example.com" });
  });

  it("answers 422 import_invalid when a partial commit finds no valid row, and keeps the upload", async () => {
    const uploaded = await upload("all-bad.csv", Buffer.from("Email,Name\nbad-email,Bad\nworse,Worse\n"), { partial: "true" });
    expect(uploaded.body.preview).toMatchObject({ partial: true, applied: false, counts: { rows: 2, invalid: 2 } });
    const refused = await as("POST", `workspaces/acme/imports/${uploaded.body.id}/commit`, {});
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: "import_invalid",
      message: expect.stringMatching(/^Nothing was imported: no row was valid/),
      details: { report: { partial: true, applied: false, counts: { created: 0, invalid: 2 } } },
    });
    expect((await as("GET", `workspaces/acme/imports/${uploaded.body.id}`)).status).toBe(200);
    // Neither its users nor its source were created.
    const listed = await as("GET", "workspaces/acme/users?source=all-bad.csv");
    expect(listed.body.error).toMatchObject({ code: "invalid_input", message: expect.stringContaining('no source is named "all-bad.csv"') });
  });

  it("reports a running commit's progress beside it, and refuses a second commit or a discard meanwhile", async () => {
    // 300 PINs take a second or more to hash (scrypt), long enough to watch the commit.
    const rows = Array.from({ length: 300 }, (_, i) => `watched${i}@example.com,Watched ${i},${String(100_000 + ((i * 7919) % 900_000))}`);
    const uploaded = await upload("watched.csv", Buffer.from(`Email,Name,PIN\n${rows.join("\n")}\n`));
    expect(uploaded.status).toBe(201);
    const id = uploaded.body.id as string;
    const progressOf = () => as("GET", `workspaces/acme/imports/${id}/progress`);
    expect(await progressOf()).toMatchObject({ status: 200, body: { committing: false, progress: null } });

    let finished = false;
    const commit = as("POST", `workspaces/acme/imports/${id}/commit`, {}).finally(() => (finished = true));
    const seen: { phase: string; done: number; total: number }[] = [];
    const refusals: number[] = [];
    while (!finished) {
      const state = await progressOf();
      if (state.status === 200 && state.body.committing && state.body.progress) {
        seen.push(state.body.progress);
        if (refusals.length === 0) {
          refusals.push((await as("POST", `workspaces/acme/imports/${id}/commit`, {})).status, (await as("DELETE", `workspaces/acme/imports/${id}`)).status);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect((await commit).body).toMatchObject({ applied: true, counts: { created: 300 } });
    expect(refusals).toEqual([409, 409]);
    expect(seen.some((p) => p.phase === "hashing" && p.total === 300 && p.done < 300)).toBe(true);
    expect((await progressOf()).body).toMatchObject({ committing: false, progress: null, imported: { counts: { created: 300 } } });
  }, 180_000);

  it("refuses a file over ROLLCALL_UPLOAD_LIMIT_MB with 413 and keeps nothing", async () => {
    const big = Buffer.from("Email,Name\n" + "x@example.com,X\n".repeat(8000));
    const refused = await upload("big.csv", big);
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe("payload_too_large");
  });

  it("answers clear errors for binary garbage and zip bombs and keeps no upload", async () => {
    const garbage = await upload("users.csv", readFileSync(fixture("garbage.bin")));
    expect([garbage.status, garbage.body.error.code]).toEqual([415, "unsupported_file"]);
    const bomb = await upload("users.xlsx", readFileSync(fixture("zip-bomb.xlsx")));
    expect([bomb.status, bomb.body.error.code]).toEqual([413, "payload_too_large"]);
  });

  it("downloads the template and an export that re-imports unchanged", async () => {
    const template = await api.app.inject({ method: "GET", url: "/api/v1/workspaces/acme/imports/template?format=csv", cookies: { rollcall_session: as.session.cookie } });
    expect(template.statusCode).toBe(200);
    expect(template.headers["content-type"]).toContain("text/csv");
    expect(template.body.replace(/^\uFEFF/, "").split("\r\n")[0]).toContain("email,userPrincipalName,displayName");

    const exported = await api.app.inject({ method: "GET", url: "/api/v1/workspaces/acme/exports?format=xlsx&source=Staff%20list", cookies: { rollcall_session: as.session.cookie } });
    expect(exported.statusCode).toBe(200);
    const path = join(dataDir, "export.xlsx");
    writeFileSync(path, exported.rawPayload);
    const table = await openTable(path);
    const rows = [];
    for await (const row of table.rows) rows.push(row.cells);
    expect(rows).toHaveLength(3);

    const reimport = await upload("export.xlsx", exported.rawPayload, { source: "Staff list" });
    expect(reimport.body.preview.counts).toMatchObject({ rows: 2, unchanged: 2, created: 0, updated: 0, invalid: 0 });
  });

  it("an export edited and uploaded back updates the user by its id where it is: one added by hand stays so", async () => {
    const created = await as("POST", "workspaces/acme/users", { email: "desk@example.com", displayName: "Front Desk", department: "Reception" });
    expect(created.status).toBe(201);
    const exported = await api.app.inject({ method: "GET", url: "/api/v1/workspaces/acme/exports?format=csv&source=manual", cookies: { rollcall_session: as.session.cookie } });
    expect(exported.headers["rollcall-columns"]).toMatch(/,rollcallId$/);
    expect(exported.body).toContain(`,${created.body.id}\r\n`);
    // Renamed and moved in the file: the id still says who it is.
    const edited = exported.body.replace("desk@example.com,", "frontdesk@example.com,").replace(",Reception,", ",Lobby,");
    const uploaded = await upload("users.csv", Buffer.from(edited));
    expect(uploaded.body.preview).toMatchObject({ problems: [], counts: { rows: 1, updated: 1, created: 0 } });
    // Only what the admin changed: neither the source nor the tags.
    expect(uploaded.body.preview.updated[0]).toEqual({
      row: 2, id: created.body.id, email: "desk@example.com", displayName: "Front Desk",
      changes: { email: { before: "desk@example.com", after: "frontdesk@example.com" }, department: { before: "Reception", after: "Lobby" } },
    });
    const committed = await as("POST", `workspaces/acme/imports/${uploaded.body.id}/commit`, {});
    expect(committed).toMatchObject({ status: 200, body: { applied: true, counts: { updated: 1 } } });
    const user = await as("GET", `workspaces/acme/users/${created.body.id}`);
    expect(user.body).toMatchObject({ email: "frontdesk@example.com", department: "Lobby", source: { type: "manual" } });
  });

  it("exports only the users the Users page's filters match, and refuses a filter it cannot read", async () => {
    const get = (query: string) => api.app.inject({ method: "GET", url: `/api/v1/workspaces/acme/exports?format=csv&${query}`, cookies: { rollcall_session: as.session.cookie } });
    const listed = await as("GET", "workspaces/acme/users?q=in%C3%A8s&limit=500");
    const exported = await get("q=in%C3%A8s");
    expect(exported.statusCode).toBe(200);
    expect(exported.headers["rollcall-users"]).toBe(String(listed.body.total));
    expect(listed.body.total).toBe(1);
    expect(exported.body).toContain("ines@example.com");
    expect(exported.body.trim().split("\r\n")).toHaveLength(2);

    const bad = await get("enabled=maybe");
    expect([bad.statusCode, bad.body]).toEqual([400, expect.stringContaining("enabled")]);
  });
});
