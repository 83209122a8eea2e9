import type { ChangeRecord } from "../types.ts";
import { actionLabel, changeNotes, changedFields, fieldLabel, joinedGroups } from "../../domain/change.ts";
import { formatDate } from "./ui.tsx";

/** A change log as a timeline; `showSubject` for logs that span many users (a sync run). */
export function History({ changes, showSubject = false }: { changes: ChangeRecord[]; showSubject?: boolean }) {
  if (changes.length === 0) return <p className="muted">No changes recorded.</p>;
  return (
    <ol className="history">
      {changes.map((change) => {
        const fields = changedFields(change);
        const notes = changeNotes(change);
        const joined = joinedGroups(change);
        return (
          <li key={change.id} className={`history-item action-${change.action}`}>
            <div className="history-head">
              <strong>{actionLabel(change.action)}</strong>
              {showSubject ? <span> {change.subject}</span> : null}
              <span className="muted">
                {" "}
                · {formatDate(change.at)} · by {change.actor}
              </span>
            </div>
            {joined.length ? <p className="history-groups muted">Groups: {joined.join(", ")}</p> : null}
            {notes.map((note, index) => (
              <p key={index} className="history-note">
                {note}
              </p>
            ))}
            {fields.length ? (
              <table className="diff">
                <thead className="visually-hidden">
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {fields.map((f) => (
                    <tr key={f.field}>
                      <th scope="row">{fieldLabel(f.field)}</th>
                      <td className="diff-from">{f.from}</td>
                      <td className="diff-to">{f.to}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}
