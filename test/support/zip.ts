import { crc32, deflateRawSync } from "node:zlib";

/**
 * A ZIP archive of `parts` (name to UTF-8 text), deflated: for .xlsx files whose XML a test writes itself,
 * as programs other than Excel and LibreOffice write them.
 */
export function zipArchive(parts: Record<string, string>): Buffer {
  const records: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(parts)) {
    const data = Buffer.from(text, "utf8");
    const deflated = deflateRawSync(data);
    const fileName = Buffer.from(name, "utf8");
    const sizes = [crc32(data), deflated.length, data.length];
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(8, 8); // deflate
    sizes.forEach((value, i) => local.writeUInt32LE(value, 14 + 4 * i));
    local.writeUInt16LE(fileName.length, 26);
    records.push(local, fileName, deflated);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(8, 10); // deflate
    sizes.forEach((value, i) => central.writeUInt32LE(value, 16 + 4 * i));
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    directory.push(central, fileName);
    offset += local.length + fileName.length + deflated.length;
  }
  const centralDirectory = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(parts).length, 8);
  end.writeUInt16LE(Object.keys(parts).length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...records, centralDirectory, end]);
}
