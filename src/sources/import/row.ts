import { splitList } from "../../domain/list-cell.ts";
import { groupNameProblem } from "../../domain/group.ts";
import { composed, userFieldsSchema, normaliseUserFields, withinFieldLimits, type UserFields } from "../../domain/user.ts";
import type { FieldProblem } from "../../errors.ts";
import { textFormulaValue, unneutralise } from "./formula.ts";
import { columnName } from "./columns.ts";
import type { ColumnMapping } from "./mapping.ts";
import { withoutAccents, type ImportField } from "../../domain/import-fields.ts";
import { isNumberField, phoneReadingWarning, withNumberCause, type NumberCell } from "./number-cells.ts";

/** One problem with one row (`field` "row": with the row as a whole, such as a value no heading names), pointing at the cell an admin has to fix (or, as a warning, the cell a value lost something in). */
export interface ImportProblem {
  row: number;
  column: string | null;
  field: string;
  value?: string;
  message: string;
}

/** A row's values, normalised; a field whose column is not in the file is undefined. */
export interface ImportedUser {
  row: number;
  email: string | null;
  userPrincipalName: string | null;
  /** "" when the row gives none (no Display name column, and no first or last name): it may only update a user it matches, who keeps their name. */
  displayName: string;
  givenName?: string | null;
  surname?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  employeeId?: string | null;
  mobilePhone?: string | null;
  businessPhones?: string[];
  preferredLanguage?: string | null;
  enabled?: boolean;
  aliases?: string[];
  cardNumbers?: string[];
  groups?: string[];
  tags?: string[];
  customAttributes?: Record<string, string>;
  /** The PIN in clear: kept in memory only until it is hashed, never staged in the database. */
  pin?: string | null;
  /** The user's Rollcall id, as an export gives it: the row updates that user where it is (see matchExisting). */
  rollcallId?: string | null;
  /** The manager's email, UPN or Rollcall id, lower-cased (null: an empty cell, which removes the manager); see ImportManagers. */
  manager?: string | null;
}

/** What identifies a row's user, read even from a row with problems: two rows must not name the same person. */
export type RowKeys = Pick<ImportedUser, "row" | "email" | "userPrincipalName" | "aliases" | "cardNumbers" | "rollcallId">;

/** What Excel and LibreOffice show (and save, in a CSV) for a formula that failed. */
const spreadsheetErrors = new Set(["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!", "#GETTING_DATA"]);
const listFields = new Set<ImportField>(["businessPhones", "aliases", "cardNumbers", "tags"]);
const partialFields = userFieldsSchema.partial();

export function isBlankRow(cells: string[]): boolean {
  for (const cell of cells) if (cell.trim() !== "") return false;
  return true;
}

/**
 * Reads one data row. Pure: the same cells, mapping and country always give the same answer. `notes.unresolved`:
 * the cells (0-based) holding a formula without its saved result (TableRow.formulasWithoutResult); `notes.inexact`:
 * those holding a number Excel rounded (TableRow.inexactNumbers). `warnings`, of a row read without problems: what
 * its values lost on the way in (a phone number's extension), pointing at the cell. `numbers`, of a row read without
 * problems: its PIN, card, employee ID and phone cells holding a number (TableRow.numbers), which the report sums up
 * per column; a problem at such a cell says instead what the number lost. `notes.csv`: the row comes from a CSV file,
 * whose cells a value holding the delimiter without quotes shifts.
 */
export function readRow(
  row: number,
  cells: string[],
  mapping: ColumnMapping,
  defaultCountry: string | null,
  notes: { unresolved?: readonly number[] | undefined; inexact?: readonly number[] | undefined; numbers?: readonly number[] | undefined; csv?: boolean } = {},
): { user?: ImportedUser; keys: RowKeys; problems: ImportProblem[]; warnings?: ImportProblem[]; numbers?: NumberCell[] } {
  const problems: ImportProblem[] = [];
  const { unresolved, inexact } = notes;
  /** Identifiers and phone numbers read from a cell holding a number: a leading 0 (or +), if they had one, is lost. */
  let fromNumbers: NumberCell[] | undefined;
  const { columns, columnOf, unnamed, displayNameColumn } = readingOf(mapping);
  let unheaded: ImportProblem[] | undefined;
  if (cells.length > mapping.headers.length || unnamed.length) unheaded = unheadedCells(row, cells, mapping.headers, unnamed, notes.csv ?? false, problems);
  const input: Record<string, unknown> = {};
  let custom: Record<string, string> | undefined;
  let groups: string[] | undefined;
  let enabledText: { value: string; inverted: boolean; column: string } | undefined;
  let rollcallId: string | null | undefined;
  let manager: string | null | undefined;
  /** Fields whose cell holds no value to read (an error or a formula's missing result): already a problem, never also "required". */
  let unread: Set<string> | undefined;

  for (const { index, field, kind, header } of columns) {
    if (unresolved?.includes(index)) {
      problems.push({ row, column: header, field: kind === "custom" ? `customAttributes.${field}` : field, message: `${columnName(index + 1)}${row} holds a formula with no saved result: open the file in Excel and save it (or paste the values over the formulas), then import again` });
      (unread ??= new Set()).add(field);
      continue;
    }
    if (inexact?.includes(index)) {
      problems.push({ row, column: header, field: kind === "custom" ? `customAttributes.${field}` : field, value: cells[index], message: `${columnName(index + 1)}${row} holds a number longer than the 15 digits Excel keeps, so its last digits are already lost in the file: format the column as Text in Excel, type the number again, and import again` });
      (unread ??= new Set()).add(field);
      continue;
    }
    const text = textFormulaValue(unneutralise(cells[index] ?? "").trim()).trim();
    if (text.startsWith("#") && spreadsheetErrors.has(text.toUpperCase())) {
      problems.push({ row, column: header, field: kind === "custom" ? `customAttributes.${field}` : field, value: text, message: `is the spreadsheet error ${text}, not a value: fix the formula in the file (or paste its values) and import again` });
      (unread ??= new Set()).add(field);
      continue;
    }
    if (digitIdentifiers.has(field)) {
      const shortened = (kind === "list" ? splitList(text) : [text]).find((v) => scientificNotation.test(v));
      if (shortened) {
        problems.push(scientificCell(row, index, header, field, shortened));
        (unread ??= new Set()).add(field);
        continue;
      }
    }
    if (notes.numbers?.includes(index) && kind !== "custom" && isNumberField(field)) (fromNumbers ??= []).push({ index, column: header, field, ...(field !== "pin" && { value: text }) });
    if (kind === "text") input[field] = text === "" ? null : text;
    else if (kind === "list") input[field] = splitList(text);
    else if (kind === "groups") groups = splitList(text).map(composed);
    else if (kind === "custom") (custom ??= Object.create(null) as Record<string, string>)[field] = composed(text); // a column may be named "__proto__"
    else if (kind === "id") {
      rollcallId = text === "" ? null : text.toLowerCase();
      if (rollcallId && !uuid.test(rollcallId)) problems.push({ row, column: header, field, value: text.slice(0, 80), message: "is not a Rollcall user id (the export's rollcallId column): leave the export's id as it is, or clear the cell to add the row as a new user" });
    } else if (kind === "manager") {
      manager = text === "" ? null : text.toLowerCase();
      if (manager && manager.length > 320) problems.push({ row, column: header, field, value: text.slice(0, 80), message: "is too long to name a user (at most 320 characters): give the manager's email or user principal name" });
    } else enabledText = { value: text, inverted: kind === "blockSignIn", column: header };
  }
  if (custom) input.customAttributes = custom;
  if (enabledText && enabledText.value !== "") {
    const flag = parseFlag(enabledText.value);
    if (flag === undefined) problems.push({ row, column: enabledText.column, field: "enabled", value: enabledText.value, message: `"${enabledText.value}" must be Yes or No (or true/false)` });
    else input.enabled = enabledText.inverted ? !flag : flag;
  }
  // An export's row (it gives its user's id) from which the name column was deleted keeps its user's name: "first
  // last" would rename every user whose display name is spelt otherwise ("Yoshida Yui", "Dr. Ada Lovelace").
  if (!input.displayName && !(rollcallId && !displayNameColumn)) {
    const derived = [input.givenName, input.surname].filter((v) => typeof v === "string" && v).join(" ");
    if (derived) input.displayName = derived;
    else if (displayNameColumn && !unread?.has("displayName")) problems.push({ row, column: columnOf.get("displayName") ?? null, field: "displayName", message: "is required (or give a first and last name)" });
  }

  const shape = (input.displayName || !displayNameColumn) && withinFieldLimits(input) ? undefined : partialFields.safeParse({ ...input, displayName: input.displayName ?? "?" });
  if (shape && !shape.success) {
    for (const issue of shape.error.issues) {
      const key = String(issue.path[0]);
      const maximum = (issue as { maximum?: unknown }).maximum;
      const message = issue.code === "too_big" ? `is too long (at most ${String(maximum)} ${issue.path.length > 1 || Array.isArray(input[key]) ? "entries or characters" : "characters"})` : issue.message;
      problems.push({ row, column: columnOf.get(key) ?? null, field: key, value: cellValue(input[key], issue.path[1]), message });
    }
  }
  // A group an import names is created by that name if missing: the rules of a group made by hand, at the cell.
  for (const group of groups ?? []) {
    const problem = groupNameProblem(group);
    if (problem) problems.push({ row, column: columnOf.get("groups") ?? null, field: "groups", value: group.slice(0, 40), message: `the group name ${JSON.stringify(group.slice(0, 40))} ${problem}` });
  }
  const { value, problems: fieldProblems, warnings: fieldWarnings } = normaliseUserFields(input as Partial<UserFields>, defaultCountry);
  for (const p of fieldProblems) problems.push(atCell(row, columnOf, p));
  const email = value.email ?? null;
  const userPrincipalName = value.userPrincipalName ?? null;
  if (!email && !userPrincipalName && !unread?.has("email") && !unread?.has("userPrincipalName")) {
    problems.push({ row, column: columnOf.get("email") ?? columnOf.get("userPrincipalName") ?? null, field: "email", message: "is required (the email, or else the userPrincipalName, identifies the user)" });
  }
  const keys: RowKeys = { row, email, userPrincipalName, aliases: value.aliases, cardNumbers: value.cardNumbers, rollcallId };
  if (problems.length) return { keys, problems: fromNumbers ? problems.map((p) => withNumberCause(p, fromNumbers!, row, defaultCountry)) : problems };
  // One literal of one shape for every row: adding properties to normaliseUserFields' copy of the fields cost
  // more than all the rest of readRow (V8 gives each such copy its own layout to grow).
  const user: ImportedUser = {
    row, email, userPrincipalName, displayName: value.displayName ?? "", givenName: value.givenName, surname: value.surname, department: value.department,
    jobTitle: value.jobTitle, employeeId: value.employeeId, mobilePhone: value.mobilePhone, businessPhones: value.businessPhones,
    preferredLanguage: value.preferredLanguage, enabled: value.enabled, aliases: value.aliases, cardNumbers: value.cardNumbers,
    groups: groups && dedupeCaseless(groups), tags: value.tags, customAttributes: value.customAttributes, pin: value.pin, rollcallId, manager,
  };
  const numbers = fromNumbers?.map((cell) => (cell.field === "mobilePhone" ? { ...cell, read: user.mobilePhone ?? undefined } : cell.field === "businessPhones" ? { ...cell, read: user.businessPhones?.[0] } : cell));
  const readings = numbers?.flatMap((cell) => phoneReadingWarning(row, cell, defaultCountry) ?? []);
  if (!fieldWarnings.length && !unheaded?.length && !readings?.length) return numbers ? { user, keys, problems, numbers } : { user, keys, problems };
  const warnings = [...(unheaded ?? []), ...fieldWarnings.map((w) => atCell(row, columnOf, w)), ...(readings ?? [])];
  return numbers ? { user, keys, problems, warnings, numbers } : { user, keys, problems, warnings };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Fields of digits where a leading zero is part of the value, which Excel drops from a number. */
const digitIdentifiers = new Set(["pin", "cardNumbers", "employeeId"]);
const identifierWords: Record<string, string> = { pin: "a PIN", cardNumbers: "a card number", employeeId: "an employee ID" };

/** How a spreadsheet shows a long number in a General cell, and saves it so in a CSV file: 1.23457E+15. */
const scientificNotation = /^\d(?:[.,]\d+)?E\+\d+$/i;

/** An identifier a spreadsheet wrote in scientific notation: its digits are gone, so it is not imported as it reads. */
function scientificCell(row: number, index: number, header: string, field: string, value: string): ImportProblem {
  return {
    row,
    column: header,
    field,
    ...(field !== "pin" && { value }),
    message: `${columnName(index + 1)}${row} holds ${field === "pin" ? "a number" : value} in the scientific notation a spreadsheet shows a long number in, and its last digits are lost: format the column as Text in Excel, type ${identifierWords[field]!.replace(/^an? /, "the ")} again, and import again (or save the file as .xlsx)`,
  };
}

/**
 * Values no heading names are never dropped unsaid. In a CSV file such a value is a problem: it is what a value
 * holding the delimiter without quotes leaves, every cell after it one column right (values read into the wrong
 * fields). In a workbook, whose cells cannot shift, it is a warning: the value is not imported. Returns the
 * warnings; adds the problems.
 */
function unheadedCells(row: number, cells: string[], headers: readonly string[], unnamed: readonly number[], csv: boolean, problems: ImportProblem[]): ImportProblem[] {
  const warnings: ImportProblem[] = [];
  const last = headers.findLastIndex((h) => h !== "");
  for (let index = 0; index < cells.length; index++) {
    if (index < headers.length && !unnamed.includes(index)) continue;
    const value = cells[index]!.trim();
    if (value === "") continue;
    const column = `${columnName(index + 1)} (no heading)`;
    if (!csv) {
      warnings.push({ row, column, field: "row", value: value.slice(0, 80), message: "a value in a column without a heading, not imported; give the column a heading to import it" });
      continue;
    }
    problems.push({
      row, column, field: "row", value: value.slice(0, 80),
      message: `a value in a column without a heading${index > last ? ` (the last is ${columnName(last + 1)})` : ""}: a value holding the delimiter without double quotes moves the cells after it one column right; put that value in double quotes, or give the column a heading`,
    });
    break;
  }
  return warnings;
}

/** A field's problem (or warning) at the row's cell that holds the field; a list's entry ("businessPhones[1]") at the list's cell. */
function atCell(row: number, columnOf: Map<string, string>, p: FieldProblem): ImportProblem {
  const key = p.field.replace(/\[\d+\]$/, "");
  return { row, column: columnOf.get(key) ?? null, field: key, value: p.value === undefined ? undefined : String(p.value), message: p.message };
}

/** How a mapping's columns are read, with the column each field is read from (built once per mapping, not per row). */
interface Reading {
  columns: { index: number; field: string; kind: "text" | "list" | "groups" | "custom" | "enabled" | "blockSignIn" | "id" | "manager"; header: string }[];
  /** Columns whose heading is blank. */
  unnamed: number[];
  /** By the field's name in problems. */
  columnOf: Map<string, string>;
  /** Whether a column holds the display name (else it is made of the first and last name, when the row gives them). */
  displayNameColumn: boolean;
}

const readings = new WeakMap<ColumnMapping, Reading>();

function readingOf(mapping: ColumnMapping): Reading {
  let reading = readings.get(mapping);
  if (reading) return reading;
  reading = { columns: [], columnOf: new Map(), unnamed: [], displayNameColumn: mapping.fields.includes("displayName") };
  mapping.fields.forEach((field, index) => {
    if (!field && mapping.headers[index]!.trim() === "") reading!.unnamed.push(index);
    if (!field) return;
    const header = mapping.headers[index]!;
    const custom = field.startsWith("customAttributes.");
    const kind = custom ? "custom" : field === "rollcallId" ? "id" : field === "manager" ? "manager" : field === "enabled" || field === "blockSignIn" ? field : field === "groups" ? "groups" : listFields.has(field) ? "list" : "text";
    reading!.columns.push({ index, field: custom ? field.slice("customAttributes.".length) : field, kind, header });
    reading!.columnOf.set(custom ? "customAttributes" : field === "blockSignIn" ? "enabled" : field, header);
  });
  readings.set(mapping, reading);
  return reading;
}

function dedupeCaseless(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => !seen.has(v.toLowerCase()) && seen.add(v.toLowerCase()));
}

export function parseFlag(text: string): boolean | undefined {
  // A tick or a cross marks the enabled; German, French, Spanish, Italian and Dutch words too (accents folded).
  const word = withoutAccents(text).toLowerCase();
  if (/^(true|yes|y|1|enabled|active|on|x|\u2713|\u2714|\u2611|ja|wahr|aktiv|oui|vrai|actif|si|activo|vero|attivo|actief)$/.test(word)) return true;
  if (/^(false|no|n|0|disabled|inactive|off|nein|falsch|inaktiv|non|faux|inactif|inactivo|falso|inattivo|nee|inactief)$/.test(word)) return false;
  return undefined;
}

function cellValue(value: unknown, index: PropertyKey | undefined): string | undefined {
  if (Array.isArray(value)) return typeof index === "number" ? String(value[index]).slice(0, 80) : undefined;
  return typeof value === "string" ? value.slice(0, 80) : undefined;
}
