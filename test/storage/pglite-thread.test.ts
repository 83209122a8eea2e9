import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, sql, type Store } from "../../src/storage/database.ts";
import { projectModule, runScript } from "../support/node-script.ts";

// The embedded database runs on a thread of its own: the main thread keeps answering while a statement
// runs, database errors keep their fields, and an idle store does not keep a process alive.
describe("PGlite on its own thread", () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ kind: "pglite", dataDir: null });
  });
  afterAll(() => store.close());

  it("keeps the event loop turning while a long statement runs", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const { rows } = await sql<{ n: string }>`select count(*) as n from generate_series(1, 4000000) a join generate_series(1, 1) b on true`.execute(store.db);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(Number(rows[0]!.n)).toBe(4_000_000);
    expect(elapsed).toBeGreaterThan(100);
    // On the main thread the interval could not fire until the statement ended: at most one tick.
    expect(ticks).toBeGreaterThan(elapsed / 10 / 4);
  });

  it("opens with 64 MB of shared buffers, which stay resident in the process (see pglite-thread.ts)", async () => {
    const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(store.db);
    expect(rows[0]!.shared_buffers).toBe("64MB");
  });

  it("reports a database error with its code and constraint", async () => {
    await sql`insert into workspaces (name) values ('twice')`.execute(store.db);
    const error = await sql`insert into workspaces (name) values ('twice')`.execute(store.db).then(() => null, (e: unknown) => e as Record<string, unknown>);
    expect(error).toBeInstanceOf(Error);
    expect(error?.code).toBe("23505");
    expect(String(error?.constraint)).toMatch(/workspaces/);
  });

  it("COPYs rows, NULLs and quotes included", async () => {
    await sql`create table copied (a text, b text)`.execute(store.db);
    await store.copyRows("copied", ["a", "b"], [["x", null], ['say "hi"', ""]]);
    const { rows } = await sql<{ a: string; b: string | null }>`select a, b from copied order by a`.execute(store.db);
    expect(rows).toEqual([{ a: 'say "hi"', b: "" }, { a: "x", b: null }]);
  });
});

describe("a process with an open embedded store", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollcall-thread-"));
  const data = join(dir, "data");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("exits when its work is done, even without closing the store", () => {
    // Through `node --input-type=module -e`, whose flag a worker thread must not inherit.
    const script = `import { openStore, sql } from ${projectModule("src/storage/database.ts")};
      const store = await openStore({ kind: "pglite", dataDir: ${JSON.stringify(data)} });
      const { rows } = await sql\`select count(*) as n from workspaces\`.execute(store.db);
      console.log("workspaces", rows[0].n);`;
    // Generous: opening PGlite on a loaded 2-core machine took over 30 s; a process that never exits still fails.
    const run = runScript(script, 90_000);
    expect(run.signal, "killed after 90 s: the process did not finish and exit").toBeNull();
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.stdout).toContain("workspaces 1");
    expect(run.status).toBe(0);
  }, 120_000);

  it("opens its database in the thread warmed up before (the CLI's head start); a warm thread not used lets the process exit", () => {
    const used = runScript(`import { warmUpPGlite } from ${projectModule("src/storage/pglite-head-start.ts")};
      warmUpPGlite(true);
      const { openStore, sql } = await import(${projectModule("src/storage/database.ts")});
      const store = await openStore({ kind: "pglite", dataDir: ${JSON.stringify(data)} });
      const { rows } = await sql\`select count(*) as n from workspaces\`.execute(store.db);
      await store.close();
      console.log("workspaces", rows[0].n);`, 90_000);
    expect([used.signal, used.status, used.stdout.trim()], used.stderr).toEqual([null, 0, "workspaces 1"]);
    const unused = runScript(`import { warmUpPGlite } from ${projectModule("src/storage/pglite-head-start.ts")};
      warmUpPGlite(true);
      console.log("not needed after all");`, 90_000);
    expect([unused.signal, unused.status, unused.stdout.trim()], unused.stderr).toEqual([null, 0, "not needed after all"]);
  }, 200_000);

  it("does not keep the memory of creating a new data folder", () => {
    // PGlite creates a folder with initdb, a second Postgres beside the first; opened in one go, the process
    // kept about 800 MB of RSS where reopening the folder takes about 300 MB.
    const rssAfterOpening = (folder: string) => {
      const script = `import { openStore } from ${projectModule("src/storage/database.ts")};
        const store = await openStore({ kind: "pglite", dataDir: ${JSON.stringify(folder)} });
        console.log("rss", process.memoryUsage().rss);
        await store.close();`;
      const run = runScript(script, 60_000);
      expect(run.status, run.stderr).toBe(0);
      return Number(/rss (\d+)/.exec(run.stdout)![1]) / 1048576;
    };
    const folder = join(dir, "new");
    const created = rssAfterOpening(folder);
    const reopened = rssAfterOpening(folder);
    expect(created).toBeLessThan(reopened + 200);
  }, 120_000);
});
