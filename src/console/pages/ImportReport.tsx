import { Link } from "../router.tsx";
import { wsPath } from "../session.tsx";
import type { ImportReport } from "../../core/import-report.ts";
import { fieldLabel } from "../../domain/change.ts";
import { DataTable } from "../components/DataTable.tsx";
import { importAdvice } from "../advice.ts";
import { isolate, plural } from "../format.ts";

/**
 * What an import will do or did: counts, the file as read, every problem row, warnings, the users it creates and
 * updates. A preview says what it will do ("to create"), an applied import what it did ("created").
 */
export function ImportReportView({ workspace, report }: { workspace: string; report: ImportReport }) {
  const c = report.counts;
  const wording = report.applied ? { created: "created", updated: "updated" } : { created: "to create", updated: "to update" };
  return (
    <section className="card" aria-labelledby="report-h">
      <h2 id="report-h" tabIndex={-1}>{report.applied ? "Imported" : report.dryRun ? "What this import will do" : "Nothing was imported"}</h2>
      <ul className="counts">
        <li>
          <strong>{c.rows.toLocaleString()}</strong> {plural(c.rows, "row")}
        </li>
        <li>
          <strong>{c.created.toLocaleString()}</strong> {wording.created}
        </li>
        <li>
          <strong>{c.updated.toLocaleString()}</strong> {wording.updated}
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
          <strong>{c.invalid.toLocaleString()}</strong> {plural(c.invalid, "row")} with problems
        </li>
        {c.warnings ? (
          <li>
            <strong>{c.warnings.toLocaleString()}</strong> {plural(c.warnings, "warning")}
          </li>
        ) : null}
        {c.groupsCreated ? (
          <li>
            <strong>{c.groupsCreated.toLocaleString()}</strong> new {plural(c.groupsCreated, "group")}
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
      <RowNotes title="Problems" kind="Problem" notes={report.problems} total={c.problems} className="row-error" />
      <ColumnNotes notes={report.columnWarnings} />
      <RowNotes
        title={report.columnWarnings.length ? "Warnings by row" : "Warnings"}
        intro="Not problems: the import goes on, but a value in each of these rows loses something on the way, or Entra ID keeps what it owns (a synced user's row left alone, or its fields, or a membership of a synced group)."
        kind="Warning"
        notes={report.warnings}
        total={c.warnings}
      />
      {report.updated.length ? (
        <details>
          <summary>
            {c.updated.toLocaleString()} {plural(c.updated, "user")} {wording.updated}
          </summary>
          <ul className="plain-list">
            {report.updated.map((u) => (
              <li key={u.id}>
                <Link to={wsPath(workspace, `/users/${u.id}`)} dir="auto">{u.displayName}</Link>{" "}
                <span className="muted small">
                  {Object.entries(u.changes)
                    .map(([field, ch]) => `${fieldLabel(field)}: ${isolate(String(ch.before ?? "∅"))} → ${isolate(String(ch.after ?? "∅"))}`)
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
            {c.created.toLocaleString()} {plural(c.created, "user")} {wording.created}
          </summary>
          <ul className="plain-list">
            {report.created.map((u) => (
              <li key={u.row}>
                Row {u.row}: <bdi>{u.displayName}</bdi> <span className="muted">{u.email ?? u.userPrincipalName}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {report.truncated ? <p className="muted small">The lists are cut short; the counts are exact.</p> : null}
    </section>
  );
}

/** Warnings about whole columns (a column of card numbers Excel saved as numbers), each once with the rows it is true of. */
function ColumnNotes({ notes }: { notes: ImportReport["columnWarnings"] }) {
  if (!notes.length) return null;
  return (
    <>
      <h3>Warnings by column</h3>
      <DataTable columns={["Column", "Rows", "Warning"]}>
        {notes.map((n) => (
          <tr key={n.letter}>
            <td data-label="Column">
              {n.column} <span className="muted small">({n.letter})</span>
            </td>
            <td data-label="Rows">{n.rows.toLocaleString()}</td>
            <td data-label="Warning">{importAdvice(n.message)}</td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

/** A report's problems or warnings, each at its row and cell, with how many more there are than it lists. */
function RowNotes({ title, intro, kind, notes, total, className }: { title: string; intro?: string; kind: string; notes: ImportReport["problems"]; total: number; className?: string }) {
  if (!notes.length) return null;
  return (
    <>
      <h3>{title}</h3>
      {intro ? <p className="muted small">{intro}</p> : null}
      <DataTable columns={["Row", "Column", "Value", kind]}>
        {notes.map((n, i) => (
          <tr key={i} className={className}>
            <td data-label="Row">{n.row}</td>
            <td data-label="Column">{n.column ?? (n.field === "row" ? "(the whole row)" : fieldLabel(n.field))}</td>
            <td data-label="Value">{n.value ?? ""}</td>
            <td data-label={kind}>{importAdvice(n.message)}</td>
          </tr>
        ))}
      </DataTable>
      {total > notes.length ? <p className="muted small">Showing the first {notes.length.toLocaleString()} of {total.toLocaleString()} {title.toLowerCase()}.</p> : null}
    </>
  );
}
