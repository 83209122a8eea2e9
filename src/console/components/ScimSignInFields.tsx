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
}

export function useScimSignInDraft(source?: ScimSource) {
  const [draft, setDraft] = useState<ScimSignInDraft>(() => ({
    signIn: source?.config.signIn ?? false,
    tenantId: source?.config.tenantId ?? "",
    clientId: source?.config.clientId ?? "",
    credential: emptyCredential(source?.secret.set ? source.config.credential : "secret"),
  }));
  const set = <K extends keyof ScimSignInDraft>(key: K, value: ScimSignInDraft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  return { draft, set, setDraft };
}

/** What the draft sends: only what was filled in (a blank secret keeps the stored one). */
export function scimSignInInput(d: ScimSignInDraft): ScimSignInInput {
  return {
    signIn: d.signIn,
    ...(d.tenantId.trim() && { tenantId: d.tenantId.trim() }),
    ...(d.clientId.trim() && { clientId: d.clientId.trim() }),
    ...credentialInput(d.credential),
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
    </>
  );
}
