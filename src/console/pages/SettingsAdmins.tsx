import { useState } from "react";
import { api, ApiError } from "../api.ts";
import { useSession, useWorkspaceName } from "../session.tsx";
import type { PageOf } from "../types.ts";
import { useLoad } from "../hooks.ts";
import { Badge, ErrorBanner, Loading, SelectField, TextField, useToast } from "../components/ui.tsx";
import { ConfirmDialog, Dialog, ShownOnceDialog } from "../components/dialog.tsx";
import { formatDate } from "../format.ts";
import { DataTable, actionsColumn } from "../components/DataTable.tsx";
import { useSubmit, FormError, FormActions } from "../components/form.tsx";

/** Settings → Admins: the accounts that sign in to Rollcall (owners only; others see how to ask). */
type WorkspaceRole = "admin" | "viewer";
interface WorkspaceGrant {
  workspaceId: string;
  workspace: string;
  role: WorkspaceRole;
}
interface AdminAccount {
  id: string;
  email: string;
  displayName: string;
  isOwner: boolean;
  createdAt: string;
  workspaces: WorkspaceGrant[];
}
interface AccountWithPassword {
  account: Omit<AdminAccount, "workspaces">;
  workspaces: WorkspaceGrant[];
  password: string;
}

/** Field problems of an API error, including a conflict that names its one field. */
function problemsByField(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const fields = error.fieldMap();
  const field = error.details.field;
  if (typeof field === "string" && !fields[field]) fields[field] = error.message;
  return fields;
}

const roleLabel = (role: WorkspaceRole) => (role === "admin" ? "Admin" : "Read only");

export function Admins() {
  const session = useSession();
  const workspace = useWorkspaceName();
  const toast = useToast();
  const admins = useLoad(
    (signal) =>
      api.get<PageOf<AdminAccount>>("/accounts", undefined, { signal }).then(
        (r) => r.items,
        (e: unknown) => {
          if (e instanceof ApiError && e.status === 403) return null; // only owners manage accounts
          throw e;
        },
      ),
    [],
  );
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<{ title: string; email: string; password: string } | null>(null);
  const [resetting, setResetting] = useState<AdminAccount | null>(null);
  const [deleting, setDeleting] = useState<AdminAccount | null>(null);
  // A role chosen in a row's select, waiting for the owner to confirm it.
  const [asked, setAsked] = useState<{ account: AdminAccount; role: WorkspaceRole | "" } | null>(null);
  const items = admins.data ?? [];
  const changeRole = async ({ account, role }: { account: AdminAccount; role: WorkspaceRole | "" }) => {
    const path = `/accounts/${encodeURIComponent(account.id)}/workspaces/${encodeURIComponent(workspace)}`;
    if (role) await api.put(path, { role });
    else await api.del(path);
    toast(role ? `${account.email} is now ${roleLabel(role).toLowerCase()} here` : `${account.email} no longer has access here`);
    admins.reload();
  };
  return (
    <section className="card" aria-labelledby="admins-h">
      <div className="section-head">
        <h2 id="admins-h">Admins</h2>
        {admins.data ? (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            Add admin
          </button>
        ) : null}
      </div>
      <p className="muted">
        You are signed in as <strong>{session.account.email}</strong>.
        {admins.data ? " People who sign in with a password. Owners administer every workspace; others get a role per workspace." : null}
      </p>
      <ErrorBanner error={admins.error} retry={admins.reload} title="Admins could not be loaded." />
      {admins.loading && admins.data === undefined ? <Loading label="Loading admins…" /> : null}
      {admins.data === null ? (
        <p className="muted">
          Only owners manage admin accounts. An owner can do it here or with the CLI: <code>rollcall admins add EMAIL</code>, <code>rollcall admins reset-password EMAIL</code>.
        </p>
      ) : null}
      {items.length ? (
        <DataTable columns={["Account", `Role in ${workspace}`, "Created", actionsColumn]}>
          {items.map((a) => {
            const grant = a.workspaces.find((g) => g.workspace === workspace);
            const self = a.id === session.account.id || a.email === session.account.email;
            return (
              <tr key={a.id} data-account={a.email}>
                <td data-label="Account" className="cell-wrap">
                  <span>
                    {a.displayName && a.displayName !== a.email ? `${a.displayName} · ` : ""}
                    {a.email} {a.isOwner ? <Badge tone="info">Owner</Badge> : null}
                  </span>
                </td>
                <td data-label="Role">
                  {a.isOwner ? (
                    "Owner (every workspace)"
                  ) : (
                    <select aria-label={`Role of ${a.email}`} value={grant?.role ?? ""} onChange={(e) => setAsked({ account: a, role: e.target.value as WorkspaceRole | "" })}>
                      <option value="admin">Admin</option>
                      <option value="viewer">Read only</option>
                      <option value="">No access</option>
                    </select>
                  )}
                </td>
                <td data-label="Created">{formatDate(a.createdAt, false)}</td>
                <td className="cell-actions">
                  <button type="button" className="btn btn-small" onClick={() => setResetting(a)} aria-label={`Reset password of ${a.email}`}>
                    Reset password
                  </button>{" "}
                  {self ? null : (
                    <button type="button" className="btn btn-small btn-danger" onClick={() => setDeleting(a)} aria-label={`Delete account ${a.email}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </DataTable>
      ) : null}
      <CreateAccountDialog
        workspace={workspace}
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(r) => {
          setCreating(false);
          setShown({ title: "Copy the new admin's password", email: r.account.email, password: r.password });
          admins.reload();
        }}
      />
      <ShownOnceDialog
        open={shown !== null}
        title={shown?.title ?? ""}
        label="Generated password"
        what="Password"
        value={shown?.password ?? ""}
        onClose={() => setShown(null)}
        warning={<>This is the only time the password for <strong>{shown?.email}</strong> is shown. Give it to them securely; if it is lost, reset it again.</>}
      />
      <ConfirmDialog
        open={asked !== null}
        title={asked?.role ? `Make ${asked.account.email} ${roleLabel(asked.role).toLowerCase()} in ${workspace}?` : `Remove ${asked?.account.email ?? ""}'s access to ${workspace}?`}
        confirmLabel={asked?.role ? `Make ${roleLabel(asked.role).toLowerCase()}` : "Remove access"}
        danger={asked?.role === ""}
        onClose={() => setAsked(null)}
        onConfirm={() => changeRole(asked!)}
      >
        <p>
          {asked?.role === "admin"
            ? "They can change everything in this workspace: users, groups, sources, tokens and settings."
            : asked?.role === "viewer"
              ? "They can sign in and read this workspace, and change nothing."
              : "They can no longer open this workspace. Their account stays, with its access to other workspaces."}
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={resetting !== null}
        title={`Reset the password of ${resetting?.email ?? ""}?`}
        confirmLabel="Reset password"
        onClose={() => setResetting(null)}
        onConfirm={async () => {
          const r = await api.post<AccountWithPassword>(`/accounts/${encodeURIComponent(resetting!.id)}/reset-password`);
          setShown({ title: "Copy the new password", email: r.account.email, password: r.password });
        }}
      >
        <p>The old password stops working and the account is signed out everywhere.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.email ?? ""}?`}
        confirmLabel="Delete account"
        danger
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          await api.del(`/accounts/${encodeURIComponent(deleting!.id)}`);
          toast("Account deleted");
          admins.reload();
        }}
      >
        <p>They can no longer sign in to any workspace. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}

function CreateAccountDialog({ workspace, open, onClose, onCreated }: { workspace: string; open: boolean; onClose: () => void; onCreated: (r: AccountWithPassword) => void }) {
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [access, setAccess] = useState("admin");
  const { busy, error, submit } = useSubmit(async () => {
    const owner = access === "owner";
    const r = await api.post<AccountWithPassword>("/accounts", {
      email: email.trim(),
      displayName: displayName.trim() || undefined,
      owner,
      ...(owner ? {} : { workspace, role: access }),
    });
    setEmail("");
    setDisplayName("");
    setAccess("admin");
    onCreated(r);
  });
  const fields = problemsByField(error);
  return (
    <Dialog open={open} title="Add admin" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={fields.email} />
        <TextField label="Display name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} error={fields.displayName} hint="Optional; the email is used if empty." />
        <SelectField label="Access" value={access} onChange={(e) => setAccess(e.target.value)} error={fields.role ?? fields.workspace ?? fields.owner}>
          <option value="admin">Admin in {workspace}: read and change everything</option>
          <option value="viewer">Read only in {workspace}</option>
          <option value="owner">Owner: administers every workspace and its admins</option>
        </SelectField>
        <FormError error={error} fields={fields} title="The account was not created." />
        <FormActions busy={busy} label="Add admin" busyLabel="Creating" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
