import { useRef, useState, type DragEvent } from "react";
import { ApiError, upload, withQuery, ws } from "../api.ts";
import { Link } from "../router.tsx";
import { useWorkspaceName, wsPath } from "../session.tsx";
import { useTitle } from "../hooks.ts";
import type { ImportReport } from "../../core/import-report.ts";
import { CheckField, ErrorBanner, ProgressBar, SelectField, Spinner, TextField, useToast } from "../components/ui.tsx";
import { fieldLabel } from "../components/History.tsx";

/** The import and export calls: one place to adapt if the import routes change shape. */
const importApi = {
  run(workspace: string, file: File, options: ImportOptions, onProgress: (sent: number, total: number) => void): Promise<ImportReport & { id?: string }> {
    const form = new FormData();
    // Options first: a streaming multipart parser sees them before the file.
    form.append("dryRun", String(options.dryRun));
    form.append("partial", String(options.partial));
    form.append("updateExisting", String(options.updateExisting));
    if (options.source) form.append("source", options.source);
    if (options.sheet) form.append("sheet", options.sheet);
    form.append("file", file, file.name);
    return upload(ws(workspace, "/imports"), form, onProgress);
  },
  exportUrl: (workspace: string, format: "csv" | "xlsx") => `/api/v1${withQuery(ws(workspace, "/users/export"), { format })}`,
  templateUrl: (workspace: string, format: "csv" | "xlsx") => `/api/v1${withQuery(ws(workspace, "/imports/template"), { format })}`,
};

interface ImportOptions {
  dryRun: boolean;
  partial: boolean;
  updateExisting: boolean;
  source: string;
  sheet: string;
}

type Stage = { kind: "idle" } | { kind: "uploading"; sent: number; total: number; dryRun: boolean } | { kind: "preview"; report: ImportReport } | { kind: "done"; report: ImportReport };

const accept = ".csv,.txt,.tsv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

export function ImportPage() {
  const workspace = useWorkspaceName();
  useTitle("Import & export");
  const toast = useToast();
  const [file, setFile] = useState<File | null>(null);
  const [options, setOptions] = useState<ImportOptions>({ dryRun: true, partial: false, updateExisting: true, source: "", sheet: "" });
  const [stage, setStage] = useState<Stage>({ kind: "idle" });
  const [error, setError] = useState<unknown>(null);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const choose = (f: File | null | undefined) => {
    if (!f) return;
    setFile(f);
    setStage({ kind: "idle" });
    setError(null);
    setOptions((o) => ({ ...o, sheet: "" }));
  };
  const run = async (dryRun: boolean) => {
    if (!file) return;
    setError(null);
    setStage({ kind: "uploading", sent: 0, total: file.size, dryRun });
    try {
      const report = await importApi.run(workspace, file, { ...options, dryRun }, (sent, total) => setStage({ kind: "uploading", sent, total: total || file.size, dryRun }));
      setStage(dryRun ? { kind: "preview", report } : { kind: "done", report });
      if (!dryRun) toast(report.applied ? `Imported: ${report.counts.created} created, ${report.counts.updated} updated` : "Nothing was imported", report.applied ? "ok" : "bad");
    } catch (e) {
      // An all-or-nothing import with bad rows may answer with the report in the error's details.
      const report = e instanceof ApiError ? (e.details.report as ImportReport | undefined) : undefined;
      if (report) setStage({ kind: "preview", report });
      else setStage({ kind: "idle" });
      setError(e);
    }
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    choose(event.dataTransfer.files[0]);
  };
  const report = stage.kind === "preview" || stage.kind === "done" ? stage.report : null;
  const blocked = report ? report.counts.invalid > 0 && !options.partial : false;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Import & export</h1>
          <p className="muted">Add or update users from a CSV or Excel file. You see every change and every problem row before anything is written.</p>
        </div>
      </div>
      <section className="card" aria-labelledby="import-h">
        <h2 id="import-h">Import users</h2>
        <div
          className={`drop-zone${dragging ? " dragging" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <p>
            <strong>{file ? file.name : "Drop a CSV or Excel (.xlsx) file here"}</strong>
            {file ? <span className="muted"> · {(file.size / 1024).toLocaleString(undefined, { maximumFractionDigits: 0 })} KB</span> : null}
          </p>
          <input ref={input} id="import-file" type="file" accept={accept} className="visually-hidden" onChange={(e) => choose(e.target.files?.[0])} />
          <label htmlFor="import-file" className="btn">
            {file ? "Choose another file" : "Choose a file"}
          </label>
          <p className="hint small">
            Columns are matched by their headings (Email, Display name, First name, Mobile phone, Card number, Groups…). Get a{" "}
            <a href={importApi.templateUrl(workspace, "csv")} download>
              CSV template
            </a>{" "}
            or an{" "}
            <a href={importApi.templateUrl(workspace, "xlsx")} download>
              Excel template
            </a>
            .
          </p>
        </div>
        <div className="grid-2 import-options">
          <TextField
            label="Source name"
            value={options.source}
            placeholder={file?.name ?? "the file name"}
            onChange={(e) => setOptions((o) => ({ ...o, source: e.target.value }))}
            hint="Importing again under the same name updates the same users."
            error={error instanceof ApiError ? error.fieldMap().source : undefined}
          />
          {report?.file.sheets && report.file.sheets.length > 1 ? (
            <SelectField label="Sheet" value={options.sheet || report.file.sheet || ""} onChange={(e) => setOptions((o) => ({ ...o, sheet: e.target.value }))}>
              {report.file.sheets.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </SelectField>
          ) : (
            <span />
          )}
          <CheckField
            label="Update users that already exist"
            checked={options.updateExisting}
            onChange={(e) => setOptions((o) => ({ ...o, updateExisting: e.target.checked }))}
            hint="Matched by email, user principal name or employee ID. Otherwise they are skipped."
          />
          <CheckField
            label="Import the valid rows even if some rows have problems"
            checked={options.partial}
            onChange={(e) => setOptions((o) => ({ ...o, partial: e.target.checked }))}
            hint="Otherwise one bad row stops the whole import, so you can fix the file and try again."
          />
        </div>
        <div className="actions">
          <button type="button" className="btn btn-primary" disabled={!file || stage.kind === "uploading"} onClick={() => void run(true)}>
            {stage.kind === "uploading" && stage.dryRun ? <Spinner label="Checking" /> : null} Check file
          </button>
        </div>
        {stage.kind === "uploading" ? (
          <ProgressBar
            value={stage.sent < stage.total ? stage.sent : null}
            max={stage.sent < stage.total ? stage.total : null}
            label={stage.sent < stage.total ? "Uploading" : stage.dryRun ? "Checking every row" : "Importing"}
          />
        ) : null}
        <ErrorBanner error={error} title={stage.kind === "preview" ? "The import was not applied." : "The file could not be read."} />
      </section>

      {report ? <ImportReportView workspace={workspace} report={report} /> : null}
      {stage.kind === "preview" ? (
        <section className="card">
          {blocked ? (
            <p className="banner banner-warn">
              {report!.counts.invalid.toLocaleString()} row{report!.counts.invalid === 1 ? " has" : "s have"} problems. Fix them in the file and check it again, or tick “Import the valid rows” to
              import the others.
            </p>
          ) : null}
          <div className="actions">
            <button type="button" className="btn btn-primary" disabled={blocked || (report!.counts.created + report!.counts.updated === 0 && report!.counts.invalid === 0)} onClick={() => void run(false)}>
              Import {(report!.counts.created + report!.counts.updated).toLocaleString()} user{report!.counts.created + report!.counts.updated === 1 ? "" : "s"}
            </button>
            <button type="button" className="btn" onClick={() => setStage({ kind: "idle" })}>
              Cancel
            </button>
          </div>
        </section>
      ) : null}
      {stage.kind === "done" && report?.applied ? (
        <p className="banner banner-ok">
          Import finished. <Link to={wsPath(workspace, `/users?source=${encodeURIComponent(report.source)}`)}>See the imported users</Link>
        </p>
      ) : null}

      <section className="card" aria-labelledby="export-h">
        <h2 id="export-h">Export users</h2>
        <p className="muted">All users of this workspace with every field, in the same columns the import reads.</p>
        <div className="actions">
          <a className="btn" href={importApi.exportUrl(workspace, "csv")} download>
            Export CSV
          </a>
          <a className="btn" href={importApi.exportUrl(workspace, "xlsx")} download>
            Export Excel
          </a>
        </div>
      </section>
    </div>
  );
}

function ImportReportView({ workspace, report }: { workspace: string; report: ImportReport }) {
  const c = report.counts;
  return (
    <section className="card" aria-labelledby="report-h">
      <h2 id="report-h">{report.applied ? "Imported" : report.dryRun ? "What this import will do" : "Nothing was imported"}</h2>
      <ul className="counts">
        <li>
          <strong>{c.rows.toLocaleString()}</strong> rows
        </li>
        <li>
          <strong>{c.created.toLocaleString()}</strong> to create
        </li>
        <li>
          <strong>{c.updated.toLocaleString()}</strong> to update
        </li>
        <li>
          <strong>{c.unchanged.toLocaleString()}</strong> unchanged
        </li>
        {c.skipped ? (
          <li>
            <strong>{c.skipped.toLocaleString()}</strong> skipped
          </li>
        ) : null}
        <li className={c.invalid ? "text-bad" : undefined}>
          <strong>{c.invalid.toLocaleString()}</strong> rows with problems
        </li>
        {c.groupsCreated ? (
          <li>
            <strong>{c.groupsCreated.toLocaleString()}</strong> new groups
          </li>
        ) : null}
      </ul>
      <p className="muted small">
        {report.file.format.toUpperCase()}
        {report.file.encoding ? ` · ${report.file.encoding}` : ""}
        {report.file.delimiter ? ` · delimiter “${report.file.delimiter}”` : ""}
        {report.file.sheet ? ` · sheet ${report.file.sheet}` : ""} · columns: {report.columns.mapped.map((m) => `${m.column} → ${fieldLabel(m.field)}`).join(", ")}
        {report.columns.unknown.length ? ` · not imported: ${report.columns.unknown.join(", ")}` : ""}
      </p>
      {report.problems.length ? (
        <>
          <h3>Problems</h3>
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Column</th>
                  <th scope="col">Value</th>
                  <th scope="col">Problem</th>
                </tr>
              </thead>
              <tbody>
                {report.problems.map((p, i) => (
                  <tr key={i} className="row-error">
                    <td data-label="Row">{p.row}</td>
                    <td data-label="Column">{p.column ?? fieldLabel(p.field)}</td>
                    <td data-label="Value">{p.value ?? ""}</td>
                    <td data-label="Problem">{p.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {c.problems > report.problems.length ? <p className="muted small">Showing the first {report.problems.length.toLocaleString()} of {c.problems.toLocaleString()} problems.</p> : null}
        </>
      ) : null}
      {report.updated.length ? (
        <details>
          <summary>
            {c.updated.toLocaleString()} user{c.updated === 1 ? "" : "s"} to update
          </summary>
          <ul className="plain-list">
            {report.updated.map((u) => (
              <li key={u.id}>
                <Link to={wsPath(workspace, `/users/${u.id}`)}>{u.displayName}</Link>{" "}
                <span className="muted small">
                  {Object.entries(u.changes)
                    .map(([field, ch]) => `${fieldLabel(field)}: ${String(ch.before ?? "∅")} → ${String(ch.after ?? "∅")}`)
                    .join("; ")}
                </span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {report.created.length ? (
        <details>
          <summary>
            {c.created.toLocaleString()} user{c.created === 1 ? "" : "s"} to create
          </summary>
          <ul className="plain-list">
            {report.created.map((u) => (
              <li key={u.row}>
                Row {u.row}: {u.displayName} <span className="muted">{u.email ?? u.userPrincipalName}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {report.truncated ? <p className="muted small">The lists are cut short; the counts are exact.</p> : null}
    </section>
  );
}
