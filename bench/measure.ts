/** What the benchmarks share to time and report: a stamped line on standard error, a median of rounds. */

export const log = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

/** The median wall time of `rounds` runs of `run`, in milliseconds to one decimal. */
export async function medianMs(rounds: number, run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return Math.round(times.sort((a, b) => a - b)[Math.floor(rounds / 2)]! * 10) / 10;
}

/** A value as an SQL literal, to print a query with its parameters in place (EXPLAIN of what the app sends). */
export function sqlLiteral(value: unknown): string {
  return typeof value === "number" ? String(value) : `'${String(value).replace(/'/g, "''")}'`;
}
