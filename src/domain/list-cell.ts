/**
 * Several values in one spreadsheet cell (groups, tags, aliases, cards, phones): separated by ";" or ",".
 * A value that itself holds a separator is written in double quotes ("Sales, EMEA"; Ops), as the export does,
 * so that a group's name survives an export and a re-import. Pure.
 */
export function splitList(text: string): string[] {
  const values: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === " " || text[i] === "\t") i++;
    let value = "";
    if (text[i] === '"') {
      const end = closingQuote(text, i + 1);
      if (end !== -1) {
        value = text.slice(i + 1, end).replaceAll('""', '"');
        i = end + 1;
        const next = text.slice(i).search(/[;,]/);
        value += next === -1 ? text.slice(i) : text.slice(i, i + next);
        i = next === -1 ? text.length : i + next + 1;
        pushValue(values, value);
        continue;
      }
    }
    const next = text.slice(i).search(/[;,]/);
    value = next === -1 ? text.slice(i) : text.slice(i, i + next);
    i = next === -1 ? text.length : i + next + 1;
    pushValue(values, value);
  }
  return values;
}

/** The cell splitList reads back as the same values. */
export function joinList(values: string[]): string {
  return values.map((v) => (/[;,]|^\s*"/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join("; ");
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] !== '"') continue;
    if (text[i + 1] === '"') i++;
    else return i;
  }
  return -1;
}

function pushValue(values: string[], value: string): void {
  const trimmed = value.trim();
  if (trimmed) values.push(trimmed);
}
