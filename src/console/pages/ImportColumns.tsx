import type { ImportReport } from "../../core/import-report.ts";
import { fieldLabel } from "../../domain/change.ts";
import { customAttributeField, importFields } from "../../domain/import-fields.ts";
import { DataTable } from "../components/DataTable.tsx";

/** Column header → the field it fills, or null: not imported. What the import API takes as `mapping`. */
export type ColumnChoices = Record<string, string | null>;

export interface FileColumn {
  header: string;
  /** What the import makes of the column now (null: not imported). */
  field: string | null;
}

/** The file's columns as a report read them: matched ones first, then those left out. */
export function columnsOfReport(report: ImportReport): FileColumn[] {
  return [
    ...report.columns.mapped.map((m) => ({ header: m.column, field: m.field })),
    ...report.columns.unknown.map((header) => ({ header, field: null })),
    ...report.columns.ignored.map((i) => ({ header: i.column, field: null })),
  ];
}

/** The columns of a file the import refused for its columns (details of a 422 with reason "columns"), in file order. */
export function columnsOfRefusal(details: Record<string, unknown>): FileColumn[] | null {
  if (details.reason !== "columns" || !Array.isArray(details.headers)) return null;
  const mapped = new Map((Array.isArray(details.mapped) ? (details.mapped as { column: string; field: string }[]) : []).map((m) => [m.column, m.field]));
  return details.headers.map(String).filter((h) => h.trim() !== "").map((header) => ({ header, field: mapped.get(header) ?? null }));
}

/**
 * Which field each column of the file fills, chosen by the admin: headings the import does not recognise
 * (another language, an HR system's own names) can still be imported without editing the file.
 */
export function ColumnsEditor({ columns, choices, onChange }: { columns: FileColumn[]; choices: ColumnChoices; onChange: (choices: ColumnChoices) => void }) {
  const choose = (header: string, value: string) => onChange({ ...choices, [header]: value === "none" ? null : value });
  return (
    <DataTable columns={["Column in the file", "Imported as"]}>
      {columns.map(({ header, field }) => {
        const chosen = header in choices ? (choices[header] ?? "none") : (field ?? "none");
        const custom = customAttributeField(header);
        return (
          <tr key={header}>
            <td data-label="Column in the file">{header}</td>
            <td data-label="Imported as">
              <select aria-label={`Imported as, column ${header}`} value={chosen} onChange={(e) => choose(header, e.target.value)}>
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
