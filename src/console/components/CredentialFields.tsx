import { useId } from "react";
import { TextArea, TextField } from "./ui.tsx";

/**
 * An app registration's write-only credential as an admin enters it: a client secret, or a certificate with its private
 * key (what the API takes as clientSecret, or certificatePem with privateKeyPem). Blank keeps the stored one. Any form
 * that stores a credential (an Entra ID source, a SCIM source's sign-in) uses these fields, their draft and what they send.
 */
export type CredentialKind = "secret" | "certificate";

export interface CredentialDraft {
  kind: CredentialKind;
  clientSecret: string;
  certificatePem: string;
  privateKeyPem: string;
}

export type CredentialInput = { clientSecret?: string; certificatePem?: string; privateKeyPem?: string };

export const emptyCredential = (kind: CredentialKind = "secret"): CredentialDraft => ({ kind, clientSecret: "", certificatePem: "", privateKeyPem: "" });

/** What the draft sends: the kind chosen, when anything of it was entered (half a certificate too: the server names the missing part). */
export function credentialInput(d: CredentialDraft): CredentialInput {
  if (d.kind === "secret") return d.clientSecret ? { clientSecret: d.clientSecret } : {};
  return d.certificatePem.trim() || d.privateKeyPem.trim() ? { certificatePem: d.certificatePem, privateKeyPem: d.privateKeyPem } : {};
}

export const credentialEntered = (d: CredentialDraft): boolean => Object.keys(credentialInput(d)).length > 0;

const storedText = { secret: "A secret is stored (never shown)", certificate: "A certificate is stored (its key never shown)" } as const;

export function CredentialFields({
  draft,
  onChange,
  fields,
  stored,
  retype = false,
  required = false,
}: {
  draft: CredentialDraft;
  onChange: (draft: CredentialDraft) => void;
  fields: Record<string, string>;
  /** The credential stored now, if any: blank fields keep it. */
  stored: CredentialKind | null;
  /** The form was restored after signing in again, without the credential typed before (never kept): ask for it again. */
  retype?: boolean;
  /** Nothing stored to keep (a new source, or a switch of kind): the chosen kind's fields must be filled in. */
  required?: boolean;
}) {
  const name = useId();
  const set = (change: Partial<CredentialDraft>) => onChange({ ...draft, ...change });
  const keep = retype
    ? `Type the ${draft.kind === "secret" ? "client secret" : "certificate and its private key"} again: ${draft.kind === "secret" ? "it was" : "they were"} not kept while you signed in.`
    : stored
      ? `${storedText[stored]}: leave blank to keep it.`
      : null;
  return (
    <>
      <fieldset className="choices" data-kind="credential-kind">
        <legend className="label">Credential</legend>
        {(["secret", "certificate"] as const).map((kind) => (
          <div className="field field-check" key={kind}>
            <input type="radio" id={`${name}-${kind}`} name={name} value={kind} checked={draft.kind === kind} onChange={() => set({ kind })} />
            <label htmlFor={`${name}-${kind}`}>{kind === "secret" ? "Secret" : "Certificate"}</label>
          </div>
        ))}
      </fieldset>
      {draft.kind === "secret" ? (
        <TextField
          label="Client secret"
          type="password"
          name="clientSecret"
          value={draft.clientSecret}
          onChange={(e) => set({ clientSecret: e.target.value })}
          error={fields.clientSecret}
          hint={keep ?? "The secret's Value (not its ID) from App registrations › your app › Certificates & secrets."}
          autoComplete="new-password"
          required={required}
        />
      ) : (
        <>
          <TextArea
            label="Certificate (PEM)"
            name="certificatePem"
            value={draft.certificatePem}
            onChange={(e) => set({ certificatePem: e.target.value })}
            error={fields.certificatePem ?? fields.clientSecret}
            hint={keep ?? "The certificate uploaded to App registrations › your app › Certificates & secrets (-----BEGIN CERTIFICATE-----)."}
            spellCheck={false}
            required={required}
          />
          <TextArea
            label="Private key (PEM)"
            name="privateKeyPem"
            value={draft.privateKeyPem}
            onChange={(e) => set({ privateKeyPem: e.target.value })}
            error={fields.privateKeyPem}
            hint="The certificate's RSA key, unencrypted PKCS#8 (-----BEGIN PRIVATE KEY-----). Stored encrypted; never shown again."
            spellCheck={false}
            autoComplete="off"
            required={required}
          />
        </>
      )}
    </>
  );
}
