import { z } from "zod";
import { RollcallError, invalidInput } from "../../errors.ts";
import { importFields, withoutAccents, type ImportField } from "../../domain/import-fields.ts";
import { customAttributeName } from "../../domain/user.ts";
import { columnIndex, columnName } from "./columns.ts";

/**
 * Which Rollcall field each column feeds. Headers are compared without case, spaces or punctuation,
 * through the usual synonyms; Entra ID's bulk-create template is recognised by its "[property]" part.
 * An explicit mapping file wins over all of that. Pure.
 */

/** How a mapping names one column of several with the same heading: by its letter, "column C". */
export function columnByLetter(index: number): string {
  return `column ${columnName(index + 1)}`;
}
const byLetter = /^column ([a-z]{1,3})$/i;

/** Each headed column in file order, with its letter and field: the one list that tells columns of the same heading apart. */
export function columnsInFile(headers: string[], fields: (ImportField | null)[]): { column: string; letter: string; field: ImportField | null }[] {
  return headers.flatMap((column, i) => (column.trim() === "" ? [] : [{ column, letter: columnName(i + 1), field: fields[i] ?? null }]));
}

export interface ColumnMapping {
  /** For each column in file order: its field, or null when the column is not imported. */
  fields: (ImportField | null)[];
  headers: string[];
  /** Columns that matched nothing (listed to the admin; their values are not imported). */
  unknown: string[];
  /** Columns recognised but deliberately not imported, with why. */
  ignored: { column: string; reason: string }[];
  /** "entra" when the file is Entra ID's bulk-create template, "rollcall" for ours, else "generic". */
  layout: "entra" | "rollcall" | "generic";
}

const synonyms = new Map<string, ImportField>();
// Keyed as a heading is (headerKey): "メールアドレス" loses its voicing marks as "Straße" loses nothing.
const add = (field: ImportField, ...names: string[]) => names.forEach((n) => synonyms.set(headerKey(n), field));
add("email", "email", "mail", "emailaddress", "workemail", "primaryemail", "businessemail", "emailid");
add("userPrincipalName", "userprincipalname", "upn", "username", "loginname", "login", "signinname");
add("displayName", "displayname", "fullname", "name", "employeename");
add("givenName", "givenname", "firstname", "forename", "first");
add("surname", "surname", "lastname", "familyname", "last");
add("department", "department", "dept", "division");
add("jobTitle", "jobtitle", "title", "position");
add("employeeId", "employeeid", "employeenumber", "staffid", "staffnumber", "personnelnumber");
add("mobilePhone", "mobilephone", "mobile", "mobilenumber", "cell", "cellphone", "phone", "phonenumber");
add("businessPhones", "businessphones", "businessphone", "officephone", "workphone", "telephonenumber", "telephone");
add("preferredLanguage", "preferredlanguage", "language", "locale");
add("enabled", "enabled", "active", "accountenabled");
add("blockSignIn", "blocksignin", "blocked", "disabled");
add("aliases", "alias", "aliases");
add("cardNumbers", "card", "cards", "cardnumber", "cardnumbers", "badge", "badgenumber", "badgeid", "cardid");
add("pin", "pin", "pincode");
add("groups", "groups", "group", "groupnames", "memberof");
add("tags", "tags", "tag", "labels");
add("rollcallId", "rollcallid", "rollcalluserid");
add("manager", "manager", "manageremail", "managermail", "manageremailaddress", "managerupn", "manageruserprincipalname", "reportsto", "supervisor", "supervisoremail", "linemanager", "linemanageremail");
add("manager", "vorgesetzter", "vorgesetzte", "responsable", "jefe", "responsabile", "leidinggevende");
// The headings of HR and badge-system exports in German, French, Spanish, Italian and Dutch (accents folded).
add("email", "emailadresse", "courriel", "adresseemail", "adressemail", "correo", "correoelectronico", "posta", "postaelettronica", "emailadres");
add("userPrincipalName", "benutzername", "anmeldename", "identifiant", "nomdutilisateur", "usuario", "nombredeusuario", "nomeutente", "gebruikersnaam");
add("displayName", "vollstandigername", "anzeigename", "nomcomplet", "nomaffiche", "nombrecompleto", "nomecompleto", "volledigenaam", "weergavenaam");
add("givenName", "vorname", "prenom", "nombre", "nome", "voornaam");
add("surname", "nachname", "familienname", "nom", "nomdefamille", "apellido", "apellidos", "cognome", "achternaam");
add("department", "abteilung", "service", "departement", "departamento", "reparto", "dipartimento", "afdeling");
add("jobTitle", "stellenbezeichnung", "berufsbezeichnung", "funktion", "fonction", "cargo", "puesto", "ruolo", "mansione", "functie");
add("employeeId", "personalnummer", "mitarbeiternummer", "matricule", "numerodemploye", "numerodeempleado", "matricola", "personeelsnummer");
add("mobilePhone", "mobiltelefon", "handy", "handynummer", "telefon", "telephoneportable", "portable", "movil", "telefonomovil", "cellulare", "telefono", "mobiel", "telefoonnummer");
add("cardNumbers", "ausweis", "ausweisnummer", "karte", "kartennummer", "carte", "numerodecarte", "tarjeta", "numerodetarjeta", "tessera", "pas", "pasnummer");
add("groups", "gruppen", "gruppe", "groupes", "grupos", "gruppi", "groepen");
add("enabled", "aktiv", "actif", "activo", "attivo", "actief");
// Polish, Brazilian Portuguese and Japanese exports' headings.
add("email", "adresemail", "emailcorporativo", "メールアドレス", "メール", "電子メール");
add("displayName", "imieinazwisko", "氏名", "名前", "表示名");
add("givenName", "imie", "prenome", "primeironome", "名");
add("surname", "nazwisko", "sobrenome", "ultimonome", "姓");
add("department", "dział", "部署", "所属");
add("jobTitle", "stanowisko", "役職");
add("employeeId", "numerpracownika", "matricula", "社員番号", "従業員番号");
add("mobilePhone", "telefonkomorkowy", "celular", "携帯電話", "携帯");
add("groups", "grupy", "グループ");
add("enabled", "aktywny", "ativo", "有効");

/**
 * Headings that mean a field only when no column names it more exactly: "Phone" beside "Mobile" is the office
 * phone, and a "Username" beside an "Email" is most often a short login ("jsmith"), not a user principal name.
 */
const weakSynonyms = new Map<string, { field: ImportField; otherwise: ImportField | { ignore: string } }>();
const addWeak = (field: ImportField, otherwise: ImportField | { ignore: string }, ...names: string[]) => names.forEach((n) => weakSynonyms.set(n, { field, otherwise }));
addWeak("mobilePhone", "businessPhones", "phone", "phonenumber", "telefon", "telefono", "telefoonnummer");
addWeak(
  "userPrincipalName",
  { ignore: "the file has an Email column, and a user name beside it is usually a short login, not a user principal name; map it in a mapping file if it holds UPNs" },
  "username", "loginname", "login", "signinname", "benutzername", "anmeldename", "identifiant", "nomdutilisateur", "usuario", "nombredeusuario", "nomeutente", "gebruikersnaam",
);
for (const key of weakSynonyms.keys()) synonyms.delete(key);

/** Entra's "[property]" names; accountEnabled is shown as "Block sign in (Yes/No)", hence inverted. */
const entraProperties = new Map<string, ImportField | { ignore: string }>(Object.entries({
  displayname: "displayName",
  userprincipalname: "userPrincipalName",
  passwordprofile: { ignore: "users sign in with Microsoft; Rollcall never stores passwords" },
  accountenabled: "blockSignIn",
  givenname: "givenName",
  surname: "surname",
  jobtitle: "jobTitle",
  department: "department",
  telephonenumber: "businessPhones",
  mobile: "mobilePhone",
  usagelocation: "customAttributes.usageLocation",
  streetaddress: "customAttributes.streetAddress",
  state: "customAttributes.state",
  country: "customAttributes.country",
  physicaldeliveryofficename: "customAttributes.officeLocation",
  city: "customAttributes.city",
  postalcode: "customAttributes.postalCode",
}));

/** A header without case, accents, spaces or punctuation: "Téléphone portable" → "telephoneportable". */
export function headerKey(header: string): string {
  return withoutAccents(header).toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
}

const fieldSchema = z.union([z.enum(importFields), z.string().regex(/^customAttributes\.[A-Za-z0-9_.-]{1,64}$/), z.null()]);
export const mappingFileSchema = z.record(z.string(), fieldSchema);
export type MappingFile = Record<string, ImportField | null>;

export function parseMappingFile(json: unknown): MappingFile {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw invalidInput([{ field: "mapping", message: 'must be a JSON object of column heading → field, e.g. {"Badge": "cardNumbers", "Notes": null}' }]);
  }
  const parsed = mappingFileSchema.safeParse(json);
  if (!parsed.success) {
    throw invalidInput(
      parsed.error.issues.map((issue) => ({
        field: `mapping.${issue.path.join(".")}`,
        message: `must be one of ${importFields.join(", ")}, customAttributes.<name>, or null to skip the column`,
      })),
    );
  }
  return parsed.data as MappingFile;
}

export function mapColumns(headers: string[], explicit: MappingFile = {}): ColumnMapping {
  const explicitByKey = new Map(Object.entries(explicit).map(([k, v]) => [headerKey(k), v]));
  const explicitByLetter = new Map(Object.entries(explicit).flatMap(([k, v]) => (byLetter.test(k) ? [[k.toLowerCase(), v] as const] : [])));
  const isEntra = headers.some((h) => /\[\s*userPrincipalName\s*\]/i.test(h));
  const fields: (ImportField | null)[] = [];
  const unknown: string[] = [];
  const ignored: { column: string; reason: string }[] = [];
  const weakColumns: { index: number; otherwise: ImportField | { ignore: string } }[] = [];
  let nameColumn: number | undefined;
  headers.forEach((header, index) => {
    const letterKey = columnByLetter(index).toLowerCase();
    let field: ImportField | null | undefined = explicitByLetter.has(letterKey)
      ? explicitByLetter.get(letterKey)
      : Object.hasOwn(explicit, header) ? explicit[header] : explicitByKey.get(headerKey(header));
    if (field === undefined) {
      // "Name [displayName]" is Entra's template; "Email Address [Required]" (Google's) only annotates the name.
      const property = /\[\s*([A-Za-z]+)\s*\]/.exec(header)?.[1]?.toLowerCase();
      const entra = property ? entraProperties.get(property) : undefined;
      const key = headerKey(entra ? header : header.replace(/\[[^\]]*\]/g, ""));
      const weak = weakSynonyms.get(key);
      if (entra && typeof entra === "object") {
        ignored.push({ column: header, reason: entra.ignore });
        field = null;
      } else if (weak && !entra) {
        weakColumns.push({ index, otherwise: weak.otherwise });
        field = weak.field;
      } else {
        if (key === "name" && !entra) nameColumn = index;
        field = entra ?? synonyms.get(key) ?? (key.startsWith("customattributes") && header.includes(".") ? (`customAttributes.${header.split(".").slice(1).join(".").trim()}` as ImportField) : undefined);
      }
    }
    if (field === undefined) {
      if (header.trim() !== "") unknown.push(header);
      field = null;
    } else if (field === null && !ignored.some((i) => i.column === header)) {
      ignored.push({ column: header, reason: "skipped by the mapping file" });
    }
    fields[index] = field;
  });
  for (const { index, otherwise } of weakColumns) {
    const field = fields[index]!;
    const exact = fields.some((f, i) => i !== index && (f === field || (field === "userPrincipalName" && f === "email")) && !weakColumns.some((w) => w.index === i));
    if (!exact) continue;
    if (typeof otherwise === "object") {
      fields[index] = null;
      ignored.push({ column: headers[index]!, reason: otherwise.ignore });
    } else if (fields.includes(otherwise)) {
      fields[index] = null;
      ignored.push({ column: headers[index]!, reason: `other columns hold ${field} and ${otherwise}` });
    } else fields[index] = otherwise;
  }
  // "Name" beside a first name and no last name is the family name: "Vorname; Name" in German exports, "First name, Name".
  if (nameColumn !== undefined && fields.includes("givenName") && !fields.includes("surname") && fields.filter((f) => f === "displayName").length === 1) {
    fields[nameColumn] = "surname";
  }

  const seen = new Map<string, string>();
  const problems: { field: string; message: string }[] = [];
  // A mapped column the file lacks (misspelt, or renamed in this export) would leave its field out without a word.
  const headerKeys = new Set(headers.map(headerKey));
  for (const [column, field] of Object.entries(explicit)) {
    const letter = byLetter.exec(column)?.[1];
    const lettered = letter !== undefined && columnIndex(letter.toUpperCase()) <= headers.length;
    if (field !== null && !lettered && !headers.includes(column) && !headerKeys.has(headerKey(column))) {
      problems.push({ field, message: `the mapping maps column "${column}" to ${field}, but the file has no such column` });
    }
  }
  fields.forEach((field, index) => {
    const name = field?.startsWith("customAttributes.") ? field.slice("customAttributes.".length) : undefined;
    const checked = name === undefined ? undefined : customAttributeName.safeParse(name);
    if (checked && !checked.success) problems.push({ field: "customAttributes", message: `column "${headers[index]}": ${checked.error.issues[0]!.message}` });
  });
  const at = new Map<string, number>();
  fields.forEach((field, index) => {
    if (!field) return;
    const other = at.get(field);
    // Named by letter too: two columns may have the same heading, and then only the letters tell them apart.
    if (other !== undefined) problems.push({ field, message: `columns ${columnName(other + 1)} "${headers[other]}" and ${columnName(index + 1)} "${headers[index]}" both map to ${field}; rename one, or map one of them to another field by its letter ("${columnByLetter(index)}")` });
    else {
      seen.set(field, headers[index]!);
      at.set(field, index);
    }
  });
  if (!seen.has("email") && !seen.has("userPrincipalName")) {
    problems.push({ field: "email", message: "no column holds the email or userPrincipalName (the matching key); expected a header such as Email, Mail or User name" });
  }
  // No name column is no problem here: an edited export whose name columns were deleted only updates the users
  // it matches, which keep their names; a row that would add a user is a problem at that row (see import-pass.ts).
  if (problems.length) {
    const notRecognised = unknown.length ? ` Not recognised: ${unknown.map((h) => `"${h}"`).join(", ")}.` : "";
    throw new RollcallError(
      "import_invalid",
      `${problems.every((p) => p.message.startsWith("the mapping maps")) ? "The mapping does not fit the file" : "Required columns are missing or ambiguous"}: ${problems.map((p) => p.message).join("; ")}.${notRecognised} Rename the columns, or say which field each column holds (a mapping: --mapping FILE, or the console's Columns step).`,
      { reason: "columns", fields: problems, headers, mapped: headers.flatMap((column, i) => (fields[i] ? [{ column, field: fields[i] }] : [])), unknownColumns: unknown, inFile: columnsInFile(headers, fields) },
    );
  }
  const isRollcall = headers.every((h, i) => fields[i] !== null && (h === fields[i] || h.startsWith("customAttributes.")));
  return { fields, headers, unknown, ignored, layout: isEntra ? "entra" : isRollcall ? "rollcall" : "generic" };
}
