import { useState, type ReactNode } from "react";
import { ApiError } from "../api.ts";
import { AdminOnly, useCanChange } from "../session.tsx";
import { useLoad } from "../hooks.ts";
import { syncApi, type ScimSource } from "../sync-api.ts";
import { formatDate } from "../format.ts";
import { ErrorBanner, SelectField, TextField, useToast } from "./ui.tsx";
import { ConfirmDialog, Dialog, ShownOnceDialog } from "./dialog.tsx";
import { FormActions, FormError, useSubmit } from "./form.tsx";
import { ScimSignIn } from "./ScimSignIn.tsx";

/**
 * The Sources page's SCIM sources: Entra ID's provisioning service pushes users and groups to their Tenant URL with
 * their Secret Token, which is shown once, when the source is added or a new one issued.
 */
export function ScimSources({ workspace }: { workspace: string }) {
  const sources = useLoad((signal) => syncApi.listScimSources(workspace, signal), [workspace]);
  const [adding, setAdding] = useState(false);
  const [shown, setShown] = useState<(ScimSource & { token: string }) | null>(null);
  return (
    <section className="scim-sources" aria-labelledby="scim-sources-title">
      <div className="section-head">
        <h2 id="scim-sources-title">SCIM provisioning</h2>
        <AdminOnly>
          <button type="button" className="btn" onClick={() => setAdding(true)}>
            Add SCIM source
          </button>
        </AdminOnly>
      </div>
      <p className="muted small">Entra ID's provisioning service pushes users and groups here: paste a source's Tenant URL and Secret Token in the enterprise application's Provisioning settings.</p>
      <ErrorBanner error={sources.error} retry={sources.reload} title="SCIM sources could not be loaded." />
      <div className="source-grid">
        {(sources.data ?? []).map((s) => (
          <ScimSourceCard key={s.id} workspace={workspace} source={s} onToken={setShown} onChanged={sources.reload} />
        ))}
      </div>
      <AddScimSourceDialog
        workspace={workspace}
        open={adding}
        onClose={() => setAdding(false)}
        onCreated={(s) => {
          setAdding(false);
          setShown(s);
          sources.reload();
        }}
      />
      <ShownOnceDialog
        open={shown !== null}
        title={`Secret Token of ${shown?.name ?? ""}`}
        label="Secret Token"
        what="Secret Token"
        value={shown?.token ?? ""}
        onClose={() => setShown(null)}
        warning={<>Paste it with the Tenant URL <code>{shown?.tenantUrl}</code> under Admin Credentials now: this is the only time it is shown. A new one can be issued on the source's card (the old one then stops working).</>}
      />
    </section>
  );
}

function ScimSourceCard({ workspace, source, onToken, onChanged }: { workspace: string; source: ScimSource; onToken: (s: ScimSource & { token: string }) => void; onChanged: () => void }) {
  const canChange = useCanChange();
  const toast = useToast();
  const [asking, setAsking] = useState(false);
  const removal = { disable: "disabled, kept here", delete: "deleted", keep: "kept here, enabled" }[source.config.onRemove];
  return (
    <section className="card source-card" aria-labelledby={`scim-${source.id}`} data-kind="scim-source">
      <div className="section-head">
        <h2 id={`scim-${source.id}`}>{source.name}</h2>
      </div>
      <dl className="props">
        <Prop label="Tenant URL">
          <code>{source.tenantUrl}</code>
        </Prop>
        <Prop label="Provisioned">
          {source.status.users} users, {source.status.groups} groups
        </Prop>
        <Prop label="Last request">{source.status.lastRequestAt ? formatDate(source.status.lastRequestAt) : "never"}</Prop>
        <Prop label="Deleted in Entra ID">{removal}</Prop>
        <ScimSignIn workspace={workspace} source={source} onSaved={onChanged} />
      </dl>
      {canChange ? (
        <div className="actions">
          <button type="button" className="btn" onClick={() => setAsking(true)}>
            New secret token
          </button>
        </div>
      ) : null}
      <ConfirmDialog
        open={asking}
        title={`Issue a new Secret Token for ${source.name}?`}
        confirmLabel="Issue new token"
        danger
        onClose={() => setAsking(false)}
        onConfirm={async () => {
          const renewed = await syncApi.newScimToken(workspace, source.name);
          toast(`New Secret Token issued for ${source.name}`);
          onToken({ ...renewed, token: renewed.token! });
        }}
      >
        The current token stops working at once: Entra ID's provisioning fails until the new one is pasted in the Azure portal.
      </ConfirmDialog>
    </section>
  );
}

const Prop = ({ label, children }: { label: string; children: ReactNode }) => (
  <div className="prop">
    <dt>{label}</dt>
    <dd>{children}</dd>
  </div>
);

function AddScimSourceDialog({ workspace, open, onClose, onCreated }: { workspace: string; open: boolean; onClose: () => void; onCreated: (s: ScimSource & { token: string }) => void }) {
  const [name, setName] = useState("");
  const [onRemove, setOnRemove] = useState<ScimSource["config"]["onRemove"]>("disable");
  const { busy, error, submit } = useSubmit(async () => {
    const created = await syncApi.createScimSource(workspace, { name: name.trim(), onRemove });
    setName("");
    onCreated({ ...created, token: created.token! });
  });
  const fields = error instanceof ApiError ? { ...error.fieldMap(), ...(typeof error.details.field === "string" && { [error.details.field]: error.message }) } : {};
  return (
    <Dialog open={open} title="Add SCIM source" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} hint="Shown on the users and groups it provisions." />
        <SelectField label="When Entra ID deletes a user" value={onRemove} onChange={(e) => setOnRemove(e.target.value as typeof onRemove)} error={fields.onRemove}>
          <option value="disable">Disable them, and keep them here</option>
          <option value="keep">Keep them here, enabled</option>
          <option value="delete">Delete them</option>
        </SelectField>
        <FormError error={error} fields={fields} title="The source was not added." />
        <FormActions busy={busy} label="Add SCIM source" busyLabel="Adding" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
