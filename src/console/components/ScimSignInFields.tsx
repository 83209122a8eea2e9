import { useState } from "react";
import type { ScimSignInInput, ScimSource } from "../sync-api.ts";
import { CheckField, TextField } from "./ui.tsx";
import { CredentialFields, credentialEntered, credentialInput, emptyCredential, type CredentialDraft } from "./CredentialFields.tsx";
import { registerRedirectUri, useSignInRedirectUri } from "./SourceForm.tsx";

/**
 * Sign in with Microsoft's fields for a SCIM source, the same wherever they are entered (the Add SCIM source dialog,
 * the sign-in dialog of a source's card and page): the switch, the enterprise application's directory (tenant) ID and
 * application (client) ID, and its client secret or certificate (write-only: blank keeps the stored one).
 */
export interface ScimSignInDraft {
  signIn: boolean;
  tenantId: string;
  clientId: string;
  credential: CredentialDraft;
  secretExpiresOn: string;
}

/** The draft a source's settings start (blank for a new source): never a stored credential, which is write-only. */
export const scimSignInDraftOf = (source?: ScimSource): ScimSignInDraft => ({
  signIn: source?.config.signIn ?? false,
  tenantId: source?.config.tenantId ?? "",
  clientId: source?.config.clientId ?? "",
  credential: emptyCredential(source?.secret.set ? source.config.credential : "secret"),
  secretExpiresOn: source?.config.secretExpiresOn ?? "",
});

export function useScimSignInDraft(source?: ScimSource) {
  const [draft, setDraft] = useState<ScimSignInDraft>(() => scimSignInDraftOf(source));
  const set = <K extends keyof ScimSignInDraft>(key: K, value: ScimSignInDraft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  return { draft, set, setDraft };
}

/**
 * What the draft sends: only what was filled in (a blank secret keeps the stored one). The expiry date goes when it
 * changed (blank: none); a new secret or certificate sent with the old date unchanged goes without it, so that the
 * server takes the certificate's own date, or none for a secret, rather than the replaced one's.
 */
export function scimSignInInput(d: ScimSignInDraft, source?: ScimSource): ScimSignInInput {
  const stored = source?.config.secretExpiresOn ?? "";
  const newCredential = credentialEntered(d.credential);
  const date = d.secretExpiresOn === stored ? undefined : d.secretExpiresOn || (newCredential ? undefined : null);
  return {
    signIn: d.signIn,
    ...(d.tenantId.trim() && { tenantId: d.tenantId.trim() }),
    ...(d.clientId.trim() && { clientId: d.clientId.trim() }),
    ...credentialInput(d.credential),
    ...(date !== undefined && { secretExpiresOn: date }),
  };
}

/** Whether the admin entered anything of sign-in (a new source sends sign-in settings only then). */
export const scimSignInTouched = (d: ScimSignInDraft): boolean => d.signIn || Boolean(d.tenantId.trim() || d.clientId.trim()) || credentialEntered(d.credential);

export function ScimSignInFields({ draft, set, fields, source }: { draft: ScimSignInDraft; set: ReturnType<typeof useScimSignInDraft>["set"]; fields: Record<string, string>; source?: ScimSource }) {
  const redirectUri = useSignInRedirectUri();
  return (
    <>
      <p className="muted small">
        The enterprise application that provisions these users signs them in too, with its app registration. A person is matched by their object ID when
        objectId is mapped to externalId in its Attribute mappings, otherwise once by their user principal name (userName). {registerRedirectUri(redirectUri)}
      </p>
      <CheckField label="Use for Sign in with Microsoft" checked={draft.signIn} onChange={(e) => set("signIn", e.target.checked)} />
      <TextField label="Directory (tenant) ID" value={draft.tenantId} onChange={(e) => set("tenantId", e.target.value)} error={fields.tenantId} hint="Microsoft Entra ID › Overview" autoComplete="off" />
      <TextField label="Application (client) ID" value={draft.clientId} onChange={(e) => set("clientId", e.target.value)} error={fields.clientId} hint="Enterprise applications › your application › Properties" autoComplete="off" />
      <CredentialFields draft={draft.credential} onChange={(credential) => set("credential", credential)} fields={fields} stored={source?.secret.set ? source.config.credential : null} />
      <TextField
        label="Secret expires on"
        type="date"
        value={draft.secretExpiresOn}
        onChange={(e) => set("secretExpiresOn", e.target.value)}
        error={fields.secretExpiresOn}
        hint="Rollcall warns 30 and 7 days before. A new certificate brings its own date; a new secret has none unless given here."
      />
    </>
  );
}
