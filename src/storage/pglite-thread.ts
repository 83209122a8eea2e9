import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

/**
 * PGlite on a thread of its own. PGlite runs Postgres synchronously on the thread that calls it, so on the
 * main thread every statement would stall the event loop: the HTTP server stops answering even requests that
 * need no database, and Graph pages wait while the previous one is merged (with 100 ms of latency per request, the
 * groups listing took 52 s instead of 32 s). On its own thread, the database works while the main
 * thread talks HTTP, on a second core when there is one.
 */
export interface PGliteResult<R = unknown> {
  rows: R[];
  affectedRows?: number;
}

type Request = { op: "exec"; sql: string } | { op: "query"; sql: string; params: unknown[] } | { op: "copy"; sql: string; chunks: Uint8Array[] } | { op: "close" };
type Reply = { id: number; result?: unknown; error?: Record<string, unknown> };

/**
 * Server settings, fixed at start. Postgres's default 128 MB of shared buffers are resident from the moment
 * the database opens (about 60 MB more than 64 MB), and the embedded database shares its process with
 * everything else. With 64 MB a 100,000-user sync takes the same time and its process peaks at 432 MB
 * instead of 528 MB; the first import of 100,000 rows takes the same time (BENCHMARKS.md, session 7).
 * A new 16 MB WAL segment is not first filled with zeros: a 100,000-row import fills 17 of them, 272 MB of
 * writes that bought nothing, since PGlite runs without fsync anyway (session 17).
 * Postgres zeroes its shared buffers as it starts: 64 MB cost a CLI command about 0.2 s of its 1.7 s, so a brief
 * one (a list, an edit) opens with 16 MB, as fast as any smaller size.
 */
const startParams = (brief: boolean) => ["-c", `shared_buffers=${brief ? 16 : 64}MB`, "-c", "wal_init_zero=off"];

export class PGliteThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(private readonly worker: Worker) {
    worker.on("message", (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      // An idle thread must not keep the process alive; one with work in flight must.
      if (this.pending.size === 0) worker.unref();
      if (reply.error) waiting.reject(databaseError(reply.error));
      else waiting.resolve(reply.result);
    });
    worker.on("error", (error) => this.failAll(error));
    worker.on("exit", (code) => this.failAll(new Error(`the embedded database thread exited (code ${code})`)));
  }

  /**
   * Starts the thread and opens the database (`dataDir` null: in memory) with `startParams`, then runs `settings`.
   * `brief`: for a command that reads or writes little (a smaller buffer pool, which opens faster, and no optimising
   * compiler for the WebAssembly: see pglite-worker.js).
   * A new data folder is created by a thread of its own first: PGlite runs initdb as a second Postgres
   * beside the first, and a thread keeps the memory its WebAssembly instances grew to until it ends. Opened
   * in one go, a new folder left the process at 800 MB of RSS where reopening it takes 300 MB, and a
   * long-lived server started on a new folder kept the difference.
   */
  static async open(dataDir: string | null, settings: string, brief = false, warm?: WarmThread): Promise<PGliteThread> {
    if (dataDir !== null && !existsSync(join(dataDir, "PG_VERSION"))) await (await PGliteThread.start(dataDir, "", brief)).close();
    return PGliteThread.start(dataDir, settings, brief, warm);
  }

  /**
   * A thread that loads PGlite and compiles its WebAssembly without opening any database, until `open` is given it.
   * Nothing of a data folder is touched, so it does not keep the process alive and may end with it, unused.
   */
  static warmUp(brief: boolean): WarmThread {
    const worker = spawn(undefined, brief);
    let alive = true;
    worker.once("error", () => (alive = false)).once("exit", () => (alive = false));
    worker.unref();
    return { worker, alive: () => alive };
  }

  private static async start(dataDir: string | null, settings: string, brief: boolean, warm?: WarmThread): Promise<PGliteThread> {
    const open = { dataDir, settings, startParams: startParams(brief) };
    let worker: Worker;
    if (warm?.alive()) {
      worker = warm.worker;
      worker.ref();
      worker.postMessage(open);
    } else worker = spawn(open, brief, brief ? undefined : await compiledPostgres());
    const ready = await new Promise<{ ready: boolean; error?: Record<string, unknown> }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    if (!ready.ready) {
      await worker.terminate();
      throw databaseError(ready.error ?? {});
    }
    const thread = new PGliteThread(worker);
    // After the constructor's message listener: attaching one refs the worker's port again.
    worker.unref();
    return thread;
  }

  exec(sql: string): Promise<PGliteResult[]> {
    return this.send({ op: "exec", sql }) as Promise<PGliteResult[]>;
  }

  query<R>(sql: string, params: unknown[]): Promise<PGliteResult<R>> {
    return this.send({ op: "query", sql, params }) as Promise<PGliteResult<R>>;
  }

  /** COPY … FROM '/dev/blob' with `chunks` (the text, encoded) as the blob. */
  copy(sql: string, chunks: Uint8Array[]): Promise<PGliteResult> {
    return this.send({ op: "copy", sql, chunks }) as Promise<PGliteResult>;
  }

  async close(): Promise<void> {
    await this.send({ op: "close" });
    await this.worker.terminate();
  }

  /** Ends the thread without closing its database: one being thrown away (a new one whose creation failed). */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  private send(request: Request): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, ...request });
    });
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

/** A thread that has loaded PGlite and waits to be told which database to open (PGliteThread.warmUp). */
export interface WarmThread {
  worker: Worker;
  alive(): boolean;
}

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * Postgres's WebAssembly, compiled once per process and handed to each thread that opens a database: a Module is
 * shared between threads, with the code V8 has optimised in any of them, so a process that opens databases again
 * (a server starting on a new folder, after its initdb thread; a test file) does not compile it again. Opening a
 * migrated copy and reading a row took about 1.2 s of CPU the second time in one process, 0.35 s with it shared.
 * A brief command's thread compiles its own, with V8's baseline compiler only (pglite-worker.js).
 */
function compiledPostgres(): Promise<WebAssembly.Module> {
  compiled ??= readFile(createRequire(import.meta.url).resolve("@electric-sql/pglite/pglite.wasm")).then((bytes) => WebAssembly.compile(bytes));
  compiled.catch(() => (compiled = undefined)); // the next opening tries again
  return compiled;
}

function spawn(open: { dataDir: string | null; settings: string; startParams: string[] } | undefined, brief: boolean, wasmModule?: WebAssembly.Module): Worker {
  // A small young generation: the thread's garbage is query results on their way out, short-lived, and
  // the default lets it pile up (peak RSS of a 100k-user sync: 786 MB with the default, 731 MB with 8 MB).
  // No inherited execArgv: the thread is plain JavaScript and needs none of the parent's flags, some of
  // which (--input-type from `node -e`) would stop it from starting at all.
  return new Worker(new URL("./pglite-worker.js", import.meta.url), {
    workerData: { open, brief, wasmModule },
    execArgv: [],
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
}

/** The thread's error as an Error again, with the database's fields (code, constraint, detail…). */
function databaseError(fields: Record<string, unknown>): Error {
  return Object.assign(new Error(String(fields.message ?? "embedded database error")), fields);
}
