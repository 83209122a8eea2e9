import { useCallback, useEffect, useState } from "react";
import { api, ws } from "../api.ts";
import { Link } from "../router.tsx";
import { wsPath } from "../session.tsx";
import { useInterval, useMediaQuery } from "../hooks.ts";
import { sourceAdvice } from "../advice.ts";

/** What GET /workspaces/:ws/notifications answers per item (the fields the console shows). */
export interface ConsoleNotification {
  id: string;
  kind: "secret_expiry" | "sync_failed" | "sync_stopped" | "import_failed" | "scim_quiet";
  milestone: string;
  severity: "info" | "warning" | "critical";
  title: string;
  body: string;
  link: string | null;
  createdAt: string;
  resolvedAt: string | null;
  dismissedAt: string | null;
  dismissedBy: string | null;
  deliveries: { id: string; channel: "email" | "webhook"; target: string; status: string; attempts: number; lastError: string | null; sentAt: string | null }[];
}

const rank = { critical: 0, warning: 1, info: 2 } as const;

/**
 * The banner above every page of a workspace: what needs attention now (a client secret about to expire,
 * a failed or stopped sync, a failed import). Refreshed every minute; admins can dismiss an item.
 */
export function NotificationsBanner({ workspace, canDismiss }: { workspace: string; canDismiss: boolean }) {
  const [items, setItems] = useState<ConsoleNotification[]>([]);
  const load = useCallback(() => {
    api.get<{ items: ConsoleNotification[] }>(ws(workspace, "/notifications"), { active: true }).then(
      (r) => setItems([...r.items].sort((a, b) => rank[a.severity] - rank[b.severity] || b.createdAt.localeCompare(a.createdAt))),
      () => setItems([]),
    );
  }, [workspace]);
  useEffect(load, [load]);
  useInterval(load, 60_000, true);
  // At phone width (the stylesheet's breakpoint) three notices would fill the screen above the page.
  const phone = useMediaQuery("(max-width: 760px)");

  if (items.length === 0) return null;
  const shown = items.slice(0, phone ? 1 : 3);
  const dismiss = async (id: string) => {
    await api.post(ws(workspace, `/notifications/${encodeURIComponent(id)}/dismiss`));
    load();
  };
  return (
    <section className="notifications-banner" aria-label="Notifications" data-testid="notifications-banner">
      {shown.map((n) => (
        <div key={n.id} className={`banner ${n.severity === "critical" ? "banner-error" : "banner-warn"}`} role={n.severity === "critical" ? "alert" : "status"} data-kind={n.kind}>
          <div>
            <strong>{n.title}</strong> <span>{sourceAdvice(n.body)}</span>{" "}
            {n.link ? <Link to={n.link}>Review</Link> : null}
          </div>
          {canDismiss ? (
            <button type="button" className="btn btn-small" onClick={() => void dismiss(n.id)} aria-label={`Dismiss: ${n.title}`}>
              Dismiss
            </button>
          ) : null}
        </div>
      ))}
      {items.length > shown.length ? (
        <p className="hint">
          <Link to={wsPath(workspace, "/notifications")}>{items.length - shown.length} more notification{items.length - shown.length === 1 ? "" : "s"}</Link>
        </p>
      ) : null}
    </section>
  );
}
