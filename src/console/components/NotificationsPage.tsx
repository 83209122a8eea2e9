import { api, ws } from "../api.ts";
import { useLoad, useTitle } from "../hooks.ts";
import { Link } from "../router.tsx";
import { useWorkspaceName, wsPath } from "../session.tsx";
import { Badge, Empty, ErrorBanner, Loading } from "./ui.tsx";
import { formatDate } from "../format.ts";
import type { ConsoleNotification } from "./NotificationsBanner.tsx";
import { DataTable } from "./DataTable.tsx";
import { sourceAdvice } from "../advice.ts";

/** Every notification of the workspace, newest first, with where each was delivered (the delivery log). */
export function NotificationsPage() {
  const workspace = useWorkspaceName();
  useTitle("Notifications");
  const list = useLoad((signal) => api.get<{ items: ConsoleNotification[] }>(ws(workspace, "/notifications"), undefined, { signal }), [workspace]);
  return (
    <div className="page">
      <h1>Notifications</h1>
      <p className="hint">
        Warnings about client secrets (30, 14, 7 and 1 days before they expire, and once expired), failed or stopped syncs and failed imports. E-mail recipients and
        the webhook are set under <Link to={wsPath(workspace, "/settings")}>Settings</Link> (or with <code>rollcall notifications settings</code>).
      </p>
      {list.error ? <ErrorBanner error={list.error} retry={list.reload} /> : null}
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? <Empty title="Nothing to report">Rollcall warns here before a client secret expires and when a sync or import fails.</Empty> : null}
      {list.data && list.data.items.length > 0 ? (
        <DataTable columns={["When", "What", "State", "Delivered"]}>
          {list.data.items.map((n) => (
            <tr key={n.id}>
              <td data-label="When">{formatDate(n.createdAt)}</td>
              <td data-label="What">
                <Badge tone={n.severity === "critical" ? "bad" : "warn"}>{n.severity}</Badge> {n.link ? <Link to={n.link}>{n.title}</Link> : n.title}
                <div className="hint">{sourceAdvice(n.body)}</div>
              </td>
              <td data-label="State">{n.resolvedAt ? "Resolved" : n.dismissedAt ? `Dismissed by ${n.dismissedBy ?? "?"}` : "Active"}</td>
              <td data-label="Delivered">
                {n.deliveries.length === 0
                  ? "Console only"
                  : n.deliveries.map((d) => (
                      <div key={d.id} title={d.lastError ?? undefined}>
                        {d.channel} {d.target}: {d.status}
                        {d.attempts > 1 ? ` after ${d.attempts} attempts` : ""}
                      </div>
                    ))}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </div>
  );
}
