import { useEffect, useRef, useState } from "react";
import { api, ws } from "../api.ts";
import { AdminOnly, useCanChange, useSession, useWorkspaceName } from "../session.tsx";
import type { ApiToken, PageOf, Workspace } from "../types.ts";
import { Admins } from "./SettingsAdmins.tsx";
import { NotificationSettingsSection } from "./SettingsNotifications.tsx";
import { useLoad, useTitle } from "../hooks.ts";
import { Badge, ErrorBanner, Loading, SelectField, TextField, useToast } from "../components/ui.tsx";
import { ConfirmDialog, Dialog, ShownOnceDialog } from "../components/dialog.tsx";
import { formatDate, relativeTime } from "../format.ts";
import { DataTable, actionsColumn } from "../components/DataTable.tsx";
import { useSubmit, FormError, FormActions } from "../components/form.tsx";
import { DraftNotice, useDraft, useKeepDraft } from "../drafts.tsx";

export function SettingsPage() {
  useTitle("Settings");
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Workspace settings</h1>
        </div>
      </div>
      <GeneralSettings />
      <AdminOnly>
        <Tokens />
      </AdminOnly>
      <NotificationSettingsSection />
      <Admins />
    </div>
  );
}

function GeneralSettings() {
  const session = useSession();
  const workspace = session.workspace!;
  const toast = useToast();
  const canChange = useCanChange();
  const saved = workspace.defaultCountry ?? "";
  const draft = useDraft<{ country: string }>("general");
  const [restored, setRestored] = useState(draft);
  const [country, setCountry] = useState(draft?.value.country ?? saved);
  useKeepDraft("general", () => (country !== saved ? { value: { country }, dropped: [] } : undefined));
  const { busy, error, setError, fields, submit: save } = useSubmit(async () => {
    await api.patch<Workspace>(ws(workspace.name), { defaultCountry: country.trim() || null });
    await session.reloadWorkspaces();
    setRestored(undefined);
    toast("Settings saved");
  });
  // Another workspace, or a new value saved: show what it holds. Not when the same settings are loaded again
  // (as after a sign-in), which would throw away a restored draft.
  const shown = useRef(`${workspace.name}\n${saved}`);
  useEffect(() => {
    const now = `${workspace.name}\n${saved}`;
    if (shown.current === now) return;
    shown.current = now;
    setCountry(saved);
  }, [workspace.name, saved]);
  return (
    <section className="card" aria-labelledby="general-h">
      <h2 id="general-h">General</h2>
      <form onSubmit={save} noValidate className="narrow-form">
        <DraftNotice draft={restored} />
        <TextField label="Workspace name" value={workspace.name} readOnly hint={`Created ${formatDate(workspace.createdAt, false)}.`} />
        <TextField
          label="Default country"
          value={country}
          onChange={(e) => {
            setCountry(e.target.value.toUpperCase());
            setError(null); // the error was about the value replaced
          }}
          maxLength={2}
          readOnly={!canChange}
          placeholder="US"
          error={fields.defaultCountry}
          hint="ISO two-letter code. Phone numbers without a +country prefix (from imports, forms and sources without their own country) are read as this country's."
        />
        <FormError error={error} fields={fields} title="Settings were not saved." />
        {canChange ? <FormActions busy={busy} label="Save" disabled={country === saved} /> : null}
      </form>
    </section>
  );
}

function Tokens() {
  const workspace = useWorkspaceName();
  const toast = useToast();
  const tokens = useLoad((signal) => api.get<PageOf<ApiToken>>(ws(workspace, "/tokens"), undefined, { signal }), [workspace]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<(ApiToken & { token: string }) | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const items = tokens.data?.items ?? [];
  // A token revoked, its row loses the Revoke button the focus went back to: focus goes to the section's heading.
  const heading = useRef<HTMLHeadingElement>(null);
  const revoked = useRef(false);
  useEffect(() => {
    if (!revoked.current || tokens.loading) return;
    revoked.current = false;
    if (!document.activeElement || document.activeElement === document.body) heading.current?.focus();
  }, [tokens.data, tokens.loading]);
  return (
    <section className="card" aria-labelledby="tokens-h">
      <div className="section-head">
        <h2 id="tokens-h" ref={heading} tabIndex={-1}>
          API tokens
        </h2>
        <AdminOnly>
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            Create token
          </button>
        </AdminOnly>
      </div>
      <p className="muted">
        Scripts and other systems call the REST API with <code>Authorization: Bearer rc_…</code>. A token works in this workspace only.
      </p>
      <ErrorBanner error={tokens.error} retry={tokens.reload} title="Tokens could not be loaded." />
      {tokens.loading && !tokens.data ? <Loading label="Loading tokens…" /> : null}
      {tokens.data && items.length === 0 ? <p className="muted">No tokens yet.</p> : null}
      {items.length ? (
        <DataTable columns={["Name", "Role", "Created", "Last used", "Expires", actionsColumn]}>
          {items.map((t) => (
            <tr key={t.id} className={t.revokedAt ? "row-muted" : undefined}>
              <td data-label="Name">{t.name}</td>
              <td data-label="Role">{t.role === "admin" ? "Admin" : "Read only"}</td>
              <td data-label="Created">{formatDate(t.createdAt, false)}</td>
              <td data-label="Last used">{t.lastUsedAt ? relativeTime(t.lastUsedAt) : "never"}</td>
              <td data-label="Expires">{t.expiresAt ? (Date.parse(t.expiresAt) <= Date.now() ? <Badge tone="bad">Expired {formatDate(t.expiresAt, false)}</Badge> : formatDate(t.expiresAt, false)) : "never"}</td>
              <td className="cell-actions">
                {t.revokedAt ? (
                  <Badge tone="bad">Revoked {formatDate(t.revokedAt, false)}</Badge>
                ) : (
                  <AdminOnly>
                    <button type="button" className="btn btn-small btn-danger" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name}`}>
                      Revoke
                    </button>
                  </AdminOnly>
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <CreateTokenDialog
        workspace={workspace}
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(t) => {
          setCreating(false);
          setCreated(t);
          tokens.reload();
        }}
      />
      <ShownOnceDialog
        open={created !== null}
        title="Copy your new token"
        label="New API token"
        what="Token"
        value={created?.token ?? ""}
        onClose={() => setCreated(null)}
        warning="This is the only time the token is shown. Store it in your secret manager now; if you lose it, revoke it and create another."
      />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name ?? ""}?`}
        confirmLabel="Revoke token"
        danger
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          await api.del(ws(workspace, `/tokens/${encodeURIComponent(revoking!.id)}`));
          toast("Token revoked");
          revoked.current = true;
          tokens.reload();
        }}
      >
        <p>Anything that uses this token stops working at once. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}

function CreateTokenDialog({ workspace, open, onClose, onCreated }: { workspace: string; open: boolean; onClose: () => void; onCreated: (t: ApiToken & { token: string }) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState("admin");
  const [expires, setExpires] = useState("90");
  const { busy, error, fields, submit } = useSubmit(async () => {
    const t = await api.post<ApiToken & { token: string }>(ws(workspace, "/tokens"), { name: name.trim() || undefined, role, ...(expires !== "never" && { expiresInDays: Number(expires) }) });
    setName("");
    onCreated(t);
  });
  return (
    <Dialog open={open} title="Create API token" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} hint="What uses it, e.g. “HR export job”." />
        <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value)} error={fields.role}>
          <option value="admin">Admin: read and change everything in this workspace</option>
          <option value="viewer">Read only</option>
        </SelectField>
        <SelectField label="Expires" value={expires} onChange={(e) => setExpires(e.target.value)} error={fields.expiresInDays}>
          <option value="30">In 30 days</option>
          <option value="90">In 90 days</option>
          <option value="365">In a year</option>
          <option value="never">Never</option>
        </SelectField>
        <FormError error={error} fields={fields} title="The token was not created." />
        <FormActions busy={busy} label="Create token" busyLabel="Creating" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
