import type { CsvDelimiter } from "./csv.ts";
/** What every file reader yields: rows of cell text, numbered as a spreadsheet shows them. */
export interface TableRow {
  /** 1-based row number as Excel or a text editor would show it (the header is usually row 1). */
  row: number;
  cells: string[];
  /**
   * XLSX only: the cells (0-based column indexes) holding a formula whose result the file does not save, as files
   * written by programs that do not compute formulas have them. Their text is blank; where an import reads them,
   * each is a problem at that cell (a blank would lose the value the formula stands for).
   */
  formulasWithoutResult?: number[];
  /**
   * XLSX only: the cells holding a number with more digits than Excel keeps (15): what the file saves is already
   * rounded (a 16- to 20-digit card number typed as a number). Read, each is a problem at that cell.
   */
  inexactNumbers?: number[];
  /**
   * XLSX only: the cells holding a whole number (not text) shown without a leading zero. A PIN, card number or employee ID
   * typed into such a cell lost its leading zeros ("0042" is saved as 42): read, each is a warning at that cell.
   */
  numbers?: number[];
  /** XLSX only: the row is hidden in the sheet (filtered out, or hidden by hand). It is read; the import warns. */
  hidden?: boolean;
}

export interface TableFile {
  format: "csv" | "xlsx";
  /** CSV only: the encoding used to read it. */
  encoding?: string;
  /** CSV only: the detected delimiter. */
  delimiter?: CsvDelimiter;
  /** XLSX only: the sheet read and all sheet names. */
  sheet?: string;
  sheets?: string[];
  /** What reading goes through, for progress: the CSV file, or the XLSX sheet's compressed data (the rest of a workbook is read before). */
  totalBytes: number;
  bytesRead(): number;
  rows: AsyncIterable<TableRow>;
}

/** Excel's own limit for one cell: longer in an .xlsx file is a broken or hostile file; a CSV row may hold four such cells. */
export const maxCellLength = 32_767;
