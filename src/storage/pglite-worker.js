// The embedded database's own thread (see pglite-thread.ts). Plain JavaScript, so the thread starts
// without a TypeScript loader. Requests arrive one at a time (the dialect queues them) as
// { id, op: "exec" | "query" | "copy" | "close", sql, params, csv } and are answered as { id, result } or
// { id, error } with the database error's fields (code, constraint, detail…) kept.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";

const { dataDir, settings } = workerData;
const pglite = dataDir === null ? new PGlite() : new PGlite(dataDir);

const plain = (result) => ({ rows: result.rows, affectedRows: result.affectedRows });

async function run(request) {
  switch (request.op) {
    case "exec":
      return (await pglite.exec(request.sql)).map(plain);
    case "query":
      return plain(await pglite.query(request.sql, request.params));
    case "copy":
      return plain(await pglite.query(request.sql, [], { blob: new Blob([request.csv]) }));
    case "close":
      await pglite.close();
      return null;
    default:
      throw new Error(`unknown request ${request.op}`);
  }
}

function describe(error) {
  return { ...error, name: error?.name ?? "Error", message: error?.message ?? String(error) };
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
});
