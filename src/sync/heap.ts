import v8 from "node:v8";

let boundedWork = 0;

/**
 * Runs memory-bound work (a sync) with the JavaScript heap kept close to its live size. A sync's garbage is
 * mostly large strings (Graph pages, query results), which V8 puts straight into the old
 * generation, so only a full collection frees them; by default V8 lets the old generation grow to up to
 * four times its live size first: in a 100,000-user sync, about 190 MB of heap for 50 MB live. Growing by
 * 25% at most keeps it under 80 MB for the same sync time, which keeps a sync on PGlite (whose database
 * lives in the same process) under 512 MB (BENCHMARKS.md). On PostgreSQL the process holds only the heap:
 * a 100,000-user sync peaks at about 310 MB unbounded (205 MB bounded), and the bound cost it 1.6 CPU s
 * of collections, so syncs there keep V8's default.
 *
 * Other work keeps V8's default: an import's garbage is small and short-lived, and under the 25% bound
 * V8's collector threads cost it about 1.5 CPU s per 100,000 rows, a fifth of the import. V8 reads the flag
 * at every full collection, so the bound holds from the first collection after it is set until the last
 * bounded work ends (an import running beside a sync shares it).
 */
export async function withBoundedHeap<T>(work: () => Promise<T>): Promise<T> {
  if (boundedWork++ === 0) v8.setFlagsFromString("--heap-growing-percent=25");
  try {
    return await work();
  } finally {
    // 0 is the flag's default: V8 chooses the growth itself again.
    if (--boundedWork === 0) v8.setFlagsFromString("--heap-growing-percent=0");
  }
}
