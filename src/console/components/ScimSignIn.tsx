import { useState } from "react";
import { ApiError } from "../api.ts";
import { useCanChange } from "../session.tsx";
import { syncApi, type ScimSource } from "../sync-api.ts";
import { CheckField, TextField, useToast } from "./ui.tsx";
import { Dialog } from "./dialog.tsx";
import { FormActions, FormError, useSubmit } from "./form.tsx";
import { registerRedirectUri, useSignInRedirectUri } from "./SourceForm.tsx";

/**
 * Sign in with Microsoft for a SCIM source's users: what it is set to, and (for admins) a dialog with the enterprise
 * application's directory (tenant) ID, application (client) ID and client secret (write-only: blank keeps the stored one).
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
        {canChange ? (
          <>
            {" "}
            <button type="button" className="btn btn-link" onClick={() => setEditing(true)}>
              Change
            </button>
          </>
        ) : null}
        <ScimSignInDialog
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

function ScimSignInDialog({ workspace, source, open, onClose, onSaved }: { workspace: string; source: ScimSource; open: boolean; onClose: () => void; onSaved: () => void }) {
  const toast = useToast();
  const redirectUri = useSignInRedirectUri();
  const [signIn, setSignIn] = useState(source.config.signIn);
  const [tenantId, setTenantId] = useState(source.config.tenantId ?? "");
  const [clientId, setClientId] = useState(source.config.clientId ?? "");
  const [clientSecret, setClientSecret] = useState("");
  const { busy, error, submit } = useSubmit(async () => {
    await syncApi.updateScimSignIn(workspace, source.name, {
      signIn,
      ...(tenantId.trim() && { tenantId: tenantId.trim() }),
      ...(clientId.trim() && { clientId: clientId.trim() }),
      ...(clientSecret && { clientSecret }),
    });
    setClientSecret("");
    toast(`Sign in with Microsoft ${signIn ? "on" : "off"} for ${source.name}`);
    onSaved();
  });
  const fields = error instanceof ApiError ? error.fieldMap() : {};
  return (
    <Dialog open={open} title={`Sign in with Microsoft: ${source.name}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p className="muted small">
          The enterprise application that provisions these users signs them in too, with its app registration. A person is matched by their object ID when
          objectId is mapped to externalId in its Attribute mappings, otherwise once by their user principal name (userName). {registerRedirectUri(redirectUri)}
        </p>
        <CheckField label="Use for Sign in with Microsoft" checked={signIn} onChange={(e) => setSignIn(e.target.checked)} />
        <TextField label="Directory (tenant) ID" value={tenantId} onChange={(e) => setTenantId(e.target.value)} error={fields.tenantId} hint="Microsoft Entra ID › Overview" autoComplete="off" />
        <TextField label="Application (client) ID" value={clientId} onChange={(e) => setClientId(e.target.value)} error={fields.clientId} hint="Enterprise applications › your application › Properties" autoComplete="off" />
        <TextField
          label="Client secret"
          type="password"
          value={clientSecret}
          onChange={(e) => setClientSecret(e.target.value)}
          error={fields.clientSecret}
          hint={source.secret.set ? "A secret is stored (never shown): leave blank to keep it." : "The secret's Value from App registrations › your app › Certificates & secrets."}
          autoComplete="new-password"
        />
        <FormError error={error} fields={fields} title="Sign-in settings were not saved." />
        <FormActions busy={busy} label="Save" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
