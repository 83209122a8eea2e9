import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInflateRaw } from "node:zlib";
import { Transform, pipeline, type Readable } from "node:stream";
import { RollcallError } from "../../errors.ts";

/**
 * Just enough ZIP to read an .xlsx safely: the central directory gives every entry's declared sizes,
 * which are checked against caps before anything is inflated, and every inflated byte is counted so a
 * file that lies about its sizes (a zip bomb) is stopped at the declared size, not at memory exhaustion.
 */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipLimits {
  /** Total uncompressed bytes of all entries. */
  maxTotalBytes: number;
  /** Uncompressed ÷ compressed for any entry bigger than 1 MiB. Real sheets stay well under 100. */
  maxRatio: number;
}

export const defaultZipLimits: ZipLimits = { maxTotalBytes: 1024 * 1024 * 1024, maxRatio: 200 };

const damaged = (detail: string) =>
  new RollcallError("unsupported_file", `The Excel file is damaged or incomplete (${detail}). Save it again from Excel, or export it as CSV.`, { reason: detail });

export async function readZipDirectory(path: string, limits: ZipLimits = defaultZipLimits): Promise<Map<string, ZipEntry>> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const tailLength = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw damaged("no ZIP directory at the end; the file is truncated or not an .xlsx");
    const count = tail.readUInt16LE(eocd + 10);
    const directorySize = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    if (directoryOffset === 0xffffffff || count === 0xffff) throw damaged("ZIP64 archives are not supported");
    if (directoryOffset + directorySize > size) throw damaged("the ZIP directory points past the end of the file");
    const directory = Buffer.alloc(directorySize);
    await handle.read(directory, 0, directorySize, directoryOffset);

    const entries = new Map<string, ZipEntry>();
    let total = 0;
    let at = 0;
    for (let n = 0; n < count; n++) {
      if (at + 46 > directory.length || directory.readUInt32LE(at) !== 0x02014b50) throw damaged("a ZIP directory entry is malformed");
      const nameLength = directory.readUInt16LE(at + 28);
      const entry: ZipEntry = {
        method: directory.readUInt16LE(at + 10),
        compressedSize: directory.readUInt32LE(at + 20),
        uncompressedSize: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
        name: directory.toString("utf8", at + 46, at + 46 + nameLength),
      };
      at += 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
      if (entry.method !== 0 && entry.method !== 8) throw damaged(`entry ${entry.name} uses an unsupported compression method`);
      if (entry.localHeaderOffset + entry.compressedSize > size) throw damaged(`entry ${entry.name} is cut off`);
      total += entry.uncompressedSize;
      const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
      if (total > limits.maxTotalBytes || (entry.uncompressedSize > 1024 * 1024 && ratio > limits.maxRatio)) {
        throw new RollcallError(
          "payload_too_large",
          `The Excel file expands to more than Rollcall will read (${entry.name}: ${mb(entry.uncompressedSize)} from ${mb(entry.compressedSize)}); it looks like a zip bomb or is far larger than a user list.`,
          { entry: entry.name, uncompressedBytes: entry.uncompressedSize, compressedBytes: entry.compressedSize, maxTotalBytes: limits.maxTotalBytes, maxRatio: limits.maxRatio },
        );
      }
      entries.set(entry.name, entry);
    }
    return entries;
  } finally {
    await handle.close();
  }
}

/** The entry's inflated bytes, never more than its declared size. */
export async function openEntry(path: string, entry: ZipEntry, onCompressedBytes?: (n: number) => void): Promise<Readable> {
  const handle = await open(path, "r");
  const header = Buffer.alloc(30);
  try {
    await handle.read(header, 0, 30, entry.localHeaderOffset);
  } finally {
    await handle.close();
  }
  if (header.readUInt32LE(0) !== 0x04034b50) throw damaged(`entry ${entry.name} has no local header`);
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw = createReadStream(path, { start, end: start + entry.compressedSize - 1, highWaterMark: 256 * 1024 });
  if (onCompressedBytes) raw.on("data", (chunk) => onCompressedBytes(chunk.length));
  let seen = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > entry.uncompressedSize) {
        callback(new RollcallError("payload_too_large", `The Excel file's entry ${entry.name} expands beyond its declared size; refusing to read it (zip bomb?)`, { entry: entry.name }));
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      callback(seen === entry.uncompressedSize ? null : damaged(`entry ${entry.name} is shorter than declared`));
    },
  });
  // pipeline() tears the file and inflate streams down when the guard stops reading.
  if (entry.method === 8) pipeline(raw, createInflateRaw(), guard, () => {});
  else pipeline(raw, guard, () => {});
  return guard;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
