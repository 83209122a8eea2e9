import { open } from "node:fs/promises";
import { RollcallError, fileProblem } from "../../errors.ts";
import { openCsv } from "./csv.ts";
import type { TableFile } from "./table.ts";
import { openXlsx } from "./xlsx.ts";

/** Opens a CSV or XLSX file by its content (not its name: "users.csv" saved by Excel may be anything). */
export async function openTable(path: string, options: { sheet?: string | undefined; encoding?: string | undefined } = {}): Promise<TableFile> {
  const handle = await open(path, "r").catch((error: unknown) => {
    throw new RollcallError("not_found", `Cannot read ${path}: ${fileProblem(error)}`, { resource: "file", key: path });
  });
  const head = Buffer.alloc(4);
  let size: number;
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new RollcallError("invalid_input", `${path} is ${stats.isDirectory() ? "a folder" : "not a file"}: give the path of a CSV or Excel (.xlsx) file`, { field: "file", value: path });
    size = stats.size;
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (size === 0) throw new RollcallError("import_invalid", "The file is empty.", { reason: "empty" });
  if (head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50) {
    if (options.encoding) throw new RollcallError("invalid_input", `The file is an Excel (.xlsx) workbook, whose text is Unicode: leave out the encoding ("${options.encoding}"), which says how a CSV file's text is written.`, { field: "encoding", value: options.encoding });
    return openXlsx(path, { sheet: options.sheet });
  }
  if (options.sheet) throw new RollcallError("invalid_input", `The file is CSV, which has no sheets: leave out the sheet ("${options.sheet}"), which names a sheet of an Excel (.xlsx) workbook.`, { field: "sheet", value: options.sheet });
  return openCsv(path, { encoding: options.encoding });
}
