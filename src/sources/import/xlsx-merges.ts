import { openEntry, type ZipEntry } from "./zip.ts";
import { columnIndex } from "./columns.ts";
import { damaged } from "./xlsx-parts.ts";

/** A range of merged cells spanning rows, 1-based and inclusive. */
export interface Merge {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/**
 * The sheet's merged ranges that span several rows. Excel keeps a merged range's value in its top-left cell only,
 * and shows it across the range: a Department or Groups cell merged down a team's rows is meant for each of them.
 * The ranges are listed after the rows (<mergeCells>), so the sheet is inflated once more first, scanning its text
 * only (a tenth of the time parsing takes).
 */
export async function readMerges(path: string, entry: ZipEntry): Promise<Merge[]> {
  // The bytes are searched for <mergeCells> (a few KB after the rows): decoding the whole sheet to look cost more.
  const parts: Buffer[] = [];
  let carry: Buffer = Buffer.alloc(0);
  const stream = await openEntry(path, entry);
  try {
    for await (const chunk of stream) {
      const bytes = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
      if (parts.length) {
        parts.push(chunk as Buffer);
        continue;
      }
      const at = bytes.indexOf("mergeCells");
      if (at >= 0) parts.push(bytes.subarray(at));
      else carry = bytes.subarray(Math.max(0, bytes.length - 16));
    }
  } catch (error) {
    stream.destroy();
    throw damaged(error);
  }
  const merges: Merge[] = [];
  for (const m of Buffer.concat(parts).toString("utf8").matchAll(/<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"/g)) {
    const [top, bottom] = [Number(m[2]), Number(m[4])];
    if (bottom > top) merges.push({ top, left: columnIndex(m[1]!), bottom, right: columnIndex(m[3]!) });
  }
  return merges.sort((a, b) => a.top - b.top);
}

/** Fills each row's cells that lie in a merged range with the range's value, as Excel shows them. */
export class MergedCells {
  private next = 0;
  private active: (Merge & { value: string })[] = [];
  constructor(private readonly merges: Merge[]) {}

  fill(row: number, cells: string[]): void {
    if (this.merges.length === 0) return;
    this.active = this.active.filter((m) => m.bottom >= row);
    for (; this.next < this.merges.length && this.merges[this.next]!.top <= row; this.next++) {
      const merge = this.merges[this.next]!;
      if (merge.top === row) this.active.push({ ...merge, value: cells[merge.left - 1] ?? "" });
    }
    for (const m of this.active) {
      for (let column = m.left; column <= m.right; column++) if (!cells[column - 1]) cells[column - 1] = m.value;
    }
  }
}
