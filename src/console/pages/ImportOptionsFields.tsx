import type { ImportOptions } from "../import-api.ts";
import { ApiError } from "../api.ts";
import { CheckField, SelectField, TextField } from "../components/ui.tsx";

/**
 * The import's options: the source name, a workbook's sheet (when it has several), whether to take over users with
 * the same email, and whether to import the valid rows of a file with problems.
 */
export function ImportOptionsFields({ options, fileName, sheets, sheetRead, error, onChange }: {
  options: ImportOptions;
  fileName: string | undefined;
  /** A workbook's sheets, and the one read (none for a CSV file). */
  sheets: string[];
  sheetRead: string | null;
  error: unknown;
  onChange: (change: Partial<ImportOptions>) => void;
}) {
  return (
    <div className="grid-2 import-options">
      <TextField
        label="Source name"
        value={options.source}
        placeholder={fileName ?? "the file name"}
        onChange={(e) => onChange({ source: e.target.value })}
        hint="Importing again under the same name updates the same users."
        error={error instanceof ApiError ? error.fieldMap().source : undefined}
      />
      {sheets.length > 1 ? (
        <SelectField label="Sheet" value={options.sheet || sheetRead || ""} onChange={(e) => onChange({ sheet: e.target.value, mapping: {} })}>
          {sheets.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
      ) : (
        <span />
      )}
      <CheckField
        label="Take over existing users with the same email"
        checked={options.updateExisting}
        onChange={(e) => onChange({ updateExisting: e.target.checked })}
        hint="Users added by hand or by another import become this import's. Otherwise they are left alone and reported. Users synced from Entra ID are never changed."
      />
      <CheckField
        label="Import the valid rows even if some rows have problems"
        checked={options.partial}
        onChange={(e) => onChange({ partial: e.target.checked })}
        hint="Otherwise one bad row stops the whole import, so you can fix the file and try again."
      />
    </div>
  );
}
