import { useEffect, useRef, useState } from "react";
import { ApiError } from "../api.ts";
import { importApi, type ImportOptions } from "../import-api.ts";
import { Link } from "../router.tsx";
import { useCanChange, useWorkspaceName, wsPath } from "../session.tsx";
import { useTitle } from "../hooks.ts";
import type { ImportReport } from "../../core/import-report.ts";
import type { ImportProgress } from "../../core/imports.ts";
import { ErrorBanner, ProgressBar, Spinner, useToast } from "../components/ui.tsx";
import { ColumnsEditor, columnsOfRefusal, columnsOfReport, type ColumnChoices, type FileColumn } from "./ImportColumns.tsx";
import { ImportReportView } from "./ImportReport.tsx";
import { DraftNotice, useDraft, useKeepDraft } from "../drafts.tsx";
import { importAdvice } from "../advice.ts";
import { ImportFileDrop, type ChosenFile } from "./ImportFileDrop.tsx";
import { ImportOptionsFields } from "./ImportOptionsFields.tsx";
import { importingLabel, reportSummary } from "./import-status.ts";

type Stage =
  | { kind: "idle" }
  | { kind: "uploading"; sent: number; total: number }
  | { kind: "checking" }
  /** The file is uploaded, but its required columns could not be placed: the admin says which is which, or picks another of a workbook's `sheets`. */
  | { kind: "columns"; uploadId: string; columns: FileColumn[]; sheets: string[]; sheet: string | null }
  /** `rechecking`: checked again on the server with an option that takes effect at once (the report shown stays until the new one comes). */
  | { kind: "preview"; report: ImportReport; uploadId: string; stale: boolean; rechecking?: boolean }
  | { kind: "importing"; report: ImportReport; uploadId: string; progress: ImportProgress | null }
  | { kind: "done"; report: ImportReport };

export function ImportPage() {
  const workspace = useWorkspaceName();
  useTitle("Import & export");
  const canChange = useCanChange();
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Import & export</h1>
          <p className="muted">Add or update users from a CSV or Excel file. You see every change and every problem row before anything is written.</p>
        </div>
      </div>
      {canChange ? (
        <ImportUsers workspace={workspace} />
      ) : (
        <p className="banner banner-info">You have read-only access to this workspace: you can export its users, and an admin of the workspace can import.</p>
      )}
      <section className="card" aria-labelledby="export-h">
        <h2 id="export-h">Export users</h2>
        <p className="muted">All users of this workspace with every field, in the same columns the import reads. To export some of them, filter the Users page and use its Export menu.</p>
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

/** What the import keeps over a new sign-in (drafts.tsx): its options, and the upload the server keeps for a day. */
interface ImportDraft {
  options: ImportOptions;
  upload: { id: string; name: string; size: number } | null;
}

const noOptions: ImportOptions = { partial: false, updateExisting: false, source: "", sheet: "", encoding: "", mapping: {} };

/** Upload, preview with every row problem, then confirm. */
function ImportUsers({ workspace }: { workspace: string }) {
  const toast = useToast();
  const draft = useDraft<ImportDraft>("import");
  const restored = draft?.value.upload ?? null;
  const [file, setFile] = useState<ChosenFile | null>(restored && { name: restored.name, size: restored.size, file: null });
  const [options, setOptions] = useState<ImportOptions>(draft?.value.options ?? noOptions);
  const [stage, setStage] = useState<Stage>(restored ? { kind: "checking" } : { kind: "idle" });
  const [error, setError] = useState<unknown>(null);
  const input = useRef<HTMLInputElement>(null);
  const checkButton = useRef<HTMLButtonElement>(null);
  // The chosen file as the server keeps it, once sent: checked again, and kept over a new sign-in, without sending it again.
  const kept = useRef<ImportDraft["upload"]>(restored);
  useKeepDraft("import", () => {
    if (stage.kind === "done" || (!file && JSON.stringify(options) === JSON.stringify(noOptions))) return undefined;
    return { value: { options, upload: kept.current }, dropped: file && !kept.current ? ["file"] : [] };
  });

  const discard = () => {
    if (kept.current) void importApi.discard(workspace, kept.current.id).catch(() => undefined);
    kept.current = null;
  };
  const choose = (f: File | null | undefined) => {
    if (!f) return;
    discard();
    setFile({ name: f.name, size: f.size, file: f });
    setStage({ kind: "idle" });
    setError(null);
    setOptions((o) => ({ ...o, sheet: "", encoding: "", mapping: {} })); // choices made for the file before
  };
  // Each check's number: an answer that a newer check overtook is dropped (the admin may tick and untick quickly).
  const checks = useRef(0);
  const check = async (withOptions = options, inPlace = false) => {
    const upload = kept.current;
    const chosen = file?.file;
    if (!upload && !chosen) return;
    const mine = ++checks.current;
    setError(null);
    try {
      if (upload) {
        setStage((st) => (inPlace && st.kind === "preview" ? { ...st, rechecking: true } : { kind: "checking" }));
        const report = await importApi.preview(workspace, upload.id, withOptions);
        if (mine === checks.current) setStage({ kind: "preview", report, uploadId: upload.id, stale: false });
        return;
      }
      setStage({ kind: "uploading", sent: 0, total: chosen!.size });
      const uploaded = await importApi.upload(workspace, chosen!, options, (sent, total) =>
        setStage(sent < (total || chosen!.size) ? { kind: "uploading", sent, total: total || chosen!.size } : { kind: "checking" }),
      );
      kept.current = { id: uploaded.id, name: uploaded.fileName, size: uploaded.size };
      setStage({ kind: "preview", report: uploaded.preview, uploadId: uploaded.id, stale: false });
    } catch (e) {
      if (mine !== checks.current) return;
      // Columns it cannot place: the server kept the file, to check it again with the admin's choices.
      const columns = e instanceof ApiError ? columnsOfRefusal(e.details) : null;
      const refused = e instanceof ApiError ? (e.details.upload as { id?: string } | undefined)?.id : undefined;
      if (!upload && refused) kept.current = { id: refused, name: chosen!.name, size: chosen!.size };
      const gone = upload && e instanceof ApiError && e.status === 404;
      if (gone) {
        // Past the day the server keeps an upload: only the browser's file can be sent again.
        kept.current = null;
        if (!chosen) setFile(null);
      }
      const uploadId = kept.current?.id;
      const sheets = e instanceof ApiError && Array.isArray(e.details.sheets) ? e.details.sheets.map(String) : [];
      const sheet = e instanceof ApiError && typeof e.details.sheet === "string" ? e.details.sheet : null;
      setStage(columns && uploadId ? { kind: "columns", uploadId, columns, sheets, sheet } : { kind: "idle" });
      setError(gone ? new Error(`The server no longer keeps ${upload.name} (an upload is kept for a day)${chosen ? "; check the file again to send it anew" : ": choose the file again"}.`) : e);
    }
  };
  // Back from a new sign-in with the upload the server kept: check it again, with the options as they were.
  useEffect(() => {
    if (restored) void check();
  }, []);
  const commit = async () => {
    if (stage.kind !== "preview") return;
    const { uploadId, report: previewReport } = stage;
    setError(null);
    setStage({ kind: "importing", report: previewReport, uploadId, progress: null });
    // The commit answers when it is done; its progress is read beside it.
    const poll = window.setInterval(() => {
      void importApi
        .progress(workspace, uploadId)
        .then(({ progress }) => setStage((st) => (st.kind === "importing" && progress ? { ...st, progress } : st)))
        .catch(() => undefined);
    }, 500);
    try {
      const report = await importApi.commit(workspace, uploadId, options);
      kept.current = null;
      setStage({ kind: "done", report });
      toast(`Imported: ${report.counts.created.toLocaleString()} created, ${report.counts.updated.toLocaleString()} updated`);
    } catch (e) {
      // An all-or-nothing import stopped by problems answers with the report: show it, keep the upload.
      const report = e instanceof ApiError ? (e.details.report as ImportReport | undefined) : undefined;
      // Checked since with other options (another tab, another admin): what is shown is no longer what would be imported.
      const previewChanged = e instanceof ApiError && e.code === "import_preview_changed";
      setStage({ kind: "preview", report: report ?? previewReport, uploadId, stale: previewChanged });
      setError(e);
    } finally {
      window.clearInterval(poll);
    }
  };
  const changeOption = (change: Partial<ImportOptions>) => {
    const next = { ...options, ...change };
    setOptions(next);
    // "Import the valid rows" takes effect at once: the server checks the file again with it (which rows a partial import
    // leaves out also decides whose manager is refused), with the options as they now are.
    if (stage.kind === "preview" && "partial" in change) void check(next, true);
    else setStage((st) => (st.kind === "preview" ? { ...st, stale: true } : st));
  };
  const cancel = () => {
    discard();
    setStage({ kind: "idle" });
    setFile(null);
    if (input.current) input.current.value = "";
  };
  const report = stage.kind === "preview" || stage.kind === "done" || stage.kind === "importing" ? stage.report : null;
  const rechecking = stage.kind === "preview" && Boolean(stage.rechecking);
  const busy = stage.kind === "uploading" || stage.kind === "checking" || stage.kind === "importing" || rechecking;
  const blocked = report ? report.counts.invalid > 0 && !options.partial : false;
  // A workbook's sheets, from its preview or from the refusal of a sheet without the users' columns.
  const sheets = report?.file.sheets ?? (stage.kind === "columns" ? stage.sheets : []);
  const sheetRead = report?.file.sheet ?? (stage.kind === "columns" ? stage.sheet : null);
  // A check or an import that ends with a report takes keyboard focus to it: the button pressed is disabled or gone
  // by then. Not when the admin moved elsewhere meanwhile.
  const wasBusy = useRef(false);
  useEffect(() => {
    const active = document.activeElement;
    if (wasBusy.current && !busy && report && (!active || active === document.body || active === checkButton.current)) document.getElementById("report-h")?.focus();
    wasBusy.current = busy;
  }, [stage]);

  return (
    <>
      <section className="card" aria-labelledby="import-h">
        <h2 id="import-h">Import users</h2>
        {draft?.dropped.length ? (
          file ? null : (
            <p className="banner banner-info" role="status">
              Your import options were restored. The file had not been sent yet, and files are not kept while you sign in: choose it again.
            </p>
          )
        ) : (
          <DraftNotice draft={draft} />
        )}
        <ImportFileDrop workspace={workspace} file={file} input={input} onChoose={choose} />
        <ImportOptionsFields options={options} fileName={file?.name} sheets={sheets} sheetRead={sheetRead} encodingRead={report?.file.encoding ?? null} error={error} onChange={changeOption} />
        {stage.kind === "columns" ? (
          <section aria-labelledby="columns-h">
            <h3 id="columns-h">Columns</h3>
            <ErrorBanner error={error} title="Say which column is which." words={importAdvice} />
            <p className="muted small">Choose the field each column of the file holds, then check the file again. Columns left “Not imported” are ignored.</p>
            <ColumnsEditor columns={stage.columns} choices={options.mapping} onChange={(mapping) => setOptions((o) => ({ ...o, mapping }))} />
          </section>
        ) : null}
        {stage.kind === "preview" ? (
          <details className="import-columns">
            <summary>Columns: change which field a column fills</summary>
            <ColumnsEditor columns={columnsOfReport(stage.report)} choices={options.mapping} onChange={(mapping) => changeOption({ mapping })} />
          </details>
        ) : null}
        <div className="actions">
          <button
            ref={checkButton}
            type="button"
            className={`btn${stage.kind === "preview" && !stage.stale ? "" : " btn-primary"}`}
            disabled={!file || (stage.kind === "preview" && !stage.stale)}
            aria-disabled={busy || undefined}
            onClick={() => busy || void check()}
          >
            {stage.kind === "uploading" || stage.kind === "checking" || rechecking ? <Spinner label="Checking" /> : null}{" "}
            {stage.kind === "preview" ? "Check again with these options" : stage.kind === "columns" ? "Check again with these columns" : "Check file"}
          </button>
        </div>
        {stage.kind === "uploading" ? <ProgressBar value={stage.sent} max={stage.total} label={`Uploading ${file?.name ?? ""}`} /> : null}
        {stage.kind === "checking" || rechecking ? <ProgressBar value={null} max={null} label="Checking every row against the directory" /> : null}
        {stage.kind === "importing" ? <ProgressBar value={stage.progress?.done ?? null} max={stage.progress?.total ?? null} label={importingLabel(stage.progress)} /> : null}
        {/* What a screen reader hears of the check and the import: one line as each starts and ends, not the progress. */}
        <p className="visually-hidden" role="status" aria-live="polite">
          {stage.kind === "uploading" || stage.kind === "checking" || rechecking ? "Checking the file…" : stage.kind === "importing" ? "Importing…" : stage.kind === "preview" || stage.kind === "done" ? reportSummary(stage.report) : ""}
        </p>
        {stage.kind === "preview" && stage.stale ? <p className="banner banner-info">The options changed: check the file again to see what they do.</p> : null}
        {stage.kind === "columns" ? null : <ErrorBanner error={error} title={stage.kind === "preview" ? "Nothing was imported." : "The file could not be checked."} words={importAdvice} />}
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
            <button
              type="button"
              className="btn btn-primary"
              disabled={blocked || stage.stale || rechecking || report!.counts.created + report!.counts.updated === 0}
              onClick={() => void commit()}
            >
              Import: create {report!.counts.created.toLocaleString()}, update {report!.counts.updated.toLocaleString()}
            </button>
            <button type="button" className="btn" onClick={cancel}>
              Cancel
            </button>
          </div>
        </section>
      ) : null}
      {stage.kind === "done" ? (
        <p className="banner banner-ok">
          Import finished. <Link to={wsPath(workspace, `/users?source=${encodeURIComponent(stage.report.source)}`)}>See the imported users</Link>
        </p>
      ) : null}
    </>
  );
}
