import { useState } from "react";
import { api } from "../api.ts";
import { useLoad } from "../hooks.ts";
import type { ChangeRecord, PageOf } from "../types.ts";
import { actionLabel, changeNotes, changedFields, fieldLabel, joinedGroups, replacedGroup, replacedUser } from "../../domain/change.ts";
import { ErrorBanner, Loading, Pager } from "./ui.tsx";
import { formatDate } from "../format.ts";
import { Link } from "../router.tsx";
import { useWorkspaceName, wsPath } from "../session.tsx";
import { sourceAdvice } from "../advice.ts";
import { changeActor, describeActor } from "../../domain/actor.ts";

const historyPerPage = 50;

/**
 * The History card of a user's or a group's page: `${path}/changes` a page at a time, newest first, read
 * again whenever `version` changes (the page's own data, reloaded after an edit).
 */
export function HistoryCard({ path, version, showSubject = false, note }: { path: string; version: unknown; showSubject?: boolean; note?: string }) {
  const [offset, setOffset] = useState(0);
  const changes = useLoad((signal) => api.get<PageOf<ChangeRecord>>(`${path}/changes`, { limit: historyPerPage, offset }, { signal }), [path, offset, version]);
  return (
    <section className="card" aria-labelledby="history-h">
      <h2 id="history-h">History</h2>
      {note ? <p className="muted small">{note}</p> : null}
      <ErrorBanner error={changes.error} retry={changes.reload} title="The history could not be loaded." />
      {changes.data ? (
        <>
          <History changes={changes.data.items} showSubject={showSubject} linkRuns />
          {changes.data.total > historyPerPage ? <Pager offset={offset} limit={historyPerPage} total={changes.data.total} onChange={setOffset} /> : null}
        </>
      ) : changes.loading ? (
        <Loading label="Loading history…" />
      ) : null}
    </section>
  );
}

/**
 * A change log as a timeline; `showSubject` for logs that span many users (a sync run). An entry a sync run made says
 * so (changeActor: its actor is whoever started the run, and the entry is not their edit); with `linkRuns`, it links to the run.
 */
export function History({ changes, showSubject = false, linkRuns = false }: { changes: ChangeRecord[]; showSubject?: boolean; linkRuns?: boolean }) {
  const workspace = useWorkspaceName();
  if (changes.length === 0) return <p className="muted">No changes recorded.</p>;
  return (
    <ol className="history">
      {changes.map((change) => {
        const fields = changedFields(change);
        const notes = changeNotes(change);
        const joined = joinedGroups(change);
        const replaced = replacedUser(change);
        const replacedG = replacedGroup(change);
        return (
          <li key={change.id} className={`history-item action-${change.action}`}>
            <div className="history-head">
              <strong>{actionLabel(change.action)}</strong>
              {showSubject ? <span> {change.subject}</span> : null}
              <span className="muted">
                {" "}
                · {formatDate(change.at)} · by {changeActor(change)}
                {linkRuns && change.runId ? (
                  <>
                    {" · "}
                    <Link to={wsPath(workspace, `/runs/${encodeURIComponent(change.runId)}`)}>see the run</Link>
                  </>
                ) : null}
              </span>
            </div>
            {replaced ? (
              <p className="history-note history-replaces">
                Created by the sync of {replaced.source} — replaces a user deleted on {formatDate(replaced.deletedAt)} by {describeActor(replaced.deletedBy)}:{" "}
                <Link to={wsPath(workspace, `/users/${encodeURIComponent(replaced.id)}`)}>see their history</Link>
              </p>
            ) : null}
            {replacedG ? (
              <p className="history-note history-replaces">
                Created by the sync of {replacedG.source} — replaces a group deleted on {formatDate(replacedG.deletedAt)} by {describeActor(replacedG.deletedBy)} (the same Entra group):{" "}
                <Link to={wsPath(workspace, `/groups/${encodeURIComponent(replacedG.id)}`)}>see its history</Link>
              </p>
            ) : null}
            {joined.length ? <p className="history-groups muted">Groups: {joined.join(", ")}</p> : null}
            {notes.map((note, index) => (
              <p key={index} className="history-note">
                {sourceAdvice(note)}
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
