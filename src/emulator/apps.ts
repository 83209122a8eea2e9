// App registrations (global, like Microsoft's application objects, keyed by client id) and their
// service principals per tenant (admin consent with granted app permissions and delegated scopes).
import { createHash, randomBytes, randomUUID, X509Certificate } from "node:crypto";
import type { AppCertificate, AppRegistrationInfo, AppRegistrationInput, AppSecret, GrantInfo, GrantOptions, OptionalClaims, ServicePrincipalInfo } from "./app-types.ts";

export const DEFAULT_DELEGATED_SCOPES = ["openid", "profile", "email", "offline_access", "User.Read"];
export const DEFAULT_APP_PERMISSIONS = ["User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"];

const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~";

/** Microsoft-like secret value: 40 characters, 3-character hint, then the `8Q~` version marker. */
export function newSecretValue(bytes: Uint8Array = randomBytes(40)): string {
  let s = "";
  for (let i = 0; i < 37; i++) s += SECRET_ALPHABET[(bytes[i] ?? 0) % (i < 3 ? 62 : SECRET_ALPHABET.length)];
  return `${s.slice(0, 3)}8Q~${s.slice(3, 37)}`;
}

export class AppRegistration {
  clientId: string;
  displayName: string;
  homeTenantId: string;
  multiTenant: boolean;
  enabled: boolean;
  redirectUris: string[];
  secrets: AppSecret[] = [];
  certificates: AppCertificate[] = [];
  tokenLifetimeSeconds: number;
  optionalClaims: OptionalClaims;
  logoutUrl: string | null;

  constructor(homeTenantId: string, input: AppRegistrationInput) {
    this.clientId = input.clientId ?? randomUUID();
    this.displayName = input.displayName ?? "Rollcall";
    this.homeTenantId = homeTenantId;
    this.multiTenant = input.multiTenant ?? true;
    this.enabled = input.enabled ?? true;
    this.redirectUris = input.redirectUris ?? ["http://localhost:3000/auth/callback", "https://localhost:3000/auth/callback"];
    this.tokenLifetimeSeconds = input.tokenLifetimeSeconds ?? 3599;
    this.optionalClaims = { idToken: (input.optionalClaims?.idToken ?? []).map((c) => ({ name: c.name })) };
    this.logoutUrl = input.logoutUrl ?? null;
  }

  /** Whether the app's ID tokens carry this optional claim (Token configuration in the portal). */
  hasIdTokenClaim(name: string): boolean {
    return this.optionalClaims.idToken.some((c) => c.name === name);
  }

  addSecret(options: { displayName?: string; expiresAt?: Date | string; expiresInDays?: number; secretText?: string; keyId?: string } = {}): AppSecret {
    const now = new Date();
    const end = options.expiresAt !== undefined
      ? new Date(options.expiresAt)
      : new Date(now.getTime() + (options.expiresInDays ?? 180) * 86400_000);
    const value = options.secretText ?? newSecretValue();
    const secret: AppSecret = {
      keyId: options.keyId ?? randomUUID(),
      secretText: value,
      hint: value.slice(0, 3),
      displayName: options.displayName ?? "rollcall",
      startDateTime: now.toISOString(),
      endDateTime: end.toISOString(),
    };
    this.secrets.push(secret);
    return secret;
  }

  addCertificate(options: { certificatePem: string; displayName?: string }): AppCertificate {
    const cert = new X509Certificate(options.certificatePem);
    const certificate: AppCertificate = {
      keyId: randomUUID(),
      thumbprint: createHash("sha1").update(cert.raw).digest("base64url"),
      certificatePem: cert.toString(),
      displayName: options.displayName ?? cert.subject.replace(/^CN=/, ""),
      startDateTime: new Date(cert.validFrom).toISOString(),
      endDateTime: new Date(cert.validTo).toISOString(),
    };
    this.certificates.push(certificate);
    return certificate;
  }

  info(): AppRegistrationInfo {
    return {
      clientId: this.clientId,
      displayName: this.displayName,
      homeTenantId: this.homeTenantId,
      multiTenant: this.multiTenant,
      enabled: this.enabled,
      redirectUris: [...this.redirectUris],
      secrets: this.secrets.map((s) => ({ ...s })),
      certificates: this.certificates.map((c) => ({ ...c })),
      tokenLifetimeSeconds: this.tokenLifetimeSeconds,
      optionalClaims: { idToken: this.optionalClaims.idToken.map((c) => ({ ...c })) },
      logoutUrl: this.logoutUrl,
    };
  }
}

/** An app's presence in one tenant: what was consented there, and from when it is effective. */
export class ServicePrincipal {
  /** Object id of the service principal (the `oid` of its app-only tokens). */
  readonly objectId = randomUUID();
  appRoles = new Map<string, number>();
  scopes = new Map<string, number>();
  constructor(readonly clientId: string, readonly tenantId: string) {}

  grantRole(permission: string, options: GrantOptions = {}): void {
    this.appRoles.set(permission, Date.now() + (options.delayMs ?? 0));
  }
  grantScope(scope: string, options: GrantOptions = {}): void {
    this.scopes.set(scope, Date.now() + (options.delayMs ?? 0));
  }
  /** Roles in effect now (what a new token carries). */
  effectiveRoles(now = Date.now()): string[] {
    return [...this.appRoles].filter(([, t]) => t <= now).map(([p]) => p);
  }
  effectiveScopes(now = Date.now()): string[] {
    return [...this.scopes].filter(([, t]) => t <= now).map(([p]) => p);
  }
  info(): ServicePrincipalInfo {
    const list = (m: Map<string, number>): GrantInfo[] =>
      [...m].map(([permission, t]) => ({ permission, effectiveFrom: new Date(t).toISOString() }));
    return { id: this.objectId, clientId: this.clientId, tenantId: this.tenantId, appPermissions: list(this.appRoles), delegatedScopes: list(this.scopes) };
  }
}

/** All app registrations of the emulated cloud. */
export class AppDirectory {
  private apps = new Map<string, AppRegistration>();
  register(homeTenantId: string, input: AppRegistrationInput): AppRegistration {
    const app = new AppRegistration(homeTenantId, input);
    if (this.apps.has(app.clientId)) throw new Error(`app ${app.clientId} already exists`);
    this.apps.set(app.clientId, app);
    if (input.withSecret !== false) app.addSecret();
    return app;
  }
  get(clientId: string): AppRegistration | undefined {
    return this.apps.get(clientId.toLowerCase()) ?? this.apps.get(clientId);
  }
  delete(clientId: string): void {
    this.apps.delete(clientId);
  }
}
