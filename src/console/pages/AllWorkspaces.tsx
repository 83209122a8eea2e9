import { api } from "../api.ts";
import { Link } from "../router.tsx";
import { wsPath } from "../session.tsx";
import { useLoad, useTitle } from "../hooks.ts";
import { countOf, formatDate } from "../format.ts";
import { Badge, Empty, ErrorBanner, Loading } from "../components/ui.tsx";
import { DataTable } from "../components/DataTable.tsx";
import type { PageOf } from "../types.ts";
import type { ScimSourceOverview, SourceOverview, WorkspaceOverview } from "../../core/workspace-overview.ts";

/** Every workspace the person may use at a glance, those needing attention first with why, each linking to its sync page. */
export function AllWorkspacesPage() {
  useTitle("All workspaces");
  const overview = useLoad((signal) => api.get<PageOf<WorkspaceOverview>>("/workspace-overview", undefined, { signal }), []);
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>All workspaces</h1>
          <p className="muted">The workspaces you can use, those whose synchronization needs attention first: a failed or stopped run, a secret expired or expiring, conflicts, a SCIM source Entra ID has stopped calling.</p>
        </div>
      </div>
      <ErrorBanner error={overview.error} retry={overview.reload} title="The workspaces could not be loaded." />
      {!overview.data && overview.loading ? <Loading label="Loading workspaces…" /> : null}
      {overview.data?.items.length === 0 ? <Empty title="No workspaces">You hold no role in any workspace yet.</Empty> : null}
      {overview.data && overview.data.items.length > 0 ? (
        <DataTable className="all-workspaces" caption="All workspaces" columns={["Workspace", "Attention", "Sources", "Users", "Notifications"]}>
          {overview.data.items.map((w) => (
            <WorkspaceRow key={w.id} workspace={w} />
          ))}
        </DataTable>
      ) : null}
    </div>
  );
}

function WorkspaceRow({ workspace: w }: { workspace: WorkspaceOverview }) {
  const tone = w.attention.level === "critical" ? "bad" : w.attention.level === "warning" ? "warn" : "ok";
  return (
    <tr data-workspace={w.name}>
      <th scope="row" data-label="Workspace">
        <span>
          <Link to={wsPath(w.name, "/sync")}>{w.name}</Link>
          {w.role === "viewer" ? <span className="hint"> · read-only</span> : null}
        </span>
      </th>
      <td data-label="Attention">
        <div>
          <Badge tone={tone}>{w.attention.level === "critical" ? "Needs attention" : w.attention.level === "warning" ? "Check" : "OK"}</Badge>
          {w.attention.reasons.length ? (
            <ul className="plain-list">
              {w.attention.reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          ) : null}
        </div>
      </td>
      <td data-label="Sources">
        {w.sources.length || w.scimSources.length ? (
          <div>
            {w.sources.map((s) => (
              <div key={s.name}>{sourceText(s)}</div>
            ))}
            {w.scimSources.map((s) => (
              <div key={s.name} data-kind="scim-source">
                {scimText(s)}
              </div>
            ))}
          </div>
        ) : (
          <span className="muted">No sources</span>
        )}
      </td>
      <td data-label="Users">{countOf(w.users, "user")}</td>
      <td data-label="Notifications">{w.notifications ? <Link to={wsPath(w.name, "/notifications")}>{countOf(w.notifications, "open notification")}</Link> : <span className="muted">None</span>}</td>
    </tr>
  );
}

function sourceText(s: SourceOverview): string {
  const run = s.running ? "running now" : s.lastRun ? `last ${s.lastRun.dryRun ? "preview" : "run"} ${s.lastRun.status} ${formatDate(s.lastRun.startedAt)}` : "never run";
  return `${s.name}: ${run}${s.nextRunAt ? `; next ${formatDate(s.nextRunAt)}` : ""}`;
}

function scimText(s: ScimSourceOverview): string {
  return `${s.name} (SCIM): ${countOf(s.users, "user")}, ${countOf(s.groups, "group")}; ${s.lastRequestAt ? `last request ${formatDate(s.lastRequestAt)}` : "never called"}`;
}
