import { api, upload, withQuery, ws } from "./api.ts";
import type { ImportReport } from "../core/import-report.ts";
import type { ImportProgress } from "../core/imports.ts";
import type { ColumnChoices } from "./pages/ImportColumns.tsx";

/** The import and export calls: one place to adapt if the import routes change shape. */
export interface Upload {
  id: string;
  fileName: string;
  size: number;
  uploadedAt: string;
  expiresAt: string;
  preview: ImportReport;
}

/**
 * Every option, a default one too (blank, {}): the server takes an option left out from the upload's latest
 * preview, so what the admin cleared would come back. A commit with the options of the preview shown is refused if
 * the upload was previewed since with others (another tab, another admin): it never imports something not shown.
 */
const optionFields = (options: ImportOptions) => ({
  partial: options.partial,
  updateExisting: options.updateExisting,
  source: options.source.trim(),
  sheet: options.sheet,
  // A draft kept before the console had the field has none.
  encoding: options.encoding?.trim() ?? "",
  mapping: JSON.stringify(options.mapping),
});

export const importApi = {
  /** Upload the file; the server keeps it for a day and answers a dry-run preview. */
  upload(workspace: string, file: File, options: ImportOptions, onProgress: (sent: number, total: number) => void): Promise<Upload> {
    const form = new FormData();
    // The server keeps these with the file, as its first preview's options.
    for (const [key, value] of Object.entries(optionFields(options))) form.append(key, String(value));
    form.append("file", file, file.name);
    return upload(ws(workspace, "/imports"), form, onProgress);
  },
  // Not api.get's query, which leaves out blank values: a blank source is sent, to go back to the default.
  preview: (workspace: string, id: string, options: ImportOptions) =>
    api.get<ImportReport>(`${ws(workspace, `/imports/${encodeURIComponent(id)}`)}?${new URLSearchParams(Object.entries(optionFields(options)).map(([k, v]) => [k, String(v)]))}`),
  commit: (workspace: string, id: string, options: ImportOptions) => api.post<ImportReport>(ws(workspace, `/imports/${encodeURIComponent(id)}/commit`), optionFields(options)),
  progress: (workspace: string, id: string) => api.get<{ committing: boolean; progress: ImportProgress | null }>(ws(workspace, `/imports/${encodeURIComponent(id)}/progress`)),
  discard: (workspace: string, id: string) => api.del(ws(workspace, `/imports/${encodeURIComponent(id)}`)),
  exportUrl: (workspace: string, format: "csv" | "xlsx") => `/api/v1${withQuery(ws(workspace, "/exports"), { format })}`,
  templateUrl: (workspace: string, format: "csv" | "xlsx") => `/api/v1${withQuery(ws(workspace, "/imports/template"), { format })}`,
};

export interface ImportOptions {
  partial: boolean;
  updateExisting: boolean;
  source: string;
  sheet: string;
  /** A CSV file's text encoding, blank to detect it. */
  encoding: string;
  /** The admin's choices of field for the file's columns, over what the import recognises. */
  mapping: ColumnChoices;
}
