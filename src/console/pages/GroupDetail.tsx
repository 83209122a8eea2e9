import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, ws } from "../api.ts";
import { Link, navigate } from "../router.tsx";
import { useCanChange, useWorkspaceName, wsPath } from "../session.tsx";
import { isSyncedSourceType, type GroupDetail, type GroupMember, type MemberPage } from "../types.ts";
import { useDebounced, useLoad, useTitle } from "../hooks.ts";
import { Breadcrumb, Badge, ErrorBanner, Loading, Spinner, useToast } from "../components/ui.tsx";
import { ConfirmDialog } from "../components/dialog.tsx";
import { formatDate } from "../format.ts";
import { GroupFormDialog, groupSourceLabel } from "./Groups.tsx";
import { Prop } from "./UserDetail.tsx";
import { HistoryCard } from "../components/History.tsx";
import { bulkSummary } from "../components/BulkActions.tsx";
import type { BulkResult } from "../../domain/bulk.ts";
import { DraftNotice, hasDraft, useDraft, useKeepDraft } from "../drafts.tsx";
import { FieldError } from "../components/field-error.tsx";
import { isGuid } from "../../domain/guid.ts";
import { DeletedGroupPage } from "./DeletedGroup.tsx";

/**
 * The members typed or pasted: emails (or user ids) split at commas, semicolons, line breaks or spaces; anything else
 * is one member, a group's name, which may hold commas and spaces ("Printer room 3, 2nd floor").
 */
function memberKeys(text: string): string[] {
  const words = text.split(/[,;\s]+/).filter(Boolean);
  return words.length > 1 && words.every((w) => w.includes("@") || isGuid(w)) ? words : [text.trim()];
}

/** Members are read a page at a time: a group may hold the whole tenant (96,000 on one page took 38 s to render). */
const memberPageSize = 50;

/** How a member is named on the page: a user by email (else display name), a group by name. */
const memberLabel = (m: GroupMember) => m.email ?? m.displayName;

/**
 * The group's members as the server pages them (its filter too), the pages "Show more" added, and the members removed
 * here since: a change updates this list instead of loading the group again.
 */
function useMembers(path: string, filter: string) {
  const q = useDebounced(filter.trim(), 300);
  const first = useLoad((signal) => api.get<MemberPage>(`${path}/members`, { limit: memberPageSize, q: q || undefined }, { signal }), [path, q]);
  // What was added to or taken from the first page, for that page only: a new first page starts afresh.
  const [more, setMore] = useState<{ base: MemberPage; items: GroupMember[]; next: string | null; removed: string[] } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const base = first.data;
  const extra = more && more.base === base ? more : { base, items: [], next: base?.next ?? null, removed: [] };
  const removed = new Set(extra.removed);
  const items = base ? [...base.items, ...extra.items].filter((m) => !removed.has(m.id)) : [];
  return {
    ...first,
    q,
    items,
    total: base ? base.total - extra.removed.length : 0,
    next: extra.next,
    loadingMore,
    moreError,
    async showMore() {
      if (!base || !extra.next) return;
      setLoadingMore(true);
      setMoreError(null);
      try {
        const page = await api.get<MemberPage>(`${path}/members`, { limit: memberPageSize, after: extra.next, q: q || undefined });
        setMore({ base, items: [...extra.items, ...page.items], next: page.next, removed: extra.removed });
      } catch (e) {
        setMoreError(e);
      } finally {
        setLoadingMore(false);
      }
    },
    forget(id: string) {
      if (base) setMore({ base, items: extra.items, next: extra.next, removed: [...extra.removed, id] });
    },
  };
}

export function GroupPage({ id }: { id: string }) {
  const workspace = useWorkspaceName();
  const toast = useToast();
  const path = ws(workspace, `/groups/${encodeURIComponent(id)}`);
  const group = useLoad((signal) => api.get<GroupDetail>(path, undefined, { signal }), [path]);
  useTitle(group.data?.name ?? "Group");
  const [editing, setEditing] = useState(() => hasDraft("group")); // open again with the changes kept over a sign-in
  const [deleting, setDeleting] = useState(false);
  const [removing, setRemoving] = useState<GroupMember | null>(null);
  const memberDraft = useDraft<{ member: string }>("add-member");
  const [member, setMember] = useState(memberDraft?.value.member ?? "");
  useKeepDraft("add-member", () => (member.trim() ? { value: { member }, dropped: [] } : undefined));
  const [adding, setAdding] = useState(false);
  const [addError, setAddError] = useState<unknown>(null);
  const [alreadyMember, setAlreadyMember] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const members = useMembers(path, filter);
  // Member groups come first in the members order, so the unfiltered list says whether the group holds any (kept while filtered).
  const listedGroups = members.data && !members.q ? members.items.some((m) => m.kind === "group") : undefined;
  const [holdsGroups, setHoldsGroups] = useState(false);
  useEffect(() => {
    if (listedGroups !== undefined) setHoldsGroups(listedGroups);
  }, [listedGroups]);
  const canChange = useCanChange();

  const g = group.data;
  // A deleted group's history is kept, under the id it had (history entries link to it).
  if (group.error instanceof ApiError && group.error.status === 404) return <DeletedGroupPage workspace={workspace} path={path} notFound={group.error} />;
  if (!g) {
    return (
      <div className="page">
        <Breadcrumb workspace={workspace} to="/groups" label="Groups" />
        <ErrorBanner error={group.error} retry={group.reload} title="The group could not be loaded." />
        {group.loading ? <Loading label="Loading group…" /> : null}
      </div>
    );
  }
  const synced = isSyncedSourceType(g.source.type);
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
        group.reload();
      } else {
        // Adding a member the group has changes nothing: the API says so (added: false).
        const { added, ...answered } = await api.post<GroupDetail & { added: boolean }>(`${path}/members`, { member: member.trim() });
        if (!added) {
          setAlreadyMember(`${member.trim()} is already a member of ${g.name}`);
          return;
        }
        group.set(answered); // its count, from the answer
        toast(`${member.trim()} added`);
      }
      setMember("");
      members.reload(); // one page: the new member in its place
    } catch (e) {
      setAddError(e);
    } finally {
      setAdding(false);
    }
  };
  const memberError = addError instanceof ApiError ? (addError.fieldMap().member ?? addError.message) : addError ? String(addError) : (alreadyMember ?? undefined);

  return (
    <div className="page">
      <Breadcrumb workspace={workspace} to="/groups" label="Groups" />
      <div className="page-head">
        <div>
          <h1>
            <bdi>{g.name}</bdi>
          </h1>
          <p className="muted">
            {g.memberCount.toLocaleString()} member{g.memberCount === 1 ? "" : "s"}
            {g.nestedUserCount !== g.memberCount ? ` · ${g.nestedUserCount.toLocaleString()} user${g.nestedUserCount === 1 ? "" : "s"} at any depth` : null} · <Badge tone={synced ? "info" : "neutral"}>{groupSourceLabel(g)}</Badge>
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
          {g.memberCount > 10 ? (
            <div className="field">
              <label htmlFor="member-filter">Filter members</label>
              <input id="member-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} aria-describedby="member-count" />
            </div>
          ) : null}
          <ErrorBanner error={members.error} retry={members.reload} title="The members could not be loaded." />
          {!members.data && members.loading ? <Loading label="Loading members…" /> : null}
          {members.data && members.items.length === 0 ? (
            <p className="muted">{members.q ? "No members match." : "No members yet."}</p>
          ) : null}
          {members.items.length ? (
            <ul className="member-list">
              {members.items.map((m) => (
                <li key={m.id}>
                  {m.kind === "group" ? (
                    <span>
                      <Link to={wsPath(workspace, `/groups/${m.id}`)} dir="auto">{m.displayName}</Link> <Badge>Group</Badge>
                    </span>
                  ) : (
                    <span>
                      <Link to={wsPath(workspace, `/users/${m.id}`)} dir="auto">{m.displayName}</Link>
                      {m.email ? <span className="muted"> {m.email}</span> : null}
                    </span>
                  )}
                  {editable ? (
                    <button type="button" className="btn btn-small btn-link" onClick={() => setRemoving(m)} aria-label={`Remove ${memberLabel(m)} from ${g.name}`}>
                      Remove
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : null}
          {members.data ? (
            <p id="member-count" className="muted" aria-live="polite">
              {members.items.length < members.total
                ? `Showing ${members.items.length.toLocaleString()} of ${members.total.toLocaleString()}${members.q ? " matching" : ""}`
                : members.q && members.total
                  ? `${members.total.toLocaleString()} matching`
                  : null}
            </p>
          ) : null}
          <ErrorBanner error={members.moreError} retry={members.showMore} title="More members could not be loaded." />
          {members.next ? (
            <p>
              <button type="button" className="btn" onClick={members.showMore} disabled={members.loadingMore}>
                {members.loadingMore ? <Spinner label="Loading" /> : null} Show {Math.min(memberPageSize, members.total - members.items.length).toLocaleString()} more
              </button>
            </p>
          ) : null}
          <p>
            <Link to={wsPath(workspace, `/users?group=${encodeURIComponent(g.name)}${holdsGroups ? "&nested=true" : ""}`)}>Show members in the users table</Link>
          </p>
        </section>
        <section className="card" aria-labelledby="about-h">
          <h2 id="about-h">About</h2>
          <dl className="props">
            <Prop label="Description">{g.description}</Prop>
            <Prop label="Member of">
              {g.memberOf.length
                ? g.memberOf.map((name, i) => (
                    <span key={name}>
                      {i ? ", " : null}
                      <Link to={wsPath(workspace, `/groups/${encodeURIComponent(name)}`)} dir="auto">{name}</Link>
                    </span>
                  ))
                : null}
            </Prop>
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
        {g.memberOf.length ? <p>It leaves the group{g.memberOf.length === 1 ? "" : "s"} it is in: {g.memberOf.join(", ")}.</p> : null}
      </ConfirmDialog>
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing ? memberLabel(removing) : ""} from ${g.name}?`}
        confirmLabel="Remove member"
        danger
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          const gone = removing!;
          group.set(await api.del<GroupDetail>(`${path}/members/${encodeURIComponent(gone.id)}`)); // its count, from the answer
          members.forget(gone.id);
          toast(`${memberLabel(gone)} removed`);
        }}
      >
        <p>The member stays in the directory; only the membership ends.</p>
      </ConfirmDialog>
    </div>
  );
}
