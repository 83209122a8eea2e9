import { useState, type ReactNode } from "react";
import { Link, navigate } from "../router.tsx";
import { AdminOnly, useCanChange, useWorkspaceName, wsPath } from "../session.tsx";
import { useInterval, useLoad, useTitle } from "../hooks.ts";
import { syncApi, type Source } from "../sync-api.ts";
import { Empty, ErrorBanner, Loading, useToast } from "../components/ui.tsx";
import { SourceFormDialog } from "../components/SourceForm.tsx";
import { ScimSources } from "../components/ScimSources.tsx";
import { ConnectButton, RunTracker, SecretState, SourceStats } from "../components/SyncParts.tsx";
import { ApiError } from "../api.ts";
import { hasDraft } from "../drafts.tsx";
import { countOf } from "../format.ts";

export function SyncPage() {
  const workspace = useWorkspaceName();
  useTitle("User synchronization");
  const sources = useLoad((signal) => syncApi.listSources(workspace, signal), [workspace]);
  const [adding, setAdding] = useState(() => hasDraft("source")); // open again with the changes kept over a sign-in
  const anyRunning = (sources.data ?? []).some((s) => s.status.running);
  useInterval(() => sources.reload(), 3000, anyRunning);
  const missingApi = sources.error instanceof ApiError && sources.error.status === 404 && sources.error.code === "not_found" && /route/i.test(sources.error.message);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>User synchronization</h1>
          <p className="muted">Keep this workspace's users and groups in step with Microsoft Entra ID.</p>
        </div>
        <AdminOnly>
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
              Add Entra ID source
            </button>
          </div>
        </AdminOnly>
      </div>
      {missingApi ? (
        <p className="banner banner-warn">This server does not offer synchronization yet (no sources API). Update Rollcall, then reload this page.</p>
      ) : (
        <ErrorBanner error={sources.error} retry={sources.reload} title="Sources could not be loaded." />
      )}
      {!sources.data && sources.loading ? <Loading label="Loading sources…" /> : null}
      {sources.data && sources.data.length === 0 ? (
        <Empty title="No Entra ID source yet">
          <p>Add a source with your app registration's tenant ID, client ID and secret, click Connect to check it, then Sync now.</p>
          <AdminOnly>
            <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
              Add Entra ID source
            </button>
          </AdminOnly>
        </Empty>
      ) : null}
      <div className="source-grid">
        {(sources.data ?? []).map((s) => (
          <SourceCard key={s.id} workspace={workspace} source={s} onChanged={sources.reload} />
        ))}
      </div>
      <ScimSources workspace={workspace} />
      <SourceFormDialog
        workspace={workspace}
        open={adding}
        onClose={() => setAdding(false)}
        onSaved={(s) => {
          setAdding(false);
          navigate(wsPath(workspace, `/sync/${encodeURIComponent(s.name)}?connect=1`));
        }}
      />
    </div>
  );
}

/** A source's status and actions; on the source's own page (`onItsPage`) without the links to that page. */
export function SourceCard({
  workspace,
  source,
  onChanged,
  onConnected,
  onItsPage = false,
  afterConnect,
}: {
  workspace: string;
  source: Source;
  onChanged: () => void;
  onConnected?: () => void;
  onItsPage?: boolean;
  /** Shown under a connection test that passed: what to do next. */
  afterConnect?: ReactNode;
}) {
  const toast = useToast();
  const canChange = useCanChange();
  const [runId, setRunId] = useState<string | null>(source.status.running);
  const [starting, setStarting] = useState<"sync" | "preview" | null>(null);
  const [active, setActive] = useState(Boolean(source.status.running));
  const [error, setError] = useState<unknown>(null);
  const busy = Boolean(starting) || active;
  // Decided once, as the card opens: a source not yet synced, failing or without a usable secret starts with Connect, in
  // the order of the work (connect, choose users and groups, preview, sync). It does not move under the admin's hands.
  const [connectFirst] = useState(() => needsConnect(source));
  const start = async (dryRun: boolean) => {
    if (busy) return; // the buttons stay focusable while busy (aria-disabled): focus is not dropped on the page
    setStarting(dryRun ? "preview" : "sync");
    setError(null);
    try {
      setRunId(await syncApi.sync(workspace, source.name, { dryRun }));
      setActive(true);
    } catch (e) {
      if (e instanceof ApiError && e.code === "sync_running" && typeof e.details.runId === "string") {
        setRunId(e.details.runId);
        setActive(true);
      } else setError(e);
    } finally {
      setStarting(null);
    }
  };
  // A source to connect first leads with Connect (above), then Preview changes; a connected one, with Sync now.
  const previewButton = (
    <button key="preview" type="button" className="btn" onClick={() => void start(true)} aria-disabled={busy || undefined}>
      {starting === "preview" ? "Starting…" : "Preview changes"}
    </button>
  );
  const syncButton = (primary: boolean) => (
    <button key="sync" type="button" className={primary ? "btn btn-primary" : "btn"} onClick={() => void start(false)} aria-disabled={busy || undefined}>
      {starting === "sync" ? "Starting…" : "Sync now"}
    </button>
  );
  return (
    <section className="card source-card" aria-labelledby={`source-${source.id}`}>
      <div className="section-head">
        <h2 id={`source-${source.id}`}>
          {onItsPage ? source.name : <Link to={wsPath(workspace, `/sync/${encodeURIComponent(source.name)}`)}>{source.name}</Link>}
        </h2>
        <SecretState source={source} />
      </div>
      <p className="muted small">
        Entra ID tenant <code>{source.config.tenantId}</code> · {scopeText(source.config, " · ")}
      </p>
      <SourceStats workspace={workspace} source={source} />
      <Overlapping source={source} />
      <SubscriptionWarnings source={source} />
      {canChange && connectFirst ? <ConnectButton workspace={workspace} source={source.name} onResult={onConnected} next={afterConnect} primary /> : null}
      <div className="actions">
        {canChange ? (connectFirst ? [previewButton, syncButton(false)] : [syncButton(true), previewButton]) : null}
        {onItsPage ? null : (
          <Link className="btn btn-link" to={wsPath(workspace, `/sync/${encodeURIComponent(source.name)}`)}>
            Settings and history
          </Link>
        )}
      </div>
      {canChange && !connectFirst ? <ConnectButton workspace={workspace} source={source.name} onResult={onConnected} next={afterConnect} /> : null}
      <ErrorBanner error={error} title="The sync could not start." />
      {runId ? (
        <RunTracker
          key={runId}
          workspace={workspace}
          runId={runId}
          onDone={(run) => {
            setActive(false);
            toast(run.status === "failed" ? `Sync of ${source.name} failed` : run.dryRun ? `Preview of ${source.name} ready` : `Sync of ${source.name} finished`, run.status === "failed" ? "bad" : "ok");
            onChanged();
          }}
        />
      ) : null}
    </section>
  );
}

/**
 * Whether a source's card leads with Connect: it was never synced (only previewed at most), its last run failed, or its
 * secret is missing or expired. A source whose last sync went through leads with Sync now.
 */
export function needsConnect(source: Source): boolean {
  const last = source.status.lastRun;
  const secretUnusable = !source.secret.set || (source.secret.daysLeft !== null && source.secret.daysLeft <= 0);
  return secretUnusable || !last || last.status === "failed" || (last.dryRun && source.status.syncedUsers === 0 && source.status.syncedGroups === 0);
}

/** Whom a source brings over, in a few words: "all users, 2 selected groups". */
export function scopeText(config: Source["config"], separator = ", "): string {
  const users = config.users === "all" ? "all users" : `members of ${countOf(config.scopeGroups.length, "group")}`;
  const groups = { none: "no groups", all: "all groups", selected: countOf(config.groups.length, "selected group"), attribute: `groups from ${config.groupAttribute}` }[config.groupMode];
  return `${users}${separator}${groups}`;
}

/** Sync on change that Microsoft Graph would not subscribe: Graph's code and what to do, per resource. */
function SubscriptionWarnings({ source }: { source: Source }) {
  const failed = source.status.subscriptions.filter((s) => s.state === "failed" && s.warning);
  if (!failed.length) return null;
  return (
    <div className="banner banner-warn" role="status" data-kind="subscription">
      {failed.map((s) => (
        <p key={s.resource}>
          Sync on change is not receiving changes of {s.resource} ({s.warning!.code}): {s.warning!.message}
        </p>
      ))}
    </div>
  );
}

/** Another source reading the same tenant for some of the same users: each user both claim is a conflict. */
function Overlapping({ source }: { source: Source }) {
  const others = source.status.overlapping;
  if (!others.length) return null;
  return (
    <div className="banner banner-warn" role="status" data-kind="overlapping">
      {others.map((n) => `"${n}"`).join(", ")} {others.length > 1 ? "read" : "reads"} this tenant for some of the same users: a user both sources claim is a
      conflict that neither changes. Narrow one source's users to members of groups (Edit settings &gt; Users), or remove one.
    </div>
  );
}
