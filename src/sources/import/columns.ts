// Spreadsheet column letters (A, B, … Z, AA, …) and their numbers: as Excel names columns; problems in a CSV file name its columns the same way.

/** The number of the column a cell reference ("C7") or letter names (A is 1). */
export function columnIndex(reference: string): number {
  let index = 0;
  for (const char of reference) {
    const code = char.charCodeAt(0);
    if (code < 65 || code > 90) break;
    index = index * 26 + (code - 64);
  }
  return index;
}

/** The letters of column `index` (1 is A, 27 is AA). */
export function columnName(index: number): string {
  let name = "";
  for (let n = index; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}
