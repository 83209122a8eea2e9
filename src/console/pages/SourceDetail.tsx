import { useEffect, useState } from "react";
import { Link, navigate, setQuery, useLocation, offsetIn } from "../router.tsx";
import { useCanChange, useWorkspaceName, wsPath } from "../session.tsx";
import { useLoad, useTitle, type Loaded } from "../hooks.ts";
import { countsMeaning, countsSummary, startedBy, statusText, statusTone, syncApi, wouldStopWarning, type RemovedSource, type Run, type Source, type SourceRemoval } from "../sync-api.ts";
import { Breadcrumb, Badge, ErrorBanner, Loading, Pager } from "../components/ui.tsx";
import { ConfirmDialog } from "../components/dialog.tsx";
import { formatDate, relativeTime } from "../format.ts";
import { SourceFormDialog, describeEndpoints, registerRedirectUri, useSignInRedirectUri } from "../components/SourceForm.tsx";
import { SourceCard, scopeText } from "./Sync.tsx";
import { Prop } from "./UserDetail.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { hasDraft } from "../drafts.tsx";
import { formatInterval } from "../../domain/interval.ts";
import { TryMapping } from "../components/TryMapping.tsx";
import { ScimSourcePage } from "./ScimSourceDetail.tsx";
import { RemoveSourceDialog } from "../components/RemoveSourceDialog.tsx";
import { useSourceSaved } from "../components/source-saved.ts";

const pageSize = 20;

/** A source's page: an Entra ID source's settings and runs, or a SCIM source's (ScimSourceDetail.tsx). */
export function SourcePage({ name }: { name: string }) {
  const workspace = useWorkspaceName();
  useTitle(`Source ${name}`);
  const source = useLoad((signal) => syncApi.getSource(workspace, name, signal), [workspace, name]);
  const s = source.data;
  if (s?.type === "scim") return <ScimSourcePage workspace={workspace} source={s} reload={source.reload} />;
  if (!s && source.loading) {
    return (
      <div className="page">
        <Loading label="Loading source…" />
      </div>
    );
  }
  return <EntraSourcePage name={name} source={{ ...source, data: s }} />;
}

function EntraSourcePage({ name, source }: { name: string; source: Loaded<Source> }) {
  const workspace = useWorkspaceName();
  const { query } = useLocation();
  // The history's page is in the address: a reload, or Back from a run, returns to it.
  const offset = offsetIn(query, "runs");
  const setOffset = (next: number) => setQuery({ runs: next || null }, { push: true });
  const runs = useLoad((signal) => syncApi.listRuns(workspace, { source: name, limit: pageSize, offset }, signal), [workspace, name, offset]);
  const [editing, setEditing] = useState(() => hasDraft("source")); // open again with the changes kept over a sign-in
  const [atScope, setAtScope] = useState(false);
  const edit = (scope: boolean) => {
    setAtScope(scope);
    setEditing(true);
  };
  const [removing, setRemoving] = useState(false);
  const canChange = useCanChange();
  const redirectUri = useSignInRedirectUri();
  const s = source.data;
  // "Source saved" stands until the admin connects or runs it; the address forgets it at once, so a reload does not bring it back.
  const [justSaved, setJustSaved] = useState(() => query.get("connect") !== null);
  useEffect(() => {
    if (query.get("connect") !== null) setQuery({ connect: null });
  }, [query]);
  const refresh = () => {
    setJustSaved(false);
    source.reload();
    runs.reload();
  };
  const afterSave = useSourceSaved(workspace, name, refresh);

  return (
    <div className="page">
      <Breadcrumb workspace={workspace} to="/sync" label="User synchronization" />
      <div className="page-head">
        <div>
          <h1>{name}</h1>
          <p className="muted">Microsoft Entra ID source</p>
        </div>
        {s && canChange ? (
          <div className="actions">
            <button type="button" className="btn" onClick={() => edit(false)}>
              Edit settings
            </button>
            <button type="button" className="btn btn-danger" onClick={() => setRemoving(true)}>
              Remove source
            </button>
          </div>
        ) : null}
      </div>
      <ErrorBanner error={source.error} retry={source.reload} title="The source could not be loaded." />
      {!s && source.loading ? <Loading label="Loading source…" /> : null}
      {s ? (
        <>
          {justSaved ? <p className="banner banner-info">Source saved. Click Connect to check the credentials and permissions, then Preview changes or Sync now.</p> : null}
          <div className="detail-grid">
            <SourceCard
              key={s.updatedAt}
              workspace={workspace}
              source={s}
              onChanged={refresh}
              onConnected={() => setJustSaved(false)}
              onItsPage
              afterConnect={s.status.lastRun ? null : <FirstSyncNext source={s} onChoose={() => edit(true)} />}
            />
            <section className="card" aria-labelledby="settings-h">
              <h2 id="settings-h">Settings</h2>
              <dl className="props">
                <Prop label="Tenant">
                  <code>{s.config.tenantId}</code>
                </Prop>
                <Prop label="Client ID">
                  <code>{s.config.clientId}</code>
                </Prop>
                <Prop label="Client secret">{s.secret.description}</Prop>
                <Prop label="Cloud">{describeEndpoints(s.config)}</Prop>
                <Prop label="Users">
                  {s.config.users === "all" ? "All users" : `Members of ${s.config.scopeGroups.join(", ")}`}
                  {s.config.includeGuests ? ", guests included" : ", no guests"}
                  {s.config.syncManagers ? ", managers synced" : ""}
                </Prop>
                <Prop label="Groups">
                  {{ none: "None", all: "All groups", selected: `Only ${s.config.groups.join(", ")}`, attribute: `From the user attribute ${s.config.groupAttribute}` }[s.config.groupMode]}
                  {s.config.ignoreGroups.length ? `; ignoring ${s.config.ignoreGroups.join(", ")}` : ""}
                  {s.config.ignoreGroupsContaining.length ? `; ignoring names containing ${s.config.ignoreGroupsContaining.join(", ")}` : ""}
                </Prop>
                <Prop label="When a user leaves">{{ disable: "Disable", delete: "Delete", keep: "Keep" }[s.config.onRemove]}</Prop>
                <Prop label="Safety stop">
                  More than {s.config.deletionThreshold.percent}% and more than {s.config.deletionThreshold.count} users removed
                </Prop>
                <Prop label="Schedule">
                  {s.config.schedule === null ? "Manual only" : "cron" in s.config.schedule ? `cron ${s.config.schedule.cron} (${s.config.schedule.timeZone ?? "UTC"})` : `every ${formatInterval(s.config.schedule.everyMs)}`}
                  {`; full sync every ${formatInterval(s.config.fullEveryMs)}`}
                </Prop>
                <Prop label="Phone country">{s.config.country ?? "Workspace default"}</Prop>
                <Prop label="Sync on change">
                  {s.config.syncOnChange
                    ? s.status.subscriptions.map((sub) => (sub.state === "active" ? `${sub.resource}: subscribed until ${formatDate(sub.expiresAt!)}` : sub.state === "pending" ? `${sub.resource}: subscribing` : `${sub.resource}: not subscribed (${sub.warning?.code})`)).join("; ") || "On"
                    : "Off"}
                </Prop>
                <Prop label="Sign in with Microsoft">
                  {s.config.signIn ? `Used for sign-in; ${registerRedirectUri(redirectUri).replace(/^R/, "r")}` : "Off"}
                </Prop>
                <Prop label="Mapping">
                  {Object.keys(s.config.mapping).length
                    ? Object.entries(s.config.mapping)
                        .map(([k, v]) => `${k} ← ${v}`)
                        .join("; ")
                    : "Defaults"}
                </Prop>
              </dl>
            </section>
          </div>
          {canChange ? <TryMapping workspace={workspace} source={s.name} /> : null}
        </>
      ) : null}
      <section className="card" aria-labelledby="runs-h">
        <h2 id="runs-h">Run history</h2>
        <ErrorBanner error={runs.error} retry={runs.reload} title="The run history could not be loaded." />
        {runs.data && runs.data.items.length === 0 ? <p className="muted">No runs yet.</p> : null}
        {runs.data && runs.data.items.length ? <RunsTable workspace={workspace} runs={runs.data.items} /> : null}
        {runs.data && runs.data.total > pageSize ? <Pager offset={offset} limit={pageSize} total={runs.data.total} onChange={setOffset} /> : null}
      </section>
      {s ? (
        <>
          <SourceFormDialog
            workspace={workspace}
            source={s}
            open={editing}
            atScope={atScope}
            onClose={() => setEditing(false)}
            onSaved={(saved) => {
              setEditing(false);
              afterSave(saved);
            }}
          />
          <RemoveSourceDialog
            open={removing}
            source={{ name: s.name, type: "entra", users: s.status.syncedUsers, groups: s.status.syncedGroups }}
            onClose={() => setRemoving(false)}
          />
        </>
      ) : null}
    </div>
  );
}

/** After the first connection test that passes: the step between Connect and the first sync, choosing whom to bring over. */
function FirstSyncNext({ source, onChoose }: { source: Source; onChoose: () => void }) {
  return (
    <div className="banner banner-info" data-kind="next-step">
      <p>
        <strong>Next, choose which users and groups to bring over</strong> (now: {scopeText(source.config)}). Then Preview changes shows what a sync
        would do, without changing anything, and Sync now brings them over.
      </p>
      <button type="button" className="btn btn-small" onClick={onChoose}>
        Choose users and groups
      </button>
    </div>
  );
}

export function RunsTable({ workspace, runs }: { workspace: string; runs: Run[] }) {
  return (
    <DataTable columns={["Started", "Status", "Kind", "Started by", "Changes", "Duration"]}>
      {runs.map((run) => {
        const counts = countsSummary(run.counts).filter((c) => c.key !== "unchanged" && c.key !== "groupsUnchanged");
        const meaning = countsMeaning(run);
        const changes = counts.map((c) => `${c.value.toLocaleString()} ${c.label}`).join(", ");
        return (
          <tr key={run.id} onClick={(e) => !(e.target as HTMLElement).closest("a") && navigate(wsPath(workspace, `/runs/${run.id}`))}>
            <td data-label="Started" className="nowrap">
              <Link to={wsPath(workspace, `/runs/${run.id}`)} title={formatDate(run.startedAt)}>
                {relativeTime(run.startedAt)}
              </Link>
            </td>
            <td data-label="Status">
              <Badge tone={statusTone(run.status)}>{statusText(run)}</Badge>
              {wouldStopWarning(run) ? <> <Badge tone="warn">Would stop for review</Badge></> : null}
            </td>
            <td data-label="Kind">
              {run.dryRun ? "Preview" : "Sync"} · {run.mode ?? "—"}
            </td>
            <td data-label="Started by">{startedBy(run)}</td>
            <td data-label="Changes">{counts.length ? (meaning === "Changes" ? changes : `${meaning}: ${changes}`) : run.status === "running" ? "…" : "none"}</td>
            <td data-label="Duration">{duration(run)}</td>
          </tr>
        );
      })}
    </DataTable>
  );
}

export function duration(run: Pick<Run, "startedAt" | "finishedAt">): string {
  if (!run.finishedAt) return "running";
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
