/**
 * Spreadsheet formula injection: a CSV cell starting with = + - @ (or tab / carriage return) is run as a
 * formula by Excel and LibreOffice. Exports prefix such cells with an apostrophe; imports remove exactly
 * that prefix again, so "+447911123456" survives export → edit → import unchanged. Pure.
 */
const triggers = new Set(["=", "+", "-", "@", "\t", "\r"]);

export function neutralise(value: string): string {
  return value.length > 0 && triggers.has(value[0]!) ? `'${value}` : value;
}

export function unneutralise(value: string): string {
  return value.length > 1 && value[0] === "'" && triggers.has(value[1]!) ? value.slice(1) : value;
}
