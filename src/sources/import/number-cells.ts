import { normalizePhone } from "../../domain/phone.ts";
import { columnName } from "./columns.ts";
import type { ImportProblem } from "./row.ts";

// An .xlsx cell that holds a number, not text, where a number loses something Excel never saves: an identifier's
// leading zeros ("0042" typed into a General cell is saved as 42), a phone number's leading 0 or its +. One cell
// is no news: a whole column typed so is the usual case, so the report says it once per column (ColumnWarning), and
// at a row only what the column's warning cannot (the value it makes wrong: a PIN too short, a phone number invalid;
// a phone number that reads as another with its 0). A user's card or employee ID kept with its zeros is in the column's.

/** Fields whose value a cell holding a number may have lost a leading 0 or + of. */
export type NumberField = "pin" | "cardNumbers" | "employeeId" | "mobilePhone" | "businessPhones";
const identifierWords: Record<string, string> = { pin: "a PIN", cardNumbers: "a card number", employeeId: "an employee ID" };
const phoneFields = new Set<string>(["mobilePhone", "businessPhones"]);

export function isNumberField(field: string): field is NumberField {
  return field in identifierWords || phoneFields.has(field);
}

/** A cell of a row read without problems that holds a number: `value`, what it reads (never a PIN's), `read`, what it was stored as. */
export interface NumberCell {
  index: number;
  column: string;
  field: NumberField;
  value?: string;
  read?: string;
}

/** A warning about one column, summing up the rows it is true of instead of one warning per row. */
export interface ColumnWarning {
  column: string;
  /** The column's letter: two columns may share a heading. */
  letter: string;
  field: string;
  /** How many rows it is true of; `firstRows` lists the first of them (up to 10). */
  rows: number;
  firstRows: number[];
  message: string;
}

export const firstRowsListed = 10;

/**
 * The rows of a column of card numbers or employee IDs whose number is a user's without its leading zeros: the user
 * keeps them. `example`: the first, as "42" kept as "0042".
 */
export interface KeptInColumn {
  rows: number;
  firstRows: number[];
  example: { row: number; given: string; kept: string };
}

/** A column of numbers, as the report says it: "holds numbers, not text, in 4,812 rows (rows 2, 3, 4, 5, 6, …): …". Pure. */
export function numberColumnWarning(
  cell: Pick<NumberCell, "index" | "column" | "field">,
  rows: number,
  firstRows: number[],
  example: NumberCell | undefined,
  defaultCountry: string | null,
  kept?: KeptInColumn,
): ColumnWarning {
  const where = `in ${rowsCounted(rows, firstRows)}`;
  const advice = "Format the column as Text in Excel, type the values again (or export them again as text), and import again";
  const dropped = `Excel drops the leading zeros of ${identifierWords[cell.field]} typed as a number (0042 is saved as 42)`;
  const keeps = kept && `${cell.field === "cardNumbers" ? "card" : "employee ID"} ${kept.example.kept}`;
  const message = phoneFields.has(cell.field)
    ? `holds numbers, not text, ${where}: Excel drops the leading 0 and the + of a phone number typed as a number, so they were read as numbers of ${defaultCountry ?? "their country"}${example?.read ? ` (row ${firstRows[0]}: ${example.value} as ${example.read})` : ""}: check that they are right. ${advice}`
    : !kept
      ? `holds numbers, not text, ${where}: ${dropped}, so any they had are lost. ${advice}`
      : kept.rows === rows
        ? `holds numbers, not text, ${where}: ${dropped}, but each is one its user holds with them, and the user keeps it (row ${kept.example.row}: ${kept.example.given} is ${keeps}). To keep the zeros in the file too, format the column as Text in Excel`
        : `holds numbers, not text, ${where}: ${dropped}. In ${rowsCounted(kept.rows, kept.firstRows)} it is one its user holds with them, and the user keeps it (row ${kept.example.row}: ${kept.example.given} is ${keeps}); any the other rows had are lost. ${advice}`;
  return { column: cell.column, letter: columnName(cell.index + 1), field: cell.field, rows, firstRows: firstRows.slice(0, firstRowsListed), message };
}

/** "4,812 rows (rows 2, 3, 4, 5, 6, …)", "1 row (row 2)". */
function rowsCounted(rows: number, firstRows: number[]): string {
  const shown = firstRows.slice(0, 5).join(", ");
  return `${rows.toLocaleString("en-US")} ${rows === 1 ? `row (row ${shown})` : `rows (rows ${shown}${rows > 5 ? ", …" : ""})`}`;
}

/**
 * A phone number a cell held as a number that is valid as read and, another number, with the leading 0 Excel drops
 * (Italy's 312… and 0312…): the column's warning says to check them all, this row's which reading it took. Pure.
 */
export function phoneReadingWarning(row: number, cell: NumberCell, defaultCountry: string | null): ImportProblem | undefined {
  if (!phoneFields.has(cell.field) || !cell.read || !cell.value || !defaultCountry) return undefined;
  const withZero = normalizePhone(`0${cell.value}`, defaultCountry);
  if (!withZero.ok || withZero.e164 === cell.read) return undefined;
  return {
    row, column: cell.column, field: cell.field, value: cell.value,
    message: `${columnName(cell.index + 1)}${row} holds the number ${cell.value}, not text, valid both as it reads (${cell.read}) and with the leading 0 Excel drops (0${cell.value}, ${withZero.e164}): it was read as ${cell.read}. If it was 0${cell.value}, format the column as Text in Excel, type it again, and import again`,
  };
}

/**
 * Why a row's problem at a cell holding a number is there: a PIN "0042" read as 42 is too short; a phone number
 * whose leading 0 matters (Italy's 06…) or whose + was dropped is not valid. Says what the number would be with
 * the 0 or the + back, when that makes a valid number. Pure.
 */
export function numberCellCause(row: number, index: number, field: NumberField, text: string, defaultCountry: string | null): string {
  const cell = `${columnName(index + 1)}${row}`;
  const advice = "Format the column as Text in Excel, type the values again, and import again";
  if (!phoneFields.has(field)) {
    return `${cell} holds a number, not text: Excel drops the leading zeros of ${identifierWords[field]!} typed as a number (0042 is saved as 42), so any it had are lost. ${advice}`;
  }
  const withZero = defaultCountry ? normalizePhone(`0${text}`, defaultCountry) : undefined;
  const withPlus = normalizePhone(`+${text}`, null);
  const candidates = [...(withZero?.ok ? [`0${text} (${withZero.e164})`] : []), ...(withPlus.ok ? [`+${text}`] : [])];
  const lost = withZero?.ok && withPlus.ok ? "its leading 0 or its +" : withZero?.ok ? "its leading 0" : "its +";
  if (candidates.length) return `${cell} holds the number ${text}, not text: Excel drops the leading 0 and the + of a phone number typed as a number, and this one is not valid without ${lost}: it was ${candidates.join(" or ")}. ${advice}`;
  return `${cell} holds a number, not text: Excel drops the leading 0 and the + of a phone number typed as a number. ${advice}`;
}

/** A row's problem at a cell that holds a number says why (numberCellCause). */
export function withNumberCause(problem: ImportProblem, cells: readonly NumberCell[], row: number, defaultCountry: string | null): ImportProblem {
  const cell = cells.find((n) => n.field === problem.field && n.column === problem.column);
  if (!cell) return problem;
  return { ...problem, message: `${problem.message} (${numberCellCause(row, cell.index, cell.field, cell.value ?? "", defaultCountry)})` };
}
