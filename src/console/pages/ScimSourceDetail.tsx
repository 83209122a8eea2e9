import { useState } from "react";
import { Link } from "../router.tsx";
import { useCanChange, wsPath } from "../session.tsx";
import { syncApi, type ScimSource } from "../sync-api.ts";
import { countOf, formatDate, relativeTime } from "../format.ts";
import { Breadcrumb, SelectField, TextField, useToast } from "../components/ui.tsx";
import { Dialog } from "../components/dialog.tsx";
import { FormActions, FormError, useSubmit } from "../components/form.tsx";
import { NewScimToken, QuietWarning, fieldErrors, onRemoveOptions, removalText } from "../components/ScimSources.tsx";
import { RemoveSourceDialog } from "../components/RemoveSourceDialog.tsx";
import { useSourceSaved } from "../components/source-saved.ts";
import { ScimSignIn } from "../components/ScimSignIn.tsx";
import { Prop } from "./UserDetail.tsx";

/**
 * A SCIM source's page: where Entra ID's provisioning service pushes (its Tenant URL), what it provisioned (links to
 * those users and groups), when it last called, its settings (name, on-remove, phone country, sign-in with Microsoft), a new Secret Token, and
 * removing it.
 */
export function ScimSourcePage({ workspace, source: s, reload }: { workspace: string; source: ScimSource; reload: () => void }) {
  const toast = useToast();
  const afterSave = useSourceSaved(workspace, s.name, reload);
  const canChange = useCanChange();
  const [editing, setEditing] = useState(false);
  const [removing, setRemoving] = useState(false);
  const name = encodeURIComponent(s.name);
  const copy = () =>
    void navigator.clipboard?.writeText(s.tenantUrl).then(
      () => toast("Tenant URL copied"),
      () => toast("Copying failed; select the Tenant URL and copy it by hand", "bad"),
    );
  return (
    <div className="page">
      <Breadcrumb workspace={workspace} to="/sync" label="User synchronization" />
      <div className="page-head">
        <div>
          <h1>{s.name}</h1>
          <p className="muted">SCIM source: Entra ID's provisioning service pushes users and groups here</p>
        </div>
        {canChange ? (
          <div className="actions">
            <button type="button" className="btn" onClick={() => setEditing(true)}>
              Edit settings
            </button>
            <NewScimToken workspace={workspace} source={s} onIssued={reload} />
            <button type="button" className="btn btn-danger" onClick={() => setRemoving(true)}>
              Remove source
            </button>
          </div>
        ) : null}
      </div>
      <QuietWarning source={s} />
      <div className="detail-grid">
        <section className="card" aria-labelledby="provisioning-h" data-kind="scim-source">
          <h2 id="provisioning-h">Provisioning</h2>
          <dl className="props">
            <Prop label="Tenant URL">
              <span className="copy-row">
                <code>{s.tenantUrl}</code>
                <button type="button" className="btn btn-small" onClick={copy} aria-label="Copy the Tenant URL">
                  Copy
                </button>
              </span>
            </Prop>
            <Prop label="Users provisioned">
              <Link to={wsPath(workspace, `/users?source=${name}`)}>{countOf(s.status.users, "user")}</Link>
            </Prop>
            <Prop label="Groups provisioned">
              <Link to={wsPath(workspace, `/groups?source=${name}`)}>{countOf(s.status.groups, "group")}</Link>
            </Prop>
            <Prop label="Last request">
              {s.status.lastRequestAt ? <span title={formatDate(s.status.lastRequestAt)}>{relativeTime(s.status.lastRequestAt)}</span> : "never"}
            </Prop>
            <Prop label="Secret Token">issued {formatDate(s.status.tokenIssuedAt)}</Prop>
            <Prop label="Created">{formatDate(s.createdAt)}</Prop>
          </dl>
        </section>
        <section className="card" aria-labelledby="settings-h">
          <h2 id="settings-h">Settings</h2>
          <dl className="props">
            <Prop label="Name">{s.name}</Prop>
            <Prop label="When Entra ID deletes a user">{removalText[s.config.onRemove]}</Prop>
            <Prop label="Phone country">{s.config.country ?? "Workspace default"}</Prop>
            <ScimSignIn workspace={workspace} source={s} onSaved={reload} />
          </dl>
        </section>
      </div>
      <EditScimSourceDialog
        workspace={workspace}
        source={s}
        open={editing}
        onClose={() => setEditing(false)}
        onSaved={(saved) => {
          setEditing(false);
          afterSave(saved);
        }}
      />
      <RemoveSourceDialog
        open={removing}
        source={{ name: s.name, type: "scim", users: s.status.users, groups: s.status.groups }}
        onClose={() => setRemoving(false)}
      />
    </div>
  );
}

function EditScimSourceDialog({ workspace, source, open, onClose, onSaved }: { workspace: string; source: ScimSource; open: boolean; onClose: () => void; onSaved: (s: ScimSource) => void }) {
  const [name, setName] = useState(source.name);
  const [onRemove, setOnRemove] = useState(source.config.onRemove);
  const [country, setCountry] = useState(source.config.country ?? "");
  const { busy, error, submit } = useSubmit(async () => {
    onSaved(await syncApi.updateScimSource(workspace, source.name, { name: name.trim(), onRemove, country: country.trim() || null }));
  });
  const fields = fieldErrors(error);
  return (
    <Dialog open={open} title={`Settings of ${source.name}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} hint="Shown on the users and groups it provisions; their history keeps the name each change was made under." />
        <SelectField label="When Entra ID deletes a user" value={onRemove} onChange={(e) => setOnRemove(e.target.value as typeof onRemove)} error={fields.onRemove}>
          {onRemoveOptions}
        </SelectField>
        <TextField label="Phone country" value={country} onChange={(e) => setCountry(e.target.value)} error={fields.country} hint="Two letters (ISO 3166-1, e.g. DE): where local phone numbers are read. Empty: the workspace's default country." />
        <FormError error={error} fields={fields} title="The source was not saved." />
        <FormActions busy={busy} label="Save" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
