import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, freshDataFolder } from "../support/db.ts";
import { bin } from "../support/cli.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { stopCommitsHere } from "../../src/core/upload-commits.ts";
import { RollcallError } from "../../src/errors.ts";
import { multipartFile, signIn, testApi, type Caller, type TestApi } from "../api/support.ts";

/**
 * A file whose commit spends a second or more hashing its PINs (scrypt, tens of ms each, four at a time), long enough
 * to watch the commit and stop it mid-way (a stopped commit hashes no PIN more, and rolls back). This process
 * sees its own commit's progress at once; another process sees it in the database, written at most once a second as
 * the hashing reports each hundred PINs done (upload-commits.ts), hence more PINs there. Each PIN more costs every
 * full commit of the file.
 */
const watchedHere = 100;
const watchedElsewhere = 300;
const slowCsv = (rows: number, who = "watched") => `Email,Name,PIN\n${Array.from({ length: rows }, (_, i) => `${who}${i}@example.com,Watched ${i},${String(100_000 + ((i * 7919) % 900_000))}`).join("\n")}\n`;

describe.each(engines)("import uploads in the database on %s", (engine) => {
  let api: TestApi;
  let as: Caller & { session: { cookie: string; csrf: string } };
  const dataDir = freshDataFolder("rollcall-uploads-");

  const upload = async (fileName: string, csv: string | Buffer) => {
    const { payload, headers } = multipartFile(fileName, csv);
    const response = await api.app.inject({ method: "POST", url: "/api/v1/workspaces/acme/imports", payload, headers: { ...headers, cookie: `rollcall_session=${as.session.cookie}`, "x-csrf-token": as.session.csrf } });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };
  const stored = async () => {
    const { rows } = await sql<{ uploads: number; chunks: number }>`select (select count(*)::int from import_uploads) as uploads, (select count(*)::int from import_upload_chunks) as chunks`.execute(api.store.db);
    return rows[0];
  };

  beforeAll(async () => {
    api = await testApi(engine, { config: { dataDir, uploadLimitBytes: 4 * 1024 * 1024 } });
    await createWorkspace(api.store.db, { name: "acme" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps a file of several chunks whole, and nothing in the data folder", async () => {
    // About 2.6 MB: three chunks of up to 1 MB, split mid-row.
    const rows = Array.from({ length: 40_000 }, (_, i) => `chunked${i}@example.com,Chunked person number ${i} of the big file`);
    const uploaded = await upload("big.csv", `Email,Name\n${rows.join("\n")}\n`);
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    expect(uploaded.body.preview).toMatchObject({ counts: { created: 40_000, invalid: 0 } });
    expect(await stored()).toEqual({ uploads: 1, chunks: 3 });
    expect(existsSync(join(dataDir, "uploads"))).toBe(false);
    const again = await as("GET", `workspaces/acme/imports/${uploaded.body.id}`);
    expect(again.body).toMatchObject({ counts: { created: 40_000, invalid: 0 } });
    expect(await as("DELETE", `workspaces/acme/imports/${uploaded.body.id}`)).toMatchObject({ status: 204 });
    expect(await stored()).toEqual({ uploads: 0, chunks: 0 });
  });

  it("keeps nothing of a refused file", async () => {
    const tooBig = await upload("huge.csv", `Email,Name\n${"x@example.com,X\n".repeat(300_000)}`);
    expect([tooBig.status, tooBig.body.error.code]).toEqual([413, "payload_too_large"]);
    const garbage = await upload("users.csv", readFileSync(join(import.meta.dirname, "../fixtures/import/garbage.bin")));
    expect(garbage.status).toBe(415);
    expect(await stored()).toEqual({ uploads: 0, chunks: 0 });
  });

  it("forgets an upload a day old", async () => {
    const uploaded = await upload("late.csv", "Email,Name\nlate@example.com,Late\n");
    await api.store.db.updateTable("import_uploads").set({ expires_at: new Date(Date.now() - 1000) }).execute();
    expect((await as("GET", `workspaces/acme/imports/${uploaded.body.id}`)).body.error).toMatchObject({ code: "not_found" });
    expect(await stored()).toEqual({ uploads: 0, chunks: 0 });
  });

  it("refuses a commit while another process's commit holds the upload, and takes it over once that one's lease runs out", async () => {
    const uploaded = await upload("held.csv", "Email,Name\nheld@example.com,Held\n");
    const id = uploaded.body.id as string;
    // As a commit in a process that died mid-way leaves it.
    const hold = (until: string) => sql`update import_uploads set committing_by = 'a-process-that-died', committing_until = now() + ${until}::interval, progress = ${JSON.stringify({ phase: "hashing", rows: 1, done: 0, total: 1 })}::jsonb where id = ${id}`.execute(api.store.db);
    await hold("1 minute");
    expect((await as("GET", `workspaces/acme/imports/${id}/progress`)).body).toEqual({ committing: true, progress: { phase: "hashing", rows: 1, done: 0, total: 1 } });
    expect((await as("POST", `workspaces/acme/imports/${id}/commit`, {})).body.error).toMatchObject({ code: "conflict" });
    expect((await as("DELETE", `workspaces/acme/imports/${id}`)).body.error).toMatchObject({ code: "conflict" });
    await hold("-1 second");
    expect((await as("GET", `workspaces/acme/imports/${id}/progress`)).body).toEqual({ committing: false, progress: null });
    expect(await as("POST", `workspaces/acme/imports/${id}/commit`, {})).toMatchObject({ status: 200, body: { applied: true, counts: { created: 1 } } });
  });

  it("a commit sent again is told the file was imported, when and by whom, and imports nothing twice", async () => {
    const id = (await upload("once.csv", "Email,Name\nonce@example.com,Once\n")).body.id as string;
    expect(await as("POST", `workspaces/acme/imports/${id}/commit`, {})).toMatchObject({ status: 200, body: { applied: true, counts: { created: 1 } } });
    const again = await as("POST", `workspaces/acme/imports/${id}/commit`, {});
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: "conflict", details: { key: id, imported: { by: "owner@example.com", counts: { created: 1 } } } });
    expect(again.body.error.message).toMatch(/^once\.csv was already imported, at \d{4}-.* by owner@example\.com \(1 created\); upload the file again to import it again$/);
    expect((await as("GET", `workspaces/acme/imports/${id}`)).status).toBe(409);
    expect((await as("GET", `workspaces/acme/imports/${id}/progress`)).body).toMatchObject({ committing: false, imported: { by: "owner@example.com" } });
    // Its file is gone at once; the note, when the upload expires.
    const { rows } = await sql<{ chunks: number }>`select count(*)::int as chunks from import_upload_chunks where upload_id = ${id}`.execute(api.store.db);
    expect(rows[0]!.chunks).toBe(0);
    expect(await as("DELETE", `workspaces/acme/imports/${id}`)).toMatchObject({ status: 204 });
    expect((await as("GET", `workspaces/acme/imports/${id}/progress`)).status).toBe(404);
  });

  it("a commit stopped with its server rolls back, says so, and can be committed again at once", async () => {
    const id = (await upload("stopped.csv", slowCsv(watchedHere))).body.id as string;
    let finished = false;
    const commit = as("POST", `workspaces/acme/imports/${id}/commit`, {}).finally(() => (finished = true));
    // What a stopping `rollcall serve` does, once the commit is hashing its PINs.
    while (!finished && (await as("GET", `workspaces/acme/imports/${id}/progress`)).body.progress?.phase !== "hashing") await new Promise((r) => setTimeout(r, 10));
    stopCommitsHere(new RollcallError("server_stopping", "stopped by the test"));
    expect(await commit).toMatchObject({ status: 503, body: { error: { code: "server_stopping", message: "stopped by the test" } } });
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users where email like 'watched%'`.execute(api.store.db);
    expect(rows[0]!.n).toBe(0);
    expect((await as("GET", `workspaces/acme/imports/${id}/progress`)).body).toEqual({ committing: false, progress: null });
    expect(await as("POST", `workspaces/acme/imports/${id}/commit`, {})).toMatchObject({ status: 200, body: { applied: true, counts: { created: watchedHere } } });
  }, 180_000);
});

describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("import uploads across two server processes on one PostgreSQL", () => {
  let api: TestApi;
  let server: ChildProcess | undefined;
  let serving: Promise<string>;
  const dataDirs = [freshDataFolder("rollcall-uploads-a-"), mkdtempSync(join(tmpdir(), "rollcall-uploads-b-"))];
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((resolve) => server!.once("exit", resolve));
    }
    await api?.close();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    api = await testApi("postgres", { config: { dataDir: dataDirs[0] } });
    await createWorkspace(api.store.db, { name: "acme" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    server = spawn(process.execPath, [bin, "serve", "--port", "0"], {
      env: { ...process.env, DATABASE_URL: api.store.url, ROLLCALL_DATA_DIR: dataDirs[1], ROLLCALL_HOST: "127.0.0.1", ROLLCALL_LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    serving = new Promise<string>((resolve, reject) => {
      let stderr = "";
      server!.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const url = /Rollcall is serving (\S+)/.exec(stderr);
        if (url) resolve(url[1]!);
      });
      server!.once("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    serving.catch(() => {}); // awaited by each test
  }, 180_000);

  /** Process A: in this test. Process B: the child, reached over HTTP with the same session. */
  const processes = async () => {
    const url = await serving;
    const a = await signIn(api.app, "owner@example.com", "owner password 1");
    const b: Caller = async (method, path, body) => {
      const response = await fetch(`${url}/api/v1/${path}`, {
        method,
        headers: { cookie: `rollcall_session=${a.session.cookie}`, "x-csrf-token": a.session.csrf, ...(body !== undefined && { "content-type": "application/json" }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: { connection: response.headers.get("connection") } };
    };
    const upload = async (fileName: string, who?: string) => {
      const { payload, headers } = multipartFile(fileName, slowCsv(watchedElsewhere, who));
      const sent = await api.app.inject({ method: "POST", url: "/api/v1/workspaces/acme/imports", payload, headers: { ...headers, cookie: `rollcall_session=${a.session.cookie}`, "x-csrf-token": a.session.csrf } });
      expect(sent.statusCode, sent.body).toBe(201);
      return JSON.parse(sent.body).id as string;
    };
    return { a, b, upload };
  };

  it("previews, commits and follows on one process an upload sent to the other", async () => {
    const { a, b, upload } = await processes();
    const id = await upload("watched.csv");
    expect(await b("GET", `workspaces/acme/imports/${id}`)).toMatchObject({ status: 200, body: { counts: { created: watchedElsewhere } } });

    let finished = false;
    const commit = b("POST", `workspaces/acme/imports/${id}/commit`, {}).finally(() => (finished = true));
    const seen: { phase: string; done: number; total: number }[] = [];
    const refusals: string[] = [];
    while (!finished) {
      const state = await a("GET", `workspaces/acme/imports/${id}/progress`);
      if (state.status === 200 && state.body.committing) {
        if (state.body.progress) seen.push(state.body.progress);
        if (refusals.length === 0) {
          refusals.push((await a("POST", `workspaces/acme/imports/${id}/commit`, {})).body.error.code, (await a("DELETE", `workspaces/acme/imports/${id}`)).body.error.code);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await commit).body).toMatchObject({ applied: true, counts: { created: watchedElsewhere } });
    expect(refusals).toEqual(["conflict", "conflict"]);
    expect(seen.some((p) => p.phase === "hashing" && p.total === watchedElsewhere && p.done < watchedElsewhere)).toBe(true);
    expect((await a("GET", `workspaces/acme/imports/${id}/progress`)).body).toMatchObject({ committing: false, progress: null, imported: { counts: { created: watchedElsewhere } } });
    expect((await a("GET", "workspaces/acme/users?source=watched.csv")).body.total).toBe(watchedElsewhere);
  }, 120_000);

  it("a server stopped (SIGTERM) while it commits an upload rolls it back and frees it: the other process commits it at once", async () => {
    const { a, b, upload } = await processes();
    const id = await upload("interrupted.csv", "interrupted");
    let finished = false;
    const commit = b("POST", `workspaces/acme/imports/${id}/commit`, {}).finally(() => (finished = true));
    while (!finished && (await a("GET", `workspaces/acme/imports/${id}/progress`)).body.progress?.phase !== "hashing") await new Promise((r) => setTimeout(r, 10));
    const exited = new Promise<number | null>((resolve) => server!.once("exit", resolve));
    server!.kill("SIGTERM");
    const answer = await commit;
    expect(answer).toMatchObject({ status: 503, body: { error: { code: "server_stopping" } } });
    // Its keep-alive connection ends with it: left open, it would hold the stop for Fastify's keepAliveTimeout (72 s).
    expect(answer.headers.connection).toBe("close");
    expect(answer.body.error.message).toMatch(/^The Rollcall server was stopped \(SIGTERM\) while it imported this file; nothing was imported/);
    expect(await exited).toBe(0);
    expect(await a("POST", `workspaces/acme/imports/${id}/commit`, {})).toMatchObject({ status: 200, body: { applied: true, counts: { created: watchedElsewhere } } });
  }, 120_000);
});
