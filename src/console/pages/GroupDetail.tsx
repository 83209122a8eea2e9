import { useState, type FormEvent } from "react";
import { api, ApiError, ws } from "../api.ts";
import { Link, navigate } from "../router.tsx";
import { useCanChange, useWorkspaceName, wsPath } from "../session.tsx";
import type { Group } from "../types.ts";
import { useLoad, useTitle } from "../hooks.ts";
import { Badge, ErrorBanner, Loading, Spinner, useToast } from "../components/ui.tsx";
import { ConfirmDialog } from "../components/dialog.tsx";
import { formatDate } from "../format.ts";
import { GroupFormDialog, groupSourceLabel } from "./Groups.tsx";
import { Prop } from "./UserDetail.tsx";
import { HistoryCard } from "../components/History.tsx";
import { bulkSummary } from "../components/BulkActions.tsx";
import type { BulkResult } from "../../domain/bulk.ts";
import { DraftNotice, hasDraft, useDraft, useKeepDraft } from "../drafts.tsx";
import { FieldError } from "../components/field-error.tsx";

/** The members typed or pasted: emails split at commas, semicolons, line breaks, or spaces between emails. */
function memberKeys(text: string): string[] {
  return text
    .split(/[,;\n]+/)
    .map((part) => part.trim())
    .filter(Boolean)
    .flatMap((part) => {
      const words = part.split(/\s+/);
      return words.every((w) => w.includes("@")) ? words : [part]; // a group's name may hold spaces
    });
}

/**
 * Whether a member (as the API lists them: a user's email, else UPN, else display name; a group's name) is a
 * group. Every user has an email or a UPN, both name@domain, so a label without "@" names a group.
 */
const isGroupLabel = (member: string) => !member.includes("@");

export function GroupPage({ id }: { id: string }) {
  const workspace = useWorkspaceName();
  const toast = useToast();
  const path = ws(workspace, `/groups/${encodeURIComponent(id)}`);
  const group = useLoad((signal) => api.get<Group>(path, undefined, { signal }), [path]);
  useTitle(group.data?.name ?? "Group");
  const [editing, setEditing] = useState(() => hasDraft("group")); // open again with the changes kept over a sign-in
  const [deleting, setDeleting] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);
  const memberDraft = useDraft<{ member: string }>("add-member");
  const [member, setMember] = useState(memberDraft?.value.member ?? "");
  useKeepDraft("add-member", () => (member.trim() ? { value: { member }, dropped: [] } : undefined));
  const [adding, setAdding] = useState(false);
  const [addError, setAddError] = useState<unknown>(null);
  const [alreadyMember, setAlreadyMember] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const canChange = useCanChange();

  const g = group.data;
  if (!g) {
    return (
      <div className="page">
        <Crumb workspace={workspace} />
        <ErrorBanner error={group.error} retry={group.reload} title="The group could not be loaded." />
        {group.loading ? <Loading label="Loading group…" /> : null}
      </div>
    );
  }
  const synced = g.source.type === "entra";
  // Synced groups change in Entra ID; viewers change nothing.
  const editable = !synced && canChange;
  const add = async (event: FormEvent) => {
    event.preventDefault();
    setAdding(true);
    setAddError(null);
    setAlreadyMember(null);
    try {
      const several = memberKeys(member);
      if (several.length > 1) {
        // Pasted emails: one request, all or nothing (an email that names no user adds none).
        toast(bulkSummary(await api.post<BulkResult>(ws(workspace, "/users/bulk"), { action: "addToGroup", group: g.id, users: several })));
      } else {
        // Adding a member the group has changes nothing: the API answers the group with the members it had.
        const answered = await api.post<Group>(`${path}/members`, { member: member.trim() });
        if (answered.members.join("\n") === g.members.join("\n")) {
          setAlreadyMember(`${member.trim()} is already a member of ${g.name}`);
          return;
        }
        toast(`${member.trim()} added`);
      }
      setMember("");
      group.reload();
    } catch (e) {
      setAddError(e);
    } finally {
      setAdding(false);
    }
  };
  const shown = filter ? g.members.filter((m) => m.toLowerCase().includes(filter.toLowerCase())) : g.members;
  const memberError = addError instanceof ApiError ? (addError.fieldMap().member ?? addError.message) : addError ? String(addError) : (alreadyMember ?? undefined);

  return (
    <div className="page">
      <Crumb workspace={workspace} />
      <div className="page-head">
        <div>
          <h1>{g.name}</h1>
          <p className="muted">
            {g.memberCount.toLocaleString()} member{g.memberCount === 1 ? "" : "s"} · <Badge tone={synced ? "info" : "neutral"}>{groupSourceLabel(g)}</Badge>
          </p>
        </div>
        {editable ? (
          <div className="actions">
            <button type="button" className="btn" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button type="button" className="btn btn-danger" onClick={() => setDeleting(true)}>
              Delete
            </button>
          </div>
        ) : null}
      </div>
      {synced ? <p className="banner banner-info">This group is synced from Entra ID; change its name and members in Entra ID and they follow at the next sync.</p> : null}
      <div className="detail-grid">
        <section className="card" aria-labelledby="members-h">
          <h2 id="members-h">Members</h2>
          {editable && member ? <DraftNotice draft={memberDraft} /> : null}
          {editable ? (
            <form className="inline-form" onSubmit={add} noValidate>
              <div className={`field${memberError ? " field-invalid" : ""}`}>
                <label htmlFor="add-member">Add a member</label>
                <input
                  id="add-member"
                  value={member}
                  onChange={(e) => setMember(e.target.value)}
                  placeholder="User email or group name; several emails separated by commas"
                  aria-invalid={memberError ? true : undefined}
                  aria-describedby={memberError ? "add-member-error" : undefined}
                />
                {memberError ? <FieldError id="add-member-error" message={memberError} /> : null}
              </div>
              <button type="submit" className="btn btn-primary" disabled={adding || !member.trim()}>
                {adding ? <Spinner label="Adding" /> : null} Add
              </button>
            </form>
          ) : null}
          {g.members.length > 10 ? (
            <div className="field">
              <label htmlFor="member-filter">Filter members</label>
              <input id="member-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
            </div>
          ) : null}
          {g.members.length === 0 ? (
            <p className="muted">No members yet.</p>
          ) : (
            <ul className="member-list">
              {shown.map((m) => (
                <li key={m}>
                  {isGroupLabel(m) ? (
                    <span>
                      <Link to={wsPath(workspace, `/groups/${encodeURIComponent(m)}`)}>{m}</Link> <Badge>Group</Badge>
                    </span>
                  ) : (
                    <Link to={wsPath(workspace, `/users?q=${encodeURIComponent(m)}`)}>{m}</Link>
                  )}
                  {editable ? (
                    <button type="button" className="btn btn-small btn-link" onClick={() => setRemoving(m)} aria-label={`Remove ${m} from ${g.name}`}>
                      Remove
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
          <p>
            <Link to={wsPath(workspace, `/users?group=${encodeURIComponent(g.name)}`)}>Show members in the users table</Link>
          </p>
        </section>
        <section className="card" aria-labelledby="about-h">
          <h2 id="about-h">About</h2>
          <dl className="props">
            <Prop label="Description">{g.description}</Prop>
            <Prop label="Source">{groupSourceLabel(g)}</Prop>
            <Prop label="External ID">{g.source.externalId ? <code>{g.source.externalId}</code> : null}</Prop>
            <Prop label="Created">{formatDate(g.createdAt)}</Prop>
            <Prop label="Updated">{formatDate(g.updatedAt)}</Prop>
          </dl>
        </section>
      </div>
      <HistoryCard path={path} version={g} showSubject note="A user that a sync or an import created, or an import changed, has its groups in its own history." />
      <GroupFormDialog
        workspace={workspace}
        group={g}
        open={editing}
        onClose={() => setEditing(false)}
        onSaved={(saved) => {
          setEditing(false);
          toast("Group saved");
          if (saved.id !== id) navigate(wsPath(workspace, `/groups/${saved.id}`), { replace: true });
          else group.reload();
        }}
      />
      <ConfirmDialog
        open={deleting}
        title={`Delete ${g.name}?`}
        confirmLabel="Delete group"
        danger
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await api.del(path);
          toast(`${g.name} deleted`);
          navigate(wsPath(workspace, "/groups"));
        }}
      >
        <p>The group is removed; its members stay in the directory.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing ?? ""} from ${g.name}?`}
        confirmLabel="Remove member"
        danger
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          await api.del(`${path}/members/${encodeURIComponent(removing!)}`);
          toast(`${removing} removed`);
          group.reload();
        }}
      >
        <p>The member stays in the directory; only the membership ends.</p>
      </ConfirmDialog>
    </div>
  );
}

function Crumb({ workspace }: { workspace: string }) {
  return (
    <nav className="breadcrumb" aria-label="Breadcrumb">
      <Link to={wsPath(workspace, "/groups")}>Groups</Link>
    </nav>
  );
}
