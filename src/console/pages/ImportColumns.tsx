import type { ImportReport } from "../../core/import-report.ts";
import { fieldLabel } from "../../domain/change.ts";
import { customAttributeField, importFields } from "../../domain/import-fields.ts";
import { DataTable } from "../components/DataTable.tsx";

/** Column header (or "column C", for one of two columns with the same heading) → the field it fills, or null: not imported. What the import API takes as `mapping`. */
export type ColumnChoices = Record<string, string | null>;

export interface FileColumn {
  /** What `ColumnChoices` names it by: its heading, or its letter when another column has the same heading. */
  key: string;
  header: string;
  letter: string;
  /** What the import makes of the column now (null: not imported). */
  field: string | null;
}

type InFile = { column: string; letter: string; field: string | null };

function keyed(columns: InFile[]): FileColumn[] {
  const count = new Map<string, number>();
  for (const { column } of columns) count.set(column, (count.get(column) ?? 0) + 1);
  return columns.map(({ column, letter, field }) => ({ key: count.get(column)! > 1 ? `column ${letter}` : column, header: column, letter, field }));
}

/** The file's columns as a report read them, in file order. */
export function columnsOfReport(report: ImportReport): FileColumn[] {
  return keyed(report.columns.inFile);
}

/** The columns of a file the import refused for its columns (details of a 422 with reason "columns"), in file order. */
export function columnsOfRefusal(details: Record<string, unknown>): FileColumn[] | null {
  if (details.reason !== "columns" || !Array.isArray(details.inFile)) return null;
  return keyed(details.inFile as InFile[]);
}

/**
 * Which field each column of the file fills, chosen by the admin: headings the import does not recognise
 * (another language, an HR system's own names) can still be imported without editing the file.
 */
export function ColumnsEditor({ columns, choices, onChange }: { columns: FileColumn[]; choices: ColumnChoices; onChange: (choices: ColumnChoices) => void }) {
  const choose = (key: string, value: string) => onChange({ ...choices, [key]: value === "none" ? null : value });
  return (
    <DataTable columns={["Column in the file", "Imported as"]}>
      {columns.map(({ key, header, letter, field }) => {
        const chosen = key in choices ? (choices[key] ?? "none") : (field ?? "none");
        const custom = customAttributeField(header);
        const name = key === header ? header : `${header} (column ${letter})`;
        return (
          <tr key={key}>
            <td data-label="Column in the file">{name}</td>
            <td data-label="Imported as">
              <select aria-label={`Imported as, column ${name}`} value={chosen} onChange={(e) => choose(key, e.target.value)}>
                <option value="none">Not imported</option>
                {importFields.map((f) => (
                  <option key={f} value={f}>
                    {fieldLabel(f)}
                  </option>
                ))}
                {custom ? <option value={custom}>Custom attribute “{custom.slice("customAttributes.".length)}”</option> : null}
                {chosen.startsWith("customAttributes.") && chosen !== custom ? <option value={chosen}>Custom attribute “{chosen.slice("customAttributes.".length)}”</option> : null}
              </select>
            </td>
          </tr>
        );
      })}
    </DataTable>
  );
}
