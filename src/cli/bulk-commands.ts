/**
 * Commands that may read or write a whole directory; the others are brief: they open the embedded database with a
 * smaller buffer pool and run its WebAssembly without optimising it (storage/pglite-thread.ts), which both start
 * faster. An export and a bulk action on every matching user (`--matching`) ran 10-40% longer on the critical path
 * without the optimiser at 100,000 users (BENCHMARKS.md, session 57).
 */
export const bulkCommands = new Set(["sync", "import", "export"]);

/** Whether a command line (arguments after `rollcall`) is a bulk one; read the same by the head start and the run. */
export function isBulkCommandLine(args: string[]): boolean {
  return bulkCommands.has(args[0] ?? "") || args.includes("--matching");
}
