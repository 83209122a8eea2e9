// The embedded database's own thread (see pglite-thread.ts). Plain JavaScript, so the thread starts
// without a TypeScript loader. Requests arrive one at a time (the dialect queues them) as
// { id, op: "exec" | "query" | "copy" | "close", sql, params, chunks } and are answered as { id, result } or
// { id, error } with the database error's fields (code, constraint, detail…) kept.
import { readFile } from "node:fs/promises";
import v8 from "node:v8";
import vm from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";

// A brief command (a list, an edit: pglite-thread.ts) runs Postgres's WebAssembly with V8's baseline compiler only.
// Optimising the functions that get hot while Postgres starts cost such a command more CPU than it saved: `rollcall
// users list` took 1.2 s of CPU instead of 0.6 s, and even listing or exporting 20,000 users was faster without it
// (session 57). V8's flags are the process's: a brief command's process opens no other database.
if (workerData.brief) v8.setFlagsFromString("--liftoff-only");

// What does not depend on the data folder first: Postgres's WebAssembly compiled (or the process's compiled module,
// pglite-thread.ts) and its bundle of files read.
// A CLI starts the thread this far before it knows which folder (pglite-head-start.ts), then sends
// { dataDir, settings, startParams }; otherwise they come in workerData.
const dist = new URL(".", import.meta.resolve("@electric-sql/pglite"));
const [pgliteWasmModule, fsBundle] = await Promise.all([
  workerData.wasmModule ?? readFile(new URL("pglite.wasm", dist)).then((bytes) => WebAssembly.compile(bytes)),
  readFile(new URL("pglite.data", dist)).then((bytes) => new Blob([bytes])),
]);
const { dataDir, settings, startParams } = workerData.open ?? (await new Promise((resolve) => parentPort.once("message", resolve)));
const options = { startParams: [...PGlite.defaultStartParams, ...startParams], pgliteWasmModule, fsBundle };
const pglite = dataDir === null ? new PGlite(options) : new PGlite(dataDir, options);

// Each COPY leaves about four times its data in ArrayBuffers (the blob, PGlite's copy of it, its file), and a
// new WAL segment 16 MB. Their owners die young, but V8 waits for external memory to pile up before it
// collects them: up to 90 MB at once in a 100,000-user sync, all of it resident. A young-generation
// collection (about 2 ms here) once they pass 16 MB keeps them near that (BENCHMARKS.md, session 7).
v8.setFlagsFromString("--expose-gc");
const collect = vm.runInNewContext("gc");
const bufferLimit = 16 * 1024 * 1024;
const releaseBuffers = () => {
  if (process.memoryUsage().arrayBuffers > bufferLimit) collect({ type: "minor" });
};

const plain = (result) => ({ rows: result.rows, affectedRows: result.affectedRows });

async function run(request) {
  switch (request.op) {
    case "exec":
      return (await pglite.exec(request.sql)).map(plain);
    case "query":
      return plain(await pglite.query(request.sql, request.params));
    case "copy":
      return plain(await pglite.query(request.sql, [], { blob: new Blob(request.chunks) }));
    case "close":
      await pglite.close();
      return null;
    default:
      throw new Error(`unknown request ${request.op}`);
  }
}

function describe(error) {
  // Emscripten's file system errors are no Error: a name and an errno (WASI's numbers), no message.
  const message = error?.message ?? (typeof error?.errno === "number" ? `file system error (errno ${error.errno})` : String(error));
  return { ...error, name: error?.name ?? "Error", message };
}

try {
  await pglite.waitReady;
  await pglite.exec(settings);
  parentPort.postMessage({ ready: true });
} catch (error) {
  parentPort.postMessage({ ready: false, error: describe(error) });
}

parentPort.on("message", async (request) => {
  try {
    parentPort.postMessage({ id: request.id, result: await run(request) });
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: describe(error) });
  }
  releaseBuffers();
});
