/**
 * Spreadsheet formula injection: a CSV cell starting with = + - @ (or tab / carriage return) is run as a
 * formula by Excel and LibreOffice. Exports prefix such cells with an apostrophe; imports remove exactly
 * that prefix again, so "+447911123456" survives export → edit → import unchanged. Pure.
 */
const triggers = new Set(["=", "+", "-", "@", "\t", "\r"]);

/** A value that starts with a trigger, after any apostrophes: one of its own ("'-lead") must survive the round trip too. */
function triggered(value: string): boolean {
  let i = 0;
  while (value[i] === "'") i++;
  return i < value.length && triggers.has(value[i]!);
}

export function neutralise(value: string): string {
  return triggered(value) ? `'${value}` : value;
}

export function unneutralise(value: string): string {
  return value[0] === "'" && triggered(value) ? value.slice(1) : value;
}

/**
 * Excel's way of keeping a value as text in a CSV file, ="00123" (HR and payroll exports write identifiers so, that
 * Excel keeps their leading zeros): the text it stands for, its doubled quotes single. Any other value as it is.
 */
export function textFormulaValue(value: string): string {
  if (value[0] !== "=") return value;
  const literal = /^="((?:[^"]|"")*)"$/.exec(value);
  return literal ? literal[1]!.replaceAll('""', '"') : value;
}
