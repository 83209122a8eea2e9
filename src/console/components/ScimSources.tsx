import { useState, type ReactNode } from "react";
import { ApiError } from "../api.ts";
import { Link } from "../router.tsx";
import { AdminOnly, useCanChange, wsPath } from "../session.tsx";
import { useLoad } from "../hooks.ts";
import { syncApi, type ScimSource } from "../sync-api.ts";
import { formatDate } from "../format.ts";
import { scimQuiet, scimQuietText } from "../../domain/source.ts";
import { ErrorBanner, SelectField, TextField, useToast } from "./ui.tsx";
import { ConfirmDialog, Dialog, ShownOnceDialog } from "./dialog.tsx";
import { FormActions, FormError, useSubmit } from "./form.tsx";
import { ScimSignIn } from "./ScimSignIn.tsx";
import { ScimSignInFields, scimSignInDraftOf, scimSignInInput, scimSignInTouched, useScimSignInDraft } from "./ScimSignInFields.tsx";

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
          <ScimSourceCard key={s.id} workspace={workspace} source={s} onChanged={sources.reload} />
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
      <TokenShownDialog source={shown} onClose={() => setShown(null)} />
    </section>
  );
}

/** What Rollcall does with a user Entra ID deletes, in the words of the source's card and page. */
export const removalText = { disable: "disabled, kept here", delete: "deleted", keep: "kept here, enabled" } as const;

function ScimSourceCard({ workspace, source, onChanged }: { workspace: string; source: ScimSource; onChanged: () => void }) {
  const canChange = useCanChange();
  const page = wsPath(workspace, `/sync/${encodeURIComponent(source.name)}`);
  return (
    <section className="card source-card" aria-labelledby={`scim-${source.id}`} data-kind="scim-source">
      <div className="section-head">
        <h2 id={`scim-${source.id}`}>
          <Link to={page}>{source.name}</Link>
        </h2>
      </div>
      <QuietWarning source={source} />
      <dl className="props">
        <Prop label="Tenant URL">
          <code>{source.tenantUrl}</code>
        </Prop>
        <Prop label="Provisioned">
          {source.status.users} users, {source.status.groups} groups
        </Prop>
        <Prop label="Last request">{source.status.lastRequestAt ? formatDate(source.status.lastRequestAt) : "never"}</Prop>
        <Prop label="Deleted in Entra ID">{removalText[source.config.onRemove]}</Prop>
        <ScimSignIn workspace={workspace} source={source} onSaved={onChanged} />
      </dl>
      <div className="actions">
        {canChange ? <NewScimToken workspace={workspace} source={source} onIssued={onChanged} /> : null}
        <Link className="btn btn-link" to={page}>
          Settings
        </Link>
      </div>
    </section>
  );
}

/** Entra ID's provisioning service silent for more than 3 hours (or never called 3 hours after the source was added). */
export function QuietWarning({ source }: { source: ScimSource }) {
  const quiet = scimQuiet({ createdAt: source.createdAt, lastRequestAt: source.status.lastRequestAt }, new Date());
  if (!quiet) return null;
  return (
    <p className="banner banner-warn" role="status" data-kind="scim-quiet">
      {scimQuietText(quiet)}: check the enterprise application's Provisioning in the Azure portal (Provisioning Status On, this Tenant URL and Secret Token, its provisioning logs).
    </p>
  );
}

/** "New secret token", asked first: the current token stops working at once, and the new one is shown once. */
export function NewScimToken({ workspace, source, onIssued }: { workspace: string; source: ScimSource; onIssued: () => void }) {
  const toast = useToast();
  const [asking, setAsking] = useState(false);
  const [shown, setShown] = useState<(ScimSource & { token: string }) | null>(null);
  return (
    <>
      <button type="button" className="btn" onClick={() => setAsking(true)}>
        New secret token
      </button>
      <ConfirmDialog
        open={asking}
        title={`Issue a new Secret Token for ${source.name}?`}
        confirmLabel="Issue new token"
        danger
        onClose={() => setAsking(false)}
        onConfirm={async () => {
          const renewed = await syncApi.newScimToken(workspace, source.name);
          toast(`New Secret Token issued for ${source.name}`);
          setShown({ ...renewed, token: renewed.token! });
        }}
      >
        The current token stops working at once: Entra ID's provisioning fails until the new one is pasted in the Azure portal.
      </ConfirmDialog>
      <TokenShownDialog
        source={shown}
        onClose={() => {
          setShown(null);
          onIssued();
        }}
      />
    </>
  );
}

function TokenShownDialog({ source, onClose }: { source: (ScimSource & { token: string }) | null; onClose: () => void }) {
  return (
    <ShownOnceDialog
      open={source !== null}
      title={`Secret Token of ${source?.name ?? ""}`}
      label="Secret Token"
      what="Secret Token"
      value={source?.token ?? ""}
      onClose={onClose}
      warning={<>Paste it with the Tenant URL <code>{source?.tenantUrl}</code> under Admin Credentials now: this is the only time it is shown. A new one can be issued on the source's card or page (the old one then stops working).</>}
    />
  );
}

const Prop = ({ label, children }: { label: string; children: ReactNode }) => (
  <div className="prop">
    <dt>{label}</dt>
    <dd>{children}</dd>
  </div>
);

/** The fields an ApiError names, with a conflict's field (a name taken) among them. */
export function fieldErrors(error: unknown): Record<string, string> {
  return error instanceof ApiError ? { ...error.fieldMap(), ...(typeof error.details.field === "string" && { [error.details.field]: error.message }) } : {};
}

/** The choices of what Rollcall does when Entra ID deletes a user of the source. */
export const onRemoveOptions = (
  <>
    <option value="disable">Disable them, and keep them here</option>
    <option value="keep">Keep them here, enabled</option>
    <option value="delete">Delete them</option>
  </>
);

function AddScimSourceDialog({ workspace, open, onClose, onCreated }: { workspace: string; open: boolean; onClose: () => void; onCreated: (s: ScimSource & { token: string }) => void }) {
  const [name, setName] = useState("");
  const [onRemove, setOnRemove] = useState<ScimSource["config"]["onRemove"]>("disable");
  const signIn = useScimSignInDraft();
  const { busy, error, submit } = useSubmit(async () => {
    const created = await syncApi.createScimSource(workspace, { name: name.trim(), onRemove, ...(scimSignInTouched(signIn.draft) && scimSignInInput(signIn.draft)) });
    setName("");
    signIn.setDraft(scimSignInDraftOf());
    onCreated({ ...created, token: created.token! });
  });
  const fields = fieldErrors(error);
  return (
    <Dialog open={open} title="Add SCIM source" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} hint="Shown on the users and groups it provisions." />
        <SelectField label="When Entra ID deletes a user" value={onRemove} onChange={(e) => setOnRemove(e.target.value as typeof onRemove)} error={fields.onRemove}>
          {onRemoveOptions}
        </SelectField>
        <fieldset>
          <legend>Sign in with Microsoft (optional)</legend>
          <ScimSignInFields draft={signIn.draft} set={signIn.set} fields={fields} />
        </fieldset>
        <FormError error={error} fields={fields} title="The source was not added." />
        <FormActions busy={busy} label="Add SCIM source" busyLabel="Adding" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
