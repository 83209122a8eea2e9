import { Link } from "../router.tsx";
import { wsPath } from "../session.tsx";
import type { UserRef } from "../../domain/user.ts";

/** A user as a manager or a report is named: their name, their email after it, a link to their page. */
export function UserRefLink({ workspace, user }: { workspace: string; user: UserRef }) {
  return (
    <Link to={wsPath(workspace, `/users/${encodeURIComponent(user.id)}`)}>
      {user.displayName}
      {user.email ? <span className="muted"> {user.email}</span> : null}
    </Link>
  );
}

/** The users whose manager this user is, each a link; the whole list is the users list filtered by manager. */
export function DirectReports({ workspace, reports }: { workspace: string; reports: UserRef[] }) {
  if (!reports.length) return null;
  return (
    <ul className="plain-list" aria-label="Direct reports">
      {reports.map((r) => (
        <li key={r.id}>
          <UserRefLink workspace={workspace} user={r} />
        </li>
      ))}
    </ul>
  );
}
