import { describe, expect, it } from "vitest";
import { mapColumns, parseMappingFile } from "../../src/sources/import/mapping.ts";
import { readRow } from "../../src/sources/import/row.ts";
import { RollcallError } from "../../src/errors.ts";

function thrown(fn: () => unknown): RollcallError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RollcallError);
    return error as RollcallError;
  }
  throw new Error("expected an error");
}

describe("column mapping", () => {
  it("recognises headers case- and space-insensitively through synonyms and lists unknown columns", () => {
    const mapping = mapColumns(["E-mail", "FULL NAME", "First Name", "surname", "Dept", "Job Title", "Mobile", "Card Number", "PIN", "Alias", "Groups", "Shoe size"]);
    expect(mapping.fields).toEqual(["email", "displayName", "givenName", "surname", "department", "jobTitle", "mobilePhone", "cardNumbers", "pin", "aliases", "groups", null]);
    expect(mapping.unknown).toEqual(["Shoe size"]);
    expect(mapping.layout).toBe("generic");
  });

  it("recognises the headings of German, French, Spanish, Italian and Dutch exports, accents or not", () => {
    expect(mapColumns(["E-Mail-Adresse", "Vorname", "Nachname", "Abteilung", "Handy", "Ausweisnummer", "Gruppen", "Personalnummer"]).fields).toEqual(
      ["email", "givenName", "surname", "department", "mobilePhone", "cardNumbers", "groups", "employeeId"],
    );
    expect(mapColumns(["Courriel", "Prénom", "Nom", "Service", "Téléphone portable", "Numéro de carte", "Groupes", "Fonction"]).fields).toEqual(
      ["email", "givenName", "surname", "department", "mobilePhone", "cardNumbers", "groups", "jobTitle"],
    );
    expect(mapColumns(["Correo electrónico", "Nombre completo", "Móvil", "Tarjeta"]).fields).toEqual(["email", "displayName", "mobilePhone", "cardNumbers"]);
    expect(mapColumns(["E-mail", "Nome", "Cognome", "Cellulare", "Gruppi"]).fields).toEqual(["email", "givenName", "surname", "mobilePhone", "groups"]);
    expect(mapColumns(["E-mailadres", "Volledige naam", "Afdeling", "Mobiel", "Pasnummer"]).fields).toEqual(["email", "displayName", "department", "mobilePhone", "cardNumbers"]);
    // A mapping file's headers are compared the same way.
    expect(mapColumns(["Mél", "Name"], parseMappingFile({ mel: "email" })).fields).toEqual(["email", "displayName"]);
  });

  it("reads a vague heading as the field no other column names more exactly", () => {
    // "Phone" beside "Mobile" is the office phone; alone it is the mobile.
    expect(mapColumns(["Email", "Name", "Phone", "Mobile"]).fields).toEqual(["email", "displayName", "businessPhones", "mobilePhone"]);
    expect(mapColumns(["Email", "Name", "Phone"]).fields).toEqual(["email", "displayName", "mobilePhone"]);
    // A "Username" beside an "Email" is usually a short login: left out, with why; alone it is the UPN.
    const withEmail = mapColumns(["Email", "Username", "Name"]);
    expect(withEmail.fields).toEqual(["email", null, "displayName"]);
    expect(withEmail.ignored).toEqual([{ column: "Username", reason: expect.stringContaining("short login") }]);
    expect(mapColumns(["Login", "Name"]).fields).toEqual(["userPrincipalName", "displayName"]);
    expect(mapColumns(["Email", "UPN", "Name"]).fields).toEqual(["email", "userPrincipalName", "displayName"]);
    // "Name" beside a first name is the family name (German exports: "Vorname; Name"); beside both, the full name.
    expect(mapColumns(["Personalnummer", "Vorname", "Name", "E-Mail"]).fields).toEqual(["employeeId", "givenName", "surname", "email"]);
    expect(mapColumns(["Email", "First name", "Name"]).fields).toEqual(["email", "givenName", "surname"]);
    expect(mapColumns(["Email", "First name", "Last name", "Name"]).fields).toEqual(["email", "givenName", "surname", "displayName"]);
    expect(mapColumns(["Email", "Vorname", "Name"], parseMappingFile({ Name: "displayName" })).fields).toEqual(["email", "givenName", "displayName"]);
  });

  it("reads Google Workspace's headings, whose brackets only annotate them", () => {
    expect(mapColumns(["First Name [Required]", "Last Name [Required]", "Email Address [Required]", "Department", "Mobile Phone"]).fields).toEqual(
      ["givenName", "surname", "email", "department", "mobilePhone"],
    );
  });

  it("takes headings named like the properties of every JavaScript object as unknown columns", () => {
    const mapping = mapColumns(["Email", "Name", "toString", "constructor", "__proto__", "hasOwnProperty [constructor]"]);
    expect(mapping.fields).toEqual(["email", "displayName", null, null, null, null]);
    expect(mapping.unknown).toEqual(["toString", "constructor", "__proto__", "hasOwnProperty [constructor]"]);
  });

  it("recognises Entra ID's bulk-create template, inverting Block sign in and never taking the password", () => {
    const mapping = mapColumns([
      "Name [displayName] Required", "User name [userPrincipalName] Required", "Initial password [passwordProfile] Required",
      "Block sign in (Yes/No) [accountEnabled] Required", "Office phone [telephoneNumber]", "Mobile phone [mobile]", "Usage location [usageLocation]",
    ]);
    expect(mapping.layout).toBe("entra");
    expect(mapping.fields).toEqual(["displayName", "userPrincipalName", null, "blockSignIn", "businessPhones", "mobilePhone", "customAttributes.usageLocation"]);
    expect(mapping.ignored).toEqual([{ column: "Initial password [passwordProfile] Required", reason: expect.stringContaining("passwords") }]);
  });

  it("recognises Rollcall's own template", () => {
    expect(mapColumns(["email", "displayName", "cardNumbers", "customAttributes.costCentre"]).layout).toBe("rollcall");
  });

  it("lets a mapping file override synonyms, add fields and skip columns", () => {
    const explicit = parseMappingFile({ Badge: "cardNumbers", "Full name": null, Name: "displayName", "Cost centre": "customAttributes.costCentre" });
    const mapping = mapColumns(["Mail", "badge", "Full name", "Name", "Cost centre"], explicit);
    expect(mapping.fields).toEqual(["email", "cardNumbers", null, "displayName", "customAttributes.costCentre"]);
    expect(mapping.ignored).toEqual([{ column: "Full name", reason: "skipped by the mapping file" }]);
  });

  it("refuses a mapping file mapping a column the file does not have, unless it only skips it", () => {
    const error = thrown(() => mapColumns(["Email", "Name", "Badge #"], parseMappingFile({ "Badge No": "cardNumbers", "Middle name": null })));
    expect(error.code).toBe("import_invalid");
    expect(error.details.fields).toEqual([{ field: "cardNumbers", message: 'the mapping maps column "Badge No" to cardNumbers, but the file has no such column' }]);
    expect(error.message).toMatch(/^The mapping does not fit the file: the mapping maps column "Badge No"/);
    expect(mapColumns(["Email", "Name"], parseMappingFile({ "Middle name": null, NAME: "displayName" })).fields).toEqual(["email", "displayName"]);
  });

  it("refuses a mapping file naming a field that does not exist", () => {
    expect(thrown(() => parseMappingFile({ Badge: "badgeNumber" })).code).toBe("invalid_input");
  });

  it("refuses a mapping that is not an object of headings, saying what it must be", () => {
    for (const json of [["x"], "x", null, 7]) {
      expect(thrown(() => parseMappingFile(json)).details.fields).toEqual([{ field: "mapping", message: 'must be a JSON object of column heading → field, e.g. {"Badge": "cardNumbers", "Notes": null}' }]);
    }
  });

  it("refuses a custom-attribute column without a name or with one over 64 characters, naming the column", () => {
    const long = `customAttributes.${"x".repeat(65)}`;
    const error = (() => {
      try {
        mapColumns(["Email", "Name", "customAttributes.", long, "customAttributes.costCentre"]);
      } catch (e) {
        return e as RollcallError;
      }
    })();
    expect(error?.details.fields).toEqual([
      { field: "customAttributes", message: 'column "customAttributes.": a custom attribute needs a name' },
      { field: "customAttributes", message: `column "${long}": a custom attribute's name is at most 64 characters` },
    ]);
  });

  it("says which required columns are missing, and which columns collide", () => {
    const missing = thrown(() => mapColumns(["Name", "Department"]));
    expect(missing.code).toBe("import_invalid");
    expect(missing.message).toMatch(/email or userPrincipalName/);
    const unplaced = thrown(() => mapColumns(["Mél pro", "Nom affiché", "Kostenstelle"]));
    expect(unplaced.message).toMatch(/ Not recognised: "Mél pro", "Kostenstelle"\. Rename the columns, or say which field each column holds \(a mapping: --mapping FILE/);
    expect(unplaced.details).toMatchObject({ reason: "columns", headers: ["Mél pro", "Nom affiché", "Kostenstelle"], unknownColumns: ["Mél pro", "Kostenstelle"] });
    const twice = thrown(() => mapColumns(["Email", "Mail", "Name"]));
    expect(twice.message).toContain('columns A "Email" and B "Mail" both map to email');
    // The same heading twice: only the letters tell which to rename.
    expect(thrown(() => mapColumns(["Email", "Name", "Email"])).message).toContain('columns A "Email" and C "Email" both map to email; rename one, or map one of them to another field by its letter ("column C")');
    // Two columns of one heading are told apart by letter.
    const byLetter = mapColumns(["Email", "Name", "Name"], parseMappingFile({ "Column C": "surname" }));
    expect(byLetter.fields).toEqual(["email", "displayName", "surname"]);
    expect(thrown(() => mapColumns(["Email", "Name"], parseMappingFile({ "column D": "surname" }))).message).toContain('the mapping maps column "column D" to surname, but the file has no such column');
  });
});

describe("row validation", () => {
  const mapping = mapColumns(["Email", "First name", "Last name", "Mobile", "Card", "PIN", "Groups", "Enabled", "Department"]);
  const row = (cells: string[], country: string | null = "GB") => readRow(7, cells, mapping, country);

  it("normalises a good row: phone in E.164, lists split on ; and ,, name derived, formula prefix removed", () => {
    const { user, problems } = row(["ada@example.com", "Ada", "Lovelace", "'+44 7911 123456", "000123; 000124", "1234", "Engineers, London;engineers", "yes", "R&D"]);
    expect(problems).toEqual([]);
    expect(user).toMatchObject({
      row: 7, email: "ada@example.com", displayName: "Ada Lovelace", mobilePhone: "+447911123456",
      cardNumbers: ["000123", "000124"], pin: "1234", groups: ["Engineers", "London"], enabled: true, department: "R&D",
    });
  });

  it("reports every problem with row, column and value", () => {
    const { user, problems } = row(["not-an-email", "", "", "12", "000123;000123", "12a", "", "maybe", "x".repeat(300)]);
    expect(user).toBeUndefined();
    const byField = Object.fromEntries(problems.map((p) => [p.field, p]));
    expect(byField.email).toMatchObject({ row: 7, column: "Email", value: "not-an-email" });
    expect(byField.displayName).toBeUndefined(); // no Display name column: a row without a name only updates (see round-trip.test.ts)
    expect(byField.mobilePhone).toMatchObject({ column: "Mobile", value: "12" });
    expect(byField.cardNumbers).toMatchObject({ column: "Card", message: expect.stringMatching(/twice/) });
    expect(byField.pin).toMatchObject({ column: "PIN", message: "must contain digits only" });
    expect(byField.enabled).toMatchObject({ column: "Enabled", value: "maybe" });
    expect(byField.department).toMatchObject({ column: "Department", message: expect.stringMatching(/too long/) });
  });

  it("reads a row without a name as giving none when no column is the Display name, and refuses a blank Display name", () => {
    expect(row(["ada@example.com", "", "", "", "", "", "", "", ""])).toMatchObject({ problems: [], user: { displayName: "" } });
    const departments = mapColumns(["Email", "Department"]); // an export whose name columns were deleted
    expect(readRow(2, ["ada@example.com", "Ops"], departments, "GB")).toMatchObject({ problems: [], user: { displayName: "", department: "Ops" } });
    const named = mapColumns(["Email", "Display name", "First name"]);
    expect(readRow(3, ["ada@example.com", "", ""], named, "GB").problems).toEqual([{ row: 3, column: "Display name", field: "displayName", message: "is required (or give a first and last name)" }]);
    expect(readRow(3, ["ada@example.com", "", "Ada"], named, "GB").user?.displayName).toBe("Ada");
  });

  it("refuses a spreadsheet's error values (#N/A, #REF!) as a problem at the cell, not as data", () => {
    const { user, problems } = row(["ada@example.com", "Ada", "Lovelace", "", "#REF!", "", "", "", "#n/a"]);
    expect(user).toBeUndefined();
    expect(problems.map((p) => [p.column, p.value])).toEqual([["Card", "#REF!"], ["Department", "#n/a"]]);
    expect(problems[0]!.message).toContain("spreadsheet error #REF!");
    expect(row(["ada@example.com", "Ada", "Lovelace", "", "", "", "#Ops", "", "#1 team"]).problems).toEqual([]);
  });

  it("reads a local phone number in the workspace's default country only", () => {
    expect(row(["a@b.co", "A", "B", "07911 123456", "", "", "", "", ""]).user?.mobilePhone).toBe("+447911123456");
    expect(row(["a@b.co", "A", "B", "07911 123456", "", "", "", "", ""], "US").problems[0]).toMatchObject({ field: "mobilePhone" });
  });

  it("inverts Entra's Block sign in column", () => {
    const entra = mapColumns(["Name [displayName] Required", "User name [userPrincipalName] Required", "Block sign in (Yes/No) [accountEnabled] Required"]);
    expect(readRow(3, ["Al", "al@contoso.com", "Yes"], entra, null).user?.enabled).toBe(false);
    expect(readRow(3, ["Al", "al@contoso.com", "No"], entra, null).user?.enabled).toBe(true);
  });

  it("reads ticks, crosses and the yes and no of German, French, Spanish, Italian and Dutch exports as enabled or not", () => {
    const german = mapColumns(["E-Mail", "Name", "Aktiv"]);
    expect(german.fields).toEqual(["email", "displayName", "enabled"]);
    const enabled = (value: string) => readRow(2, ["a@b.co", "A", value], german, null).user?.enabled;
    for (const value of ["x", "X", "\u2713", "ja", "Oui", "sí", "Vero", "actief"]) expect(enabled(value), value).toBe(true);
    for (const value of ["nein", "non", "No", "falso", "nee", "inaktiv"]) expect(enabled(value), value).toBe(false);
    expect(readRow(2, ["a@b.co", "A", "vielleicht"], german, null).problems).toEqual([expect.objectContaining({ column: "Aktiv", field: "enabled", value: "vielleicht" })]);
  });
});
