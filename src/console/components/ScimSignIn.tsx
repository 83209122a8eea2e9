import { useState } from "react";
import { ApiError } from "../api.ts";
import { useCanChange } from "../session.tsx";
import { syncApi, type ScimSource } from "../sync-api.ts";
import { useToast } from "./ui.tsx";
import { Dialog } from "./dialog.tsx";
import { FormActions, FormError, useSubmit } from "./form.tsx";
import { secretUrgency } from "../../domain/source.ts";
import { emptyCredential } from "./CredentialFields.tsx";
import { ScimSignInFields, scimSignInInput, useScimSignInDraft } from "./ScimSignInFields.tsx";

/**
 * Sign in with Microsoft for a SCIM source's users: what it is set to, and (for admins) a dialog with the enterprise
 * application's directory (tenant) ID, application (client) ID and client secret or certificate (write-only: blank keeps the stored one).
 * Meant for any page that shows a SCIM source (the Sources page's card, a source's own page).
 */
export function ScimSignIn({ workspace, source, onSaved }: { workspace: string; source: ScimSource; onSaved: () => void }) {
  const canChange = useCanChange();
  const [editing, setEditing] = useState(false);
  const { signIn, tenantId } = source.config;
  return (
    <div className="prop" data-kind="scim-sign-in">
      <dt>Sign in with Microsoft</dt>
      <dd>
        {signIn ? `On (tenant ${tenantId})` : "Off"}
        {signIn && source.secret.expiresOn ? <SecretExpiry source={source} /> : null}
        {canChange ? (
          <>
            {" "}
            <button type="button" className="btn btn-link" onClick={() => setEditing(true)}>
              Change
            </button>
          </>
        ) : null}
        {/* Started again from the source as saved (a certificate's own expiry date, say), not from what was typed before. */}
        <ScimSignInDialog
          key={source.updatedAt}
          workspace={workspace}
          source={source}
          open={editing}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            onSaved();
          }}
        />
      </dd>
    </div>
  );
}

/** When the sign-in secret expires, marked from 30 days before as its notifications are. */
function SecretExpiry({ source }: { source: ScimSource }) {
  const { daysLeft, description } = source.secret;
  const urgent = daysLeft !== null && secretUrgency(daysLeft) !== null;
  return (
    <span className={urgent ? "text-bad" : "muted"} data-kind="scim-secret-expiry">
      {"; "}
      {source.config.credential === "certificate" ? description : `secret ${description}`}
    </span>
  );
}

function ScimSignInDialog({ workspace, source, open, onClose, onSaved }: { workspace: string; source: ScimSource; open: boolean; onClose: () => void; onSaved: () => void }) {
  const toast = useToast();
  const { draft, set } = useScimSignInDraft(source);
  const { busy, error, submit } = useSubmit(async () => {
    await syncApi.updateScimSignIn(workspace, source.name, scimSignInInput(draft, source));
    set("credential", emptyCredential(draft.credential.kind));
    toast(`Sign in with Microsoft ${draft.signIn ? "on" : "off"} for ${source.name}`);
    onSaved();
  });
  const fields = error instanceof ApiError ? error.fieldMap() : {};
  return (
    <Dialog open={open} title={`Sign in with Microsoft: ${source.name}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ScimSignInFields draft={draft} set={set} fields={fields} source={source} />
        <FormError error={error} fields={fields} title="Sign-in settings were not saved." />
        <FormActions busy={busy} label="Save" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
