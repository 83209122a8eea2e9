import { useState } from "react";
import { ApiError, withQuery, ws } from "../api.ts";
import { Link, navigate, setQuery, useLocation, offsetIn } from "../router.tsx";
import { AdminOnly, useWorkspaceName, wsPath } from "../session.tsx";
import { useInterval, useLoad, useTitle } from "../hooks.ts";
import { countsMeaning, countsSummary, describeProgress, statusText, statusTone, startedBy, syncApi, wouldStopWarning } from "../sync-api.ts";
import { Breadcrumb, Badge, ErrorBanner, Loading, Pager, ProgressBar, useToast } from "../components/ui.tsx";
import { ConfirmDialog } from "../components/dialog.tsx";
import { formatDate } from "../format.ts";
import { History } from "../components/History.tsx";
import { actionLabel } from "../../domain/change.ts";
import { duration } from "./SourceDetail.tsx";
import { Prop } from "./UserDetail.tsx";
import { sourceAdvice } from "../advice.ts";

/** A count's entries in the run's change log, for the counts that name one kind of entry. */
const loggedAs: Record<string, string> = {
  created: "create", linked: "link", updated: "update", disabled: "disable", deleted: "delete", conflicts: "conflict", warnings: "warning",
  groupsCreated: "create group", groupsUpdated: "update group", groupsDeleted: "delete group", groupConflicts: "conflict",
};

/** What each button of a run asks before it acts. */
const decisions = {
  approve: { title: "Apply the changes of this run?", confirm: "Apply changes", danger: true },
  reject: { title: "Reject this run?", confirm: "Reject run", danger: false },
  stop: { title: "Stop this run?", confirm: "Stop run", danger: true },
};

/** From a preview's page: start the sync it previewed, and follow it on its own page. */
function SyncNowButton({ workspace, source }: { workspace: string; source: string }) {
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const start = async () => {
    if (starting) return; // the button stays focusable while starting (aria-disabled)
    setStarting(true);
    setError(null);
    try {
      navigate(wsPath(workspace, `/runs/${await syncApi.sync(workspace, source, {})}`));
    } catch (e) {
      // A sync already running is the one to follow.
      if (e instanceof ApiError && e.code === "sync_running" && typeof e.details.runId === "string") navigate(wsPath(workspace, `/runs/${e.details.runId}`));
      else setError(e);
    } finally {
      setStarting(false);
    }
  };
  return (
    <>
      <button type="button" className="btn btn-primary" onClick={() => void start()} aria-disabled={starting || undefined}>
        {starting ? "Starting…" : "Sync now"}
      </button>
      <ErrorBanner error={error} title="The sync could not start." />
    </>
  );
}

/** The change log is read a page at a time: a first sync of 100,000 users logs more than 100,000 entries. */
const changesPerPage = 200;

export function RunPage({ id }: { id: string }) {
  const workspace = useWorkspaceName();
  const toast = useToast();
  useTitle("Sync run");
  const run = useLoad((signal) => syncApi.getRun(workspace, id, signal), [workspace, id]);
  const r = run.data;
  const running = r?.status === "running";
  useInterval(() => run.reload(), 1000, running && !run.error);
  // The kind shown is in the address, so a source's page links straight to a run's conflicts.
  const { query } = useLocation();
  const action = query.get("action") ?? "";
  // The page of the log too: a reload, or Back from a user's page, returns to the same entries.
  const offset = offsetIn(query);
  const setOffset = (next: number) => setQuery({ offset: next || null }, { push: true });
  const showAction = (next: string) => setQuery({ action: next || null, offset: null });
  const changes = useLoad(
    (signal) => (r && !running ? syncApi.runChanges(workspace, id, { action, offset, limit: changesPerPage }, signal) : Promise.resolve(undefined)),
    [workspace, id, r?.status, running, action, offset],
  );
  const [deciding, setDeciding] = useState<keyof typeof decisions | null>(null);
  const page = changes.data;
  const actions = Object.entries(page?.actions ?? {});
  const allChanges = actions.reduce((sum, [, n]) => sum + n, 0);
  const source = r?.source ?? "";

  if (!r) {
    return (
      <div className="page">
        <Breadcrumb workspace={workspace} to="/sync" label="User synchronization" />
        <ErrorBanner error={run.error} retry={run.reload} title="The run could not be loaded." />
        {run.loading ? <Loading label="Loading run…" /> : null}
      </div>
    );
  }
  const stopped = r.status === "stopped";
  const removals = (r.error?.details?.removals as number | undefined) ?? r.counts?.removals;
  const heldBefore = r.error?.details?.heldBefore as number | undefined;
  const wouldStop = wouldStopWarning(r);

  return (
    <div className="page">
      <nav className="breadcrumb" aria-label="Breadcrumb">
        {source ? <Link to={wsPath(workspace, `/sync/${encodeURIComponent(source)}`)}>{source}</Link> : <Link to={wsPath(workspace, "/sync")}>User synchronization</Link>}
      </nav>
      <div className="page-head">
        <div>
          <h1>
            {r.dryRun ? "Preview" : "Sync"} of {source || "source"}
          </h1>
          <p className="muted">
            {formatDate(r.startedAt)} · <Badge tone={statusTone(r.status)}>{statusText(r)}</Badge>
          </p>
        </div>
      </div>
      {running ? (
        <section className="card">
          <ProgressBar {...describeProgress(r)} />
          {r.cancelRequested ? (
            <p className="muted" role="status">Stopping: {r.cancelRequested.by} asked this run to stop.</p>
          ) : (
            <AdminOnly>
              <div className="actions">
                <button type="button" className="btn btn-danger" onClick={() => setDeciding("stop")}>
                  Stop
                </button>
              </div>
            </AdminOnly>
          )}
        </section>
      ) : null}
      {r.status === "failed" && r.error ? (
        <div className="banner banner-error" role="alert">
          <div>
            <strong>{r.error.details?.cancelledBy ? "The sync was stopped; nothing was changed." : "The sync failed; nothing was changed."}</strong> {sourceAdvice(r.error.message)}
            {r.error.details?.cancelledBy ? null : (
              <p>
                Fix the cause (the source's Connect button checks the credentials and permissions), then run it again.{" "}
                {source ? <Link to={wsPath(workspace, `/sync/${encodeURIComponent(source)}`)}>Go to the source</Link> : null}
              </p>
            )}
          </div>
        </div>
      ) : null}
      {stopped ? (
        <section className="banner banner-warn review" aria-labelledby="review-h">
          <h2 id="review-h">This run needs your review</h2>
          <p>
            {(r.error && sourceAdvice(r.error.message)) ??
              `It would remove ${removals ?? "many"} users${heldBefore ? ` of the ${heldBefore} the source holds` : ""}, more than the source's safety threshold allows.`}
          </p>
          <p>The change log below lists every change this run would make; none of them has been applied. If they are expected (for example, people really left), apply them; if not, reject the run and fix the source's scope in Entra ID.</p>
          <AdminOnly>
          <div className="actions">
            <button type="button" className="btn btn-primary btn-danger" onClick={() => setDeciding("approve")}>
              Apply these changes
            </button>
            <button type="button" className="btn" onClick={() => setDeciding("reject")}>
              Reject
            </button>
          </div>
          </AdminOnly>
        </section>
      ) : null}
      {r.changesDiscardedAt ? (
        <p className="banner banner-info" role="status">
          This preview's list of changes was deleted on {formatDate(r.changesDiscardedAt)}, when newer previews of {source || "its source"} came: a source keeps the changes of its newest previews only. Its counts below are as it found them then; preview again to see what a sync would do now.
        </p>
      ) : r.dryRun && r.status === "succeeded" ? (
        wouldStop ? (
          <p className="banner banner-warn" role="status">This was a preview: the changes below were computed but not applied. {wouldStop}</p>
        ) : (
          <div className="banner banner-info" data-kind="preview">
            <p>This was a preview: the changes below were computed but not applied. Sync now applies what Entra ID holds then: these changes, unless something changed there since.</p>
            {source ? (
              <AdminOnly>
                <SyncNowButton workspace={workspace} source={source} />
              </AdminOnly>
            ) : null}
          </div>
        )
      ) : null}
      {r.status === "rejected" ? <p className="banner banner-info">This run was rejected: none of the changes below were applied.</p> : null}
      <div className="detail-grid">
        <section className="card" aria-labelledby="counts-h">
          <h2 id="counts-h">{countsMeaning(r)}</h2>
          {countsSummary(r.counts).length ? (
            <ul className="counts">
              {countsSummary(r.counts).map((c) => {
                const kind = loggedAs[c.key];
                const entries = c.key === "warnings" ? page?.actions.warning : undefined;
                const text = (
                  <>
                    <strong>{c.value.toLocaleString()}</strong> {c.label}
                    {/* Warnings are counted one per message, logged one entry per user or group: say both when they differ. */}
                    {entries !== undefined && entries !== c.value ? ` in ${entries.toLocaleString()} entr${entries === 1 ? "y" : "ies"}` : null}
                  </>
                );
                return (
                  <li key={c.key}>
                    {kind && page?.actions[kind] ? (
                      <button type="button" className="count-link" aria-pressed={action === kind} onClick={() => showAction(action === kind ? "" : kind)}>
                        {text}
                      </button>
                    ) : (
                      text
                    )}
                  </li>
                );
              })}
            </ul>
          ) : (
            <p className="muted">{running ? "Counting…" : "No changes."}</p>
          )}
        </section>
        <section className="card" aria-labelledby="about-run-h">
          <h2 id="about-run-h">Run</h2>
          <dl className="props">
            <Prop label="Kind">
              {r.dryRun ? "Preview (dry run)" : "Sync"}
              {r.mode ? `, ${r.mode === "delta" ? "changes only (delta)" : "full"}` : ""}
              {r.forced ? ", forced past the safety stop" : ""}
              {r.progress?.note ? (<><br /><span className="muted small">{r.progress.note}</span></>) : null}
            </Prop>
            <Prop label="Started by">{startedBy(r)}</Prop>
            <Prop label="Started">{formatDate(r.startedAt)}</Prop>
            <Prop label="Finished">{r.finishedAt ? `${formatDate(r.finishedAt)} (${duration(r)})` : null}</Prop>
            <Prop label="Graph requests">{r.graphRequests !== undefined ? `${r.graphRequests.toLocaleString()}${r.graphThrottled ? `, ${r.graphThrottled} throttled (retried)` : ""}` : null}</Prop>
          </dl>
        </section>
      </div>
      <section className="card" aria-labelledby="log-h">
        <div className="section-head">
          <h2 id="log-h">Change log</h2>
          {actions.length > 1 ? (
            <div className="field">
              <label htmlFor="log-action">Show</label>
              <select id="log-action" value={action} onChange={(e) => showAction(e.target.value)}>
                <option value="">All changes ({allChanges.toLocaleString()})</option>
                {actions.map(([a, n]) => (
                  <option key={a} value={a}>
                    {actionLabel(a)} ({n.toLocaleString()})
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          {allChanges > 0 ? (
            <a className="btn btn-small" href={`/api/v1${withQuery(ws(workspace, `/runs/${encodeURIComponent(id)}/changes.csv`), { action })}`} download>
              Download CSV
            </a>
          ) : null}
        </div>
        <ErrorBanner error={changes.error} retry={changes.reload} title="The change log could not be loaded." />
        {running ? (
          <p className="muted">The change log appears when the run finishes.</p>
        ) : stopped && page && page.total === 0 ? (
          <p className="muted">This run stopped before changing anything and lists no planned change.</p>
        ) : page ? (
          <>
            <History changes={page.items} showSubject />
            {page.total > changesPerPage ? <Pager offset={offset} limit={changesPerPage} total={page.total} onChange={setOffset} /> : null}
          </>
        ) : changes.loading ? (
          <Loading label="Loading changes…" />
        ) : null}
      </section>
      <ConfirmDialog
        open={deciding !== null}
        title={decisions[deciding ?? "reject"].title}
        confirmLabel={decisions[deciding ?? "reject"].confirm}
        danger={decisions[deciding ?? "reject"].danger}
        onClose={() => setDeciding(null)}
        onConfirm={async () => {
          if (deciding === "stop") {
            await syncApi.cancel(workspace, id);
            toast("Stopping the run");
            run.reload();
          } else if (deciding === "approve") {
            const result = await syncApi.approve(workspace, id);
            toast("Applying the changes");
            const next = result.id;
            if (next && next !== id) navigate(wsPath(workspace, `/runs/${next}`));
            else run.reload();
          } else {
            await syncApi.reject(workspace, id);
            toast("Run rejected; nothing was changed");
            run.reload();
          }
        }}
      >
        {deciding === "stop" ? (
          <p>The run stops within seconds and fails as stopped by you. What it had not applied yet is not applied; the next sync picks up from where the last finished one ended.</p>
        ) : deciding === "approve" ? (
          <p>
            The source syncs again past its safety stop and applies exactly the changes listed, including {removals ?? "the"} removals. If Entra ID changed since this run, nothing is applied and
            the new run stops for your review instead.
          </p>
        ) : (
          <p>Nothing is changed. The next scheduled sync will stop again if the source still reports the same removals.</p>
        )}
      </ConfirmDialog>
    </div>
  );
}
