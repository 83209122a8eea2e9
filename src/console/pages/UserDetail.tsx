import { useState, type ReactNode } from "react";
import { api, ApiError, ws } from "../api.ts";
import { Link, navigate } from "../router.tsx";
import { AdminOnly, useCanChange, useWorkspaceName, wsPath } from "../session.tsx";
import type { ChangeRecord, PageOf, User, UserDetail } from "../types.ts";
import { currentStatusChange, nextSyncSentence, statusSentence } from "../../domain/user-status.ts";
import { useLoad, useTitle } from "../hooks.ts";
import { Breadcrumb, Badge, ErrorBanner, Loading, SelectField, tagTone, useToast } from "../components/ui.tsx";
import { ConfirmDialog } from "../components/dialog.tsx";
import { formatDate } from "../format.ts";
import { UserFormDialog } from "../components/UserForm.tsx";
import { SaveWarnings, takeSaveWarnings } from "../components/SaveWarnings.tsx";
import { HistoryCard } from "../components/History.tsx";
import { sourceLabel, StatusBadge } from "../components/user-labels.tsx";
import { hasDraft } from "../drafts.tsx";
import { MicrosoftLink } from "../components/MicrosoftLink.tsx";
import { UserPhoto } from "../components/UserPhoto.tsx";
import { syncApi } from "../sync-api.ts";
import { DirectReports, UserRefLink } from "../components/UserManager.tsx";

export function UserPage({ id }: { id: string }) {
  const workspace = useWorkspaceName();
  const toast = useToast();
  const path = ws(workspace, `/users/${encodeURIComponent(id)}`);
  const user = useLoad((signal) => api.get<UserDetail>(path, undefined, { signal }), [path]);
  const [editing, setEditing] = useState(() => hasDraft("user")); // open again with the changes kept over a sign-in
  const [deleting, setDeleting] = useState(false);
  const [toggling, setToggling] = useState(false);
  // What the last save of this user lost (a phone number's extension), until dismissed or the next save.
  const [saveWarnings, setSaveWarnings] = useState(() => ({ id, messages: takeSaveWarnings(id) }));
  useTitle(user.data?.displayName ?? "User");

  const refresh = () => user.reload();
  const u = user.data;
  // A deleted user's history is kept, under the id they had (a recreated user's history links to it).
  if (user.error instanceof ApiError && user.error.status === 404) return <DeletedUserPage workspace={workspace} path={path} notFound={user.error} />;
  if (!u) return <UserNotLoaded workspace={workspace} error={user.error} retry={user.reload} loading={user.loading} />;

  return (
    <div className="page">
      <Breadcrumb workspace={workspace} to="/users" label="Users" />
      <div className="page-head">
        <div className="user-head">
          <UserPhoto key={u.id} path={path} user={u} onChanged={refresh} />
          <div>
            <h1>
              <bdi>{u.displayName}</bdi>
            </h1>
            <p className="muted">
              {u.email ?? u.userPrincipalName} · <StatusBadge user={u} />
            </p>
            <StatusWhy user={u} />
          </div>
        </div>
        <AdminOnly>
          <div className="actions">
            <button type="button" className="btn" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button type="button" className="btn" onClick={() => setToggling(true)}>
              {u.enabled ? "Disable" : "Enable"}
            </button>
            <button type="button" className="btn btn-danger" onClick={() => setDeleting(true)}>
              Delete
            </button>
          </div>
        </AdminOnly>
      </div>
      <ErrorBanner error={user.error} retry={user.reload} />
      {u.openConflict ? (
        <div className="banner banner-warn open-conflict" role="status">
          <strong>Conflict{u.openConflict.syncSource ? ` in the sync of ${u.openConflict.syncSource}` : ""}:</strong> {u.openConflict.message}.{" "}
          {u.openConflict.runId ? <Link to={wsPath(workspace, `/runs/${encodeURIComponent(u.openConflict.runId)}`)}>See the run</Link> : null}
        </div>
      ) : null}
      {saveWarnings.id === id ? <SaveWarnings warnings={saveWarnings.messages} onDismiss={() => setSaveWarnings({ id, messages: [] })} /> : null}

      <div className="detail-grid">
        <section className="card" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <dl className="props">
            <Prop label="First name">{u.givenName}</Prop>
            <Prop label="Last name">{u.surname}</Prop>
            <Prop label="User principal name">{u.userPrincipalName}</Prop>
            <Prop label="Email">{u.email}</Prop>
            <Prop label="Employee ID">{u.employeeId}</Prop>
            <Prop label="Department">{u.department}</Prop>
            <Prop label="Job title">{u.jobTitle}</Prop>
            <Prop label="Mobile phone">{u.mobilePhone}</Prop>
            <Prop label="Business phones">{u.businessPhones.join(", ")}</Prop>
            <Prop label="Preferred language">{u.preferredLanguage}</Prop>
            <Prop label="Manager">{u.manager ? <UserRefLink workspace={workspace} user={u.manager} /> : null}</Prop>
            <Prop label="Direct reports">{u.directReports.length ? <DirectReports workspace={workspace} reports={u.directReports} /> : null}</Prop>
          </dl>
        </section>
        <section className="card" aria-labelledby="source-h">
          <h2 id="source-h">Source</h2>
          <dl className="props">
            <Prop label="Source">
              {u.source.type === "entra" ? <Link to={wsPath(workspace, `/sync/${encodeURIComponent(u.source.name)}`)}>{sourceLabel(u)}</Link> : sourceLabel(u)}
            </Prop>
            <Prop label="External ID">{u.source.externalId ? <code>{u.source.externalId}</code> : null}</Prop>
            <Prop label="Tags">
              <span className="tags">
                {u.tags.map((t) => (
                  <Badge key={t} tone={tagTone(t)}>
                    {t}
                  </Badge>
                ))}
              </span>
            </Prop>
            <Prop label="Created">{formatDate(u.createdAt)}</Prop>
            <Prop label="Updated">{formatDate(u.updatedAt)}</Prop>
            <Prop label="Rollcall ID">
              <code>{u.id}</code>
            </Prop>
          </dl>
          {u.source.type === "entra" ? <ConsoleAccess path={path} user={u} onChanged={refresh} /> : null}
          {u.source.type === "scim" ? <MicrosoftLink path={path} user={u} onChanged={refresh} /> : null}
        </section>
        <section className="card" aria-labelledby="groups-h">
          <h2 id="groups-h">Groups</h2>
          {u.groups.length ? (
            <ul className="plain-list" aria-label="Direct groups">
              {u.groups.map((g) => (
                <li key={g}>
                  <Link to={wsPath(workspace, `/groups/${encodeURIComponent(g)}`)}>{g}</Link>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">Not a member of any group.</p>
          )}
          {u.nestedGroups.length ? (
            <>
              <h3 className="sub" id="nested-groups-h">Through nested groups</h3>
              <ul className="plain-list" aria-labelledby="nested-groups-h">
                {u.nestedGroups.map((g) => (
                  <li key={g.name}>
                    <Link to={wsPath(workspace, `/groups/${encodeURIComponent(g.name)}`)}>{g.name}</Link>
                    <span className="muted"> through {g.through.join(", ")}</span>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </section>
        <section className="card" aria-labelledby="access-h">
          <h2 id="access-h">Cards and aliases</h2>
          <h3 className="sub">Cards</h3>
          {u.cardNumbers.length ? (
            <ul className="plain-list mono">
              {u.cardNumbers.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          ) : (
            <p className="muted">No cards.</p>
          )}
          <h3 className="sub">Aliases</h3>
          {u.aliases.length ? (
            <ul className="plain-list">
              {u.aliases.map((a) => (
                <li key={a}>{a}</li>
              ))}
            </ul>
          ) : (
            <p className="muted">No aliases.</p>
          )}
          {Object.keys(u.customAttributes).length ? (
            <>
              <h3 className="sub">Custom attributes</h3>
              <dl className="props">
                {Object.entries(u.customAttributes).map(([k, v]) => (
                  <Prop key={k} label={k}>
                    {v}
                  </Prop>
                ))}
              </dl>
            </>
          ) : null}
        </section>
      </div>

      <HistoryCard path={path} version={u} />

      <UserFormDialog
        workspace={workspace}
        user={u}
        open={editing}
        onClose={() => setEditing(false)}
        onSaved={(_saved, warnings) => {
          setEditing(false);
          setSaveWarnings({ id, messages: warnings });
          toast("Changes saved");
          refresh();
        }}
      />
      <ConfirmDialog
        open={toggling}
        title={u.enabled ? `Disable ${u.displayName}?` : `Enable ${u.displayName}?`}
        confirmLabel={u.enabled ? "Disable user" : "Enable user"}
        danger={u.enabled}
        onClose={() => setToggling(false)}
        onConfirm={async () => {
          if (u.enabled) await api.post(`${path}/disable`);
          else await api.patch(path, { enabled: true });
          toast(u.enabled ? "User disabled" : "User enabled");
          refresh();
        }}
      >
        <p>
          {u.enabled
            ? "A disabled user keeps their record, groups and history but can no longer sign in."
            : "The user will be able to sign in again."}
        </p>
        <ToggleNextSync user={u} />
      </ConfirmDialog>
      <ConfirmDialog
        open={deleting}
        title={`Delete ${u.displayName}?`}
        confirmLabel="Delete user"
        danger
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await api.del(path);
          toast(`${u.displayName} deleted`);
          navigate(wsPath(workspace, "/users"));
        }}
      >
        <p>The user, their cards, aliases and group memberships are removed. The change log keeps a record of the deletion.</p>
        {u.source.type === "entra" ? (
          <p className="banner banner-warn">
            This user comes from Entra ID: while the account is in the scope of {u.source.name}, its next sync creates them again, as a new user, with
            only what Entra ID holds: a PIN, cards, aliases, tags or console access given here are lost, and their history stays with the deleted user (the new one's links to it). To stop them
            badging in or signing in, disable them instead (or disable the account in Entra ID); delete them once they have left Entra ID or the
            source&apos;s scope.
          </p>
        ) : null}
      </ConfirmDialog>
    </div>
  );
}

/** Who enabled or disabled the user, when, in which sync and why; and, for a status set here, what the next sync does to it. */
function StatusWhy({ user }: { user: UserDetail }) {
  const workspace = useWorkspaceName();
  const change = currentStatusChange(user, user.statusChange);
  if (!change || (change.action === "create" && user.enabled)) return null;
  const nextSync = change.runId ? null : nextSyncSentence(user, change);
  return (
    <div className="status-why">
      <p className="small">
        {statusSentence(change, formatDate(change.at))}.
        {change.runId ? (
          <>
            {" "}
            <Link to={wsPath(workspace, `/runs/${encodeURIComponent(change.runId)}`)}>See the run</Link>
          </>
        ) : null}
      </p>
      {nextSync ? <p className="small banner banner-info">{nextSync}</p> : null}
    </div>
  );
}

/** In the Enable or Disable dialog of a synced user: what the next sync does to the status about to be set here. */
function ToggleNextSync({ user }: { user: UserDetail }) {
  if (user.source.type !== "entra") return null;
  const change = currentStatusChange(user, user.statusChange);
  if (!user.enabled && change?.runId) {
    return (
      <p className="banner banner-warn">
        {statusSentence(change, formatDate(change.at))}. {nextSyncSentence(user, change)}
      </p>
    );
  }
  // Once saved here, the status is one set by hand: say what the next sync makes of that.
  const toggled = { ...user, enabled: !user.enabled };
  return <p className="banner banner-info">{nextSyncSentence(toggled, { ...(change ?? { action: "update", at: "", actor: "", reason: null, syncSource: null }), enabled: toggled.enabled, runId: null })}</p>;
}

type ConsoleRole = "admin" | "viewer" | "none";

/**
 * A synced user signs in with Microsoft: read only at first, admin when an admin says so. Choosing in the
 * select only asks: the role changes once the admin confirms (an arrow key in the select is not a decision).
 */
function ConsoleAccess({ path, user, onChanged }: { path: string; user: User; onChanged: () => void }) {
  const toast = useToast();
  const canChange = useCanChange();
  const access = useLoad((signal) => api.get<{ role: ConsoleRole | null }>(`${path}/role`, undefined, { signal }), [path]);
  // Whether their source signs people in at all: a role is no use until it does.
  const workspace = useWorkspaceName();
  const source = useLoad((signal) => syncApi.getSource(workspace, user.source.name, signal).catch(() => null), [workspace, user.source.name]);
  const signsIn = source.data?.type === "entra" ? source.data.config.signIn : undefined;
  const [asked, setAsked] = useState<ConsoleRole | null>(null);
  const role = access.data?.role;
  const said = role === undefined ? "…" : role === "admin" ? "Admin" : role === "viewer" ? "Read only" : role === "none" ? "No access" : "Read only, from their first sign-in";
  return (
    <>
      <h3 className="sub">Console access</h3>
      {signsIn === false ? (
        <p className="muted small" data-kind="sign-in-off">
          Cannot sign in yet: source {user.source.name} is not used for Sign in with Microsoft (turn it on in the source's Edit settings).
        </p>
      ) : signsIn ? (
        <p className="muted small">Signs in with Microsoft.</p>
      ) : null}
      {canChange && role !== undefined ? (
        <SelectField label="Access" value={role ?? "viewer"} onChange={(e) => setAsked(e.target.value as ConsoleRole)} hint={role === null ? "Has not signed in yet." : undefined}>
          <option value="viewer">Read only</option>
          <option value="admin">Admin</option>
          <option value="none">No access</option>
        </SelectField>
      ) : (
        <p>{said}</p>
      )}
      <ErrorBanner error={access.error} title="Console access could not be read." />
      <ConfirmDialog
        open={asked !== null}
        title={asked === "admin" ? `Make ${user.displayName} an admin of this workspace?` : asked === "none" ? `Take ${user.displayName}'s access away?` : `Make ${user.displayName} read only?`}
        confirmLabel={asked === "admin" ? "Make admin" : asked === "none" ? "Take access away" : "Make read only"}
        onClose={() => setAsked(null)}
        onConfirm={async () => {
          await api.put(`${path}/role`, { role: asked });
          toast(asked === "admin" ? `${user.displayName} is now an admin of this workspace` : asked === "none" ? `${user.displayName} no longer has access` : `${user.displayName} now has read-only access`);
          access.reload();
          onChanged(); // the grant is in their history
        }}
      >
        <p>
          {asked === "admin"
            ? "Signed in with Microsoft, they can change everything in this workspace: users, groups, sources, tokens and settings."
            : asked === "none"
              ? "They are signed out now, the API tokens they created stop working, and signing in with Microsoft is refused until you give them a role again. Unlike disabling the user, the next sync does not undo this."
              : "They can still sign in with Microsoft, and only read this workspace."}
        </p>
      </ConfirmDialog>
    </>
  );
}

/** A user id no user of the workspace has: a deleted user's history, kept under it, or else the user's "not found". */
function DeletedUserPage({ workspace, path, notFound }: { workspace: string; path: string; notFound: ApiError }) {
  const kept = useLoad((signal) => api.get<PageOf<ChangeRecord>>(`${path}/changes`, { limit: 1 }, { signal }), [path]);
  if (!kept.data) return <UserNotLoaded workspace={workspace} error={kept.error instanceof ApiError && kept.error.status === 404 ? notFound : kept.error} retry={kept.reload} loading={kept.loading} />;
  return (
    <div className="page">
      <Breadcrumb workspace={workspace} to="/users" label="Users" />
      <div className="page-head">
        <div>
          <h1>Deleted user</h1>
          <p className="muted">No user of this workspace has this id: the user was deleted, and their history is kept.</p>
        </div>
      </div>
      <HistoryCard path={path} version={path} />
    </div>
  );
}

/** The user's page while it loads, or why it could not. */
function UserNotLoaded({ workspace, error, retry, loading }: { workspace: string; error: unknown; retry: () => void; loading: boolean }) {
  return (
    <div className="page">
      <Breadcrumb workspace={workspace} to="/users" label="Users" />
      <ErrorBanner error={error} retry={retry} title="The user could not be loaded." />
      {loading ? <Loading label="Loading user…" /> : null}
    </div>
  );
}

function Prop({ label, children }: { label: string; children: ReactNode }) {
  const empty = children === null || children === undefined || children === "";
  return (
    <div className="prop">
      <dt>{label}</dt>
      <dd>{empty ? <span className="muted">—</span> : children}</dd>
    </div>
  );
}

export { Prop };
