import { open } from "node:fs/promises";
import { RollcallError, fileProblem } from "../../errors.ts";
import { openCsv } from "./csv.ts";
import type { TableFile } from "./table.ts";
import { openXlsx } from "./xlsx.ts";

/** Opens a CSV or XLSX file by its content (not its name: "users.csv" saved by Excel may be anything). */
export async function openTable(path: string, options: { sheet?: string | undefined } = {}): Promise<TableFile> {
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
  if (head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50) return openXlsx(path, options);
  if (options.sheet) throw new RollcallError("invalid_input", `The file is CSV, which has no sheets: leave out the sheet ("${options.sheet}"), which names a sheet of an Excel (.xlsx) workbook.`, { field: "sheet", value: options.sheet });
  return openCsv(path);
}
