import type { ChangeRecord } from "../types.ts";
import { formatDate } from "./ui.tsx";

const ignored = new Set(["updatedAt", "createdAt", "id", "memberCount"]);

const labels: Record<string, string> = {
  displayName: "Display name",
  givenName: "First name",
  surname: "Last name",
  userPrincipalName: "User principal name",
  mobilePhone: "Mobile phone",
  businessPhones: "Business phones",
  preferredLanguage: "Preferred language",
  jobTitle: "Job title",
  employeeId: "Employee ID",
  cardNumbers: "Card numbers",
  customAttributes: "Custom attributes",
};

export const fieldLabel = (key: string) => labels[key] ?? key.charAt(0).toUpperCase() + key.slice(1);

function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (Array.isArray(value)) return value.length ? value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ") : "(none)";
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if ("type" in (value as object) && "name" in (value as object)) return `${(value as { type: string }).type}: ${(value as { name: string }).name}`;
    return entries.length ? entries.map(([k, v]) => `${k}=${String(v)}`).join(", ") : "(none)";
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/** What changed between two snapshots, field by field. */
export function diff(before: unknown, after: unknown): { field: string; from: string; to: string }[] {
  const b = (before && typeof before === "object" ? before : {}) as Record<string, unknown>;
  const a = (after && typeof after === "object" ? after : {}) as Record<string, unknown>;
  // A sync's log entry names the fields it changed; show those only (the rest is bookkeeping).
  const changed = Array.isArray(a.changed) ? new Set((a.changed as unknown[]).map(String)) : null;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !ignored.has(k) && k !== "changed" && (!changed || changed.has(k)));
  return keys
    .filter((k) => JSON.stringify(b[k] ?? null) !== JSON.stringify(a[k] ?? null))
    .map((k) => ({ field: k, from: show(b[k]), to: show(a[k]) }));
}

const actionText: Record<string, string> = {
  create: "Created",
  update: "Updated",
  delete: "Deleted",
  disable: "Disabled",
  enable: "Enabled",
  add_member: "Added to group",
  remove_member: "Removed from group",
};

export function actionLabel(action: string): string {
  return actionText[action] ?? action.replace(/[_.]/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** A change log as a timeline; `showSubject` for logs that span many users (a sync run). */
export function History({ changes, showSubject = false }: { changes: ChangeRecord[]; showSubject?: boolean }) {
  if (changes.length === 0) return <p className="muted">No changes recorded.</p>;
  return (
    <ol className="history">
      {changes.map((change) => {
        const fields = change.action === "create" || change.action === "delete" ? [] : diff(change.before, change.after);
        // A user created by a sync or an import lists the groups it joined in its "create" entry.
        const joined = change.action === "create" ? (change.after as { groups?: unknown } | null)?.groups : undefined;
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
            {Array.isArray(joined) && joined.length ? <p className="history-groups muted">Groups: {joined.map(String).join(", ")}</p> : null}
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
