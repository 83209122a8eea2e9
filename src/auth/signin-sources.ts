// The sources that sign people in (Entra ID and SCIM ones): which ones a workspace offers, and which of one app's credentials redeems a code.
import { sql } from "kysely";
import { endpoints, entraConfigSchema, type EntraConfig } from "../sources/entra/config.ts";
import { scimConfigSchema } from "../core/scim-sources.ts";
import { createTokenProvider, openCredential, type Credential } from "../sources/entra/token.ts";
import { redeemCode, type ProviderMetadata } from "./oidc.ts";
import type { SignInDeps } from "./signin.ts";

/** The app registration a source signs people in with. A SCIM source has no Graph URL: Microsoft's is named for the probe's token. */
export type SignInApp = Pick<EntraConfig, "tenantId" | "clientId" | "cloud" | "loginUrl" | "graphUrl">;

export interface SignInSource {
  id: string;
  name: string;
  /** entra: Rollcall reads the tenant (users matched by object ID); scim: Entra ID pushes it (see scim-match.ts). */
  type: "entra" | "scim";
  workspaceId: string;
  workspace: string;
  config: SignInApp;
  credential: Credential | null;
}

/** The login host a source signs in at (Microsoft's, or a custom one). */
export const loginUrlOf = (config: SignInApp): string => endpoints(config).loginUrl;

/**
 * A source's app registration, from its stored settings: when it signs people in (or, `signingIn: false`, whenever it
 * names one: signing out of Microsoft still goes to its tenant after sign-in was turned off); null otherwise.
 */
export function signInAppOf(type: string, raw: unknown, { signingIn = true } = {}): SignInApp | null {
  if (type === "entra") {
    const parsed = entraConfigSchema.safeParse(raw);
    return parsed.success && (parsed.data.signIn || !signingIn) ? parsed.data : null;
  }
  const parsed = scimConfigSchema.safeParse(raw);
  if (!parsed.success || (signingIn && !parsed.data.signIn)) return null;
  const { tenantId, clientId, cloud, loginUrl } = parsed.data;
  return tenantId && clientId ? { tenantId, clientId, cloud, loginUrl, graphUrl: null } : null;
}

/** Every source offering Microsoft sign-in, optionally in one workspace. */
export async function signInSources(deps: Pick<SignInDeps, "db" | "secrets">, workspaceId?: string): Promise<SignInSource[]> {
  let query = deps.db
    .selectFrom("sources as s")
    .innerJoin("workspaces as w", "w.id", "s.workspace_id")
    .select(["s.id", "s.name", "s.type", "s.workspace_id", "w.name as workspace", "s.config", "s.secret_ciphertext"])
    .where("s.type", "in", ["entra", "scim"])
    .where(sql<boolean>`(s.config->>'signIn')::boolean is true`)
    .orderBy(sql`lower(w.name)`)
    .orderBy(sql`lower(s.name)`);
  if (workspaceId) query = query.where("s.workspace_id", "=", workspaceId);
  const rows = await query.execute();
  return rows.flatMap((r) => {
    const config = signInAppOf(r.type, r.config);
    if (!config) return [];
    return [{ id: r.id, name: r.name, type: r.type === "scim" ? "scim" : "entra", workspaceId: r.workspace_id, workspace: r.workspace, config, credential: openCredential(deps.secrets, r.secret_ciphertext) }];
  });
}

/** Sources of one app registration (same login host and client id) sign in together, one authorization request for all their tenants. */
export function appKey(s: SignInSource): string {
  return `${loginUrlOf(s.config)}|${s.config.clientId.toLowerCase()}`;
}

/**
 * The authority one sign-in goes to for `sources` (of one app registration): one tenant, its own; several tenants of
 * one multi-tenant app, "organizations", and the callback accepts only the tenants of these sources.
 */
export function authorityOf(sources: SignInSource[]): string {
  const tenants = new Set(sources.map((s) => s.config.tenantId.toLowerCase()));
  return tenants.size === 1 ? sources[0]!.config.tenantId : "organizations";
}

/** A person is waiting: a probe gets one more try after a brief wait, not Graph's patience. */
const probeRetry = { maxAttempts: 2, baseDelayMs: 300, maxDelayMs: 2000 };

/**
 * The sources of one multi-tenant app each hold a credential of it, not necessarily the same one: a secret rotated on
 * one source but not yet on the others must not stop everyone's sign-in. When they differ, each is tried first for an
 * app-only token at its own tenant (an authorization code may be spent by a refused redemption, so it is not the probe),
 * and the code is redeemed with the first accepted; when none is, with the first, whose refusal names its source.
 */
export async function redeemWithSources(deps: SignInDeps, meta: ProviderMetadata, sources: SignInSource[], input: { clientId: string; code: string; redirectUri: string; codeVerifier: string }): Promise<string> {
  const byCredential = new Map<string, SignInSource>();
  for (const s of sources) if (s.credential && !byCredential.has(JSON.stringify(s.credential))) byCredential.set(JSON.stringify(s.credential), s);
  const candidates = [...byCredential.values()];
  let chosen = candidates[0] ?? sources[0]!;
  if (candidates.length > 1) {
    for (const source of candidates) {
      const provider = createTokenProvider({ ...endpoints(source.config), tenantId: source.config.tenantId, clientId: source.config.clientId, credential: source.credential!, fetch: deps.fetch, retry: probeRetry });
      if (await provider.token().then(() => true, () => false)) {
        chosen = source;
        break;
      }
    }
  }
  return redeemCode(deps.fetch, meta, { ...input, credential: chosen.credential, source: chosen.name });
}
