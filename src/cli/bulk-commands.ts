/**
 * Commands that may write a whole directory; the others are brief: they open the embedded database with a smaller
 * buffer pool and run its WebAssembly without optimising it (storage/pglite-thread.ts), which both start faster.
 */
export const bulkCommands = new Set(["sync", "import"]);
