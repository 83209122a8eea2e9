import type { ImportOptions } from "../import-api.ts";
import { ApiError } from "../api.ts";
import { CheckField, SelectField, TextField } from "../components/ui.tsx";

/** Offered as the admin types; any encoding the server knows is accepted. */
const commonEncodings = ["utf-8", "utf-16le", "windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254", "windows-1257", "iso-8859-1", "iso-8859-2", "iso-8859-15", "cp437", "cp850", "cp852", "koi8-r", "shift_jis", "euc-jp", "gb18030", "big5", "euc-kr"];

/**
 * The import's options: the source name, a workbook's sheet (when it has several) or a CSV file's text encoding, whether to take over users with
 * the same email, and whether to import the valid rows of a file with problems.
 */
export function ImportOptionsFields({ options, fileName, sheets, sheetRead, encodingRead, error, onChange }: {
  options: ImportOptions;
  fileName: string | undefined;
  /** A workbook's sheets, and the one read (none for a CSV file). */
  sheets: string[];
  sheetRead: string | null;
  /** The encoding a CSV file was read in, detected or chosen (none before it is checked, or for a workbook). */
  encodingRead: string | null;
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
      ) : fileName && !/\.xlsx$/i.test(fileName) ? (
        <>
          <TextField
            label="Text encoding"
            value={options.encoding}
            placeholder={encodingRead && !options.encoding ? `${encodingRead} (detected)` : "detected from the file"}
            list="import-encodings"
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => onChange({ encoding: e.target.value })}
            hint="When names show wrong letters: the code page the file was saved in, e.g. windows-1257 (Baltic), iso-8859-2, cp850 (DOS)."
            error={error instanceof ApiError ? error.fieldMap().encoding : undefined}
          />
          <datalist id="import-encodings">
            {commonEncodings.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </>
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
