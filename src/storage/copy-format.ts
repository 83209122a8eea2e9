/** A column value for COPY: null stays NULL. */
export type CopyValue = string | number | boolean | null;

const chunkBytes = 64 * 1024;

/**
 * Chunks whose rows are in the database, written again by the next rows (see recycleChunks). A sync COPYs
 * about 140 MB; allocated afresh, its chunks waited for a collection to be freed (V8 counts them as external
 * memory, outside a sync's heap bound): two PGlite syncs peaked at 481 and 494 MB, against 441-477 MB.
 */
const spare: Buffer[] = [];
const maxSpare = 64;

/** Hands back chunks of CopyEncoder's once the database has their rows: nothing may read them afterwards. */
export function recycleChunks(chunks: Uint8Array[]): void {
  for (const chunk of chunks) {
    if (chunk.buffer.byteLength === chunkBytes && spare.length < maxSpare) spare.push(Buffer.from(chunk.buffer, 0, chunkBytes));
  }
}

/**
 * Rows in COPY's text format, written straight into byte chunks of about 64 KB. Building each chunk as one
 * string first (`text += line`) cost about eight times as much: V8 flattens every such string and copies it
 * again to encode it, 0.35-0.45 s per 30 MB against 0.05 s line by line into a Buffer.
 */
export class CopyEncoder {
  private chunks: Buffer[] = [];
  private buffer: Buffer | undefined;
  private used = 0;

  add(row: CopyValue[]): void {
    this.addLine(row.map(copyField).join("\t") + "\n");
  }

  /** A line already in COPY's text format: fields escaped (or never in need of it, as ids), tab-separated, ending in a newline. */
  addLine(line: string): void {
    // A UTF-16 code unit takes at most three bytes in UTF-8.
    const room = line.length * 3;
    if (!this.buffer || this.used + room > this.buffer.length) {
      this.seal();
      // allocUnsafeSlow: a buffer of its own, never a slice of Node's pool that other Buffers share.
      this.buffer = room <= chunkBytes ? (spare.pop() ?? Buffer.allocUnsafeSlow(chunkBytes)) : Buffer.allocUnsafeSlow(room);
    }
    this.used += this.buffer.write(line, this.used);
  }

  /** The chunks filled so far (none until about 64 KB are written); the encoder keeps the one it is filling. */
  takeFull(): Buffer[] {
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }

  /** Every chunk written so far, the last one partly filled; the encoder starts again empty. */
  take(): Buffer[] {
    this.seal();
    return this.takeFull();
  }

  private seal(): void {
    if (this.buffer && this.used > 0) this.chunks.push(this.buffer.subarray(0, this.used));
    this.buffer = undefined;
    this.used = 0;
  }
}

/**
 * `rows` encoded chunk by chunk. Between chunks the event loop gets a turn: encoding a big page in one go
 * would hold up, for tens of milliseconds, the responses a concurrent listing is waiting for.
 */
export async function* encodeRows(rows: Iterable<CopyValue[]>): AsyncGenerator<Buffer> {
  const encoder = new CopyEncoder();
  for (const row of rows) {
    encoder.add(row);
    const full = encoder.takeFull();
    if (full.length) {
      yield* full;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  yield* encoder.take();
}

/** A PostgreSQL array literal of `items` (every element quoted), to COPY into an array column. */
export function arrayLiteral(items: string[]): string {
  return `{${items.map((i) => `"${i.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;
}

const escapes: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * A field in COPY's text format: NULL is \N; backslash, newline, carriage return and tab are escaped. JSON,
 * most of what a sync copies, mostly passes unchanged (CSV doubled its every quote).
 */
export function copyField(value: CopyValue | undefined): string {
  if (value === null || value === undefined) return "\\N";
  const text = String(value);
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => escapes[c]!) : text;
}
