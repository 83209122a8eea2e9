// App registrations, their credentials, and their consent (service principals) in a tenant, as the emulator models them.
// Public: other packages import these through ./index.ts.

export interface AppSecret {
  keyId: string;
  /** The secret value (what a client sends as client_secret). */
  secretText: string;
  hint: string;
  displayName: string;
  startDateTime: string;
  endDateTime: string;
}

/** A certificate (public part) uploaded to an app: client assertions signed with its key are accepted. */
export interface AppCertificate {
  keyId: string;
  /** base64url SHA-1 of the DER certificate: the `x5t` a client assertion names. */
  thumbprint: string;
  certificatePem: string;
  displayName: string;
  startDateTime: string;
  endDateTime: string;
}

export interface AppRegistrationInput {
  clientId?: string;
  displayName?: string;
  /** Application permissions (app roles) to grant with admin consent in the home tenant. */
  appPermissions?: string[];
  /** Delegated scopes consented in the home tenant (e.g. "User.Read", "openid"). */
  delegatedScopes?: string[];
  redirectUris?: string[];
  multiTenant?: boolean;
  enabled?: boolean;
  /** Create one secret (default true); its value is returned on the registration. */
  withSecret?: boolean;
  /** Access-token lifetime in seconds (default 3599). */
  tokenLifetimeSeconds?: number;
  /** Token configuration's optional claims, as Graph's application resource has them; of the ID token's, only `login_hint` is modelled. */
  optionalClaims?: OptionalClaims;
  /** Authentication's Front-channel logout URL (Graph: web.logoutUrl): loaded with ?sid= when the browser signs out. */
  logoutUrl?: string | null;
}

export interface OptionalClaims {
  idToken: { name: string }[];
}

export interface AppRegistrationInfo {
  clientId: string;
  displayName: string;
  homeTenantId: string;
  multiTenant: boolean;
  enabled: boolean;
  redirectUris: string[];
  secrets: AppSecret[];
  certificates: AppCertificate[];
  tokenLifetimeSeconds: number;
  optionalClaims: OptionalClaims;
  logoutUrl: string | null;
}

export interface GrantInfo {
  permission: string;
  /** ISO time from which new tokens carry it. */
  effectiveFrom: string;
}

export interface ServicePrincipalInfo {
  /** Object id of the service principal in this tenant: what `addMember` takes to make it a group member. */
  id: string;
  clientId: string;
  tenantId: string;
  appPermissions: GrantInfo[];
  delegatedScopes: GrantInfo[];
}

export interface GrantOptions {
  /** The grant only reaches new tokens after this many milliseconds (replication delay). */
  delayMs?: number;
}
