import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { RollcallError } from "../errors.ts";
import { pkceChallenge } from "./pkce.ts";
import type { HttpFetch } from "../net/http.ts";
import { clientAssertion, parseAadsts, tokenError, unreachable, type AadstsIds, type Credential } from "../sources/entra/token.ts";
import { pause, retryDelay, type RetryPolicy } from "../sources/entra/graph.ts";
import { aadstsReference, signInAdviceFor } from "./aadsts.ts";

/**
 * OpenID Connect against the Microsoft identity platform (or anything speaking it, like the emulator):
 * discovery, the authorization URL (code + PKCE S256 + state + nonce), code redemption, and ID-token
 * validation done here with jose, because MSAL does not validate ID tokens.
 * [v2-protocols-oidc, v2-oauth2-auth-code-flow, id-token-claims-reference]
 */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

export type SignInRefusal = "invalid_token" | "unknown_tenant" | "unknown_user" | "disabled" | "blocked" | "expired_request" | "provider_error" | "not_offered" | "name_reused";

export function refused(reason: SignInRefusal, message: string, details: Record<string, unknown> = {}, cause?: unknown): RollcallError {
  return new RollcallError("signin_refused", message, { reason, ...details }, cause === undefined ? undefined : { cause });
}

const metadataTtlMs = 3600_000;
const jwksTtlMs = 3600_000;
const metadataCache = new Map<string, { at: number; value: Promise<ProviderMetadata> }>();
const jwksCache = new Map<string, { at: number; value: Promise<JSONWebKeySet> }>();

async function getJson(fetch: HttpFetch, url: string, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" } });
  } catch (error) {
    throw unreachable(url, error);
  }
  if (!response.ok) throw refused("provider_error", `The identity provider's ${what} (${url}) answered HTTP ${response.status}: check the source's login URL and tenant`, { status: response.status });
  return response.json();
}

function cached<T>(cache: Map<string, { at: number; value: Promise<T> }>, key: string, ttl: number, load: () => Promise<T>, refresh = false): Promise<T> {
  const hit = cache.get(key);
  if (hit && !refresh && Date.now() - hit.at < ttl) return hit.value;
  const value = load();
  cache.set(key, { at: Date.now(), value });
  value.catch(() => cache.delete(key));
  return value;
}

/** The tenant's OpenID configuration (`/{tenant}/v2.0/.well-known/openid-configuration`), cached an hour. */
export function discover(fetch: HttpFetch, loginUrl: string, tenant: string): Promise<ProviderMetadata> {
  const url = `${loginUrl.replace(/\/$/, "")}/${encodeURIComponent(tenant)}/v2.0/.well-known/openid-configuration`;
  return cached(metadataCache, url, metadataTtlMs, async () => {
    const doc = (await getJson(fetch, url, "OpenID configuration")) as Partial<ProviderMetadata>;
    for (const field of ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
      if (typeof doc[field] !== "string") throw refused("provider_error", `The OpenID configuration at ${url} has no ${field}`);
    }
    return doc as ProviderMetadata;
  });
}

/** The tenant GUID an issuer names (`https://login…/{tid}/v2.0`), or undefined for the `{tenantid}` template. */
export function issuerTenant(issuer: string): string | undefined {
  const m = /\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/v2\.0\/?$/i.exec(issuer);
  return m?.[1]?.toLowerCase();
}

/** What the sign-in link tells Microsoft, forwarded as given. [v2-oauth2-auth-code-flow: login_hint, domain_hint, prompt] */
export interface SignInHints {
  loginHint?: string | undefined;
  domainHint?: string | undefined;
  prompt?: "login" | "select_account" | "consent" | "none" | undefined;
}

export function authorizationUrl(meta: ProviderMetadata, input: { clientId: string; redirectUri: string; state: string; nonce: string; codeVerifier: string } & SignInHints): string {
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: input.clientId,
    response_type: "code",
    redirect_uri: input.redirectUri,
    response_mode: "query",
    scope: "openid profile email",
    state: input.state,
    nonce: input.nonce,
    code_challenge: pkceChallenge(input.codeVerifier),
    code_challenge_method: "S256",
    ...(input.loginHint && { login_hint: input.loginHint }),
    ...(input.domainHint && { domain_hint: input.domainHint }),
    ...(input.prompt && { prompt: input.prompt }),
  }).toString();
  return url.toString();
}

/** Redeems the authorization code; returns the raw ID token (access and refresh tokens are not kept). */
export async function redeemCode(
  fetch: HttpFetch,
  meta: ProviderMetadata,
  input: { clientId: string; credential: Credential | null; code: string; redirectUri: string; codeVerifier: string; source?: string | undefined },
): Promise<string> {
  // A person is waiting: a busy or briefly unavailable token endpoint (429, 5xx, Retry-After) is waited out
  // a little, not reported at once. A refused code is never retried.
  for (let attempt = 1; ; attempt++) {
    const form = new URLSearchParams({ grant_type: "authorization_code", client_id: input.clientId, code: input.code, redirect_uri: input.redirectUri, code_verifier: input.codeVerifier, scope: "openid profile email" });
    if (input.credential?.kind === "secret") form.set("client_secret", input.credential.secret);
    else if (input.credential?.kind === "certificate") {
      form.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      form.set("client_assertion", await clientAssertion(meta.token_endpoint, input.clientId, input.credential));
    }
    let response: Response;
    try {
      response = await fetch(meta.token_endpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() });
    } catch (error) {
      if (attempt < redeemRetry.maxAttempts) {
        await pause(retryDelay(null, attempt, redeemRetry));
        continue;
      }
      throw unreachable(meta.token_endpoint, error);
    }
    if ((response.status === 429 || response.status >= 500) && attempt < redeemRetry.maxAttempts) {
      await response.body?.cancel();
      await pause(retryDelay(response.headers.get("retry-after"), attempt, redeemRetry));
      continue;
    }
    const body = (await response.json().catch(() => ({}))) as { id_token?: unknown; error?: string; error_description?: string; error_codes?: number[] };
    if (!response.ok || typeof body.id_token !== "string") throw redemptionRefused(response.status, body, input.source);
    return body.id_token;
  }
}

/** Three attempts within a few seconds: enough for a hiccup, short enough for someone watching a browser tab. */
const redeemRetry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 3000 };

/** Codes that mean this one authorization code could not be used: the person starts again, nothing is misconfigured. */
const spentCode = new Set([54005, 70008, 9002313, 501481, 500117]);

/**
 * The token endpoint refused the code. A refused app credential (wrong or expired secret, unknown app or
 * tenant) is the admin's to fix, so the person is told so and the admin what to do, for which source;
 * a spent or expired code means starting again.
 */
function redemptionRefused(status: number, body: { error?: string; error_description?: string; error_codes?: number[] } & AadstsIds, source: string | undefined): RollcallError {
  const failure = parseAadsts(body.error, body.error_description, body.error_codes, body);
  const details = { error: body.error ?? null, aadsts: failure.code, correlationId: failure.correlationId, traceId: failure.traceId };
  const reference = failure.code !== null || failure.correlationId ? ` For your admin: ${aadstsReference(failure)}.` : "";
  const credentials = tokenError(status, body);
  if (body.error && ["client_secret", "client_id", "tenant"].includes(String(credentials.details.check))) {
    const name = source ?? "NAME";
    return refused(
      "provider_error",
      `Rollcall could not finish signing you in: Microsoft refused the credentials of the app registration of source "${name}". This is not something you can fix: tell your Rollcall admin. ` +
        `For the admin: ${credentials.message.replace(/\bNAME\b/g, name).replace(/\.$/, "")}${reference ? ` (${aadstsReference(failure)})` : ""}.`,
      { ...details, check: credentials.details.check, source: source ?? null },
    );
  }
  if (failure.code !== null && spentCode.has(failure.code)) {
    return refused("expired_request", `This sign-in could not be completed (AADSTS${failure.code}: the authorization code was already used, expired or did not match); start again from the sign-in page.${reference}`, details);
  }
  const advice = signInAdviceFor(failure.code);
  const first = (body.error_description ?? "").split(/\r?\n/)[0];
  const what = advice ? `Microsoft did not complete the sign-in (AADSTS${failure.code}). ${advice}` : `Microsoft did not complete the sign-in (${body.error ?? `HTTP ${status}`}${first ? `: ${first}` : ""}).`;
  return refused("provider_error", `${what}${reference}`, details);
}

export interface IdentityClaims {
  tenantId: string;
  objectId: string;
  name: string | null;
  username: string | null;
  email: string | null;
  claims: JWTPayload;
}

/**
 * A token refused for its time (not valid yet, or expired) although Microsoft has just issued it: this
 * server's clock is off. Says which way and by about how much (from the token's `iat`), so an admin fixes
 * the clock instead of hunting a sign-in bug.
 */
function clockSkew(error: unknown, now: Date): { seconds: number; message: string } | null {
  const early = error instanceof joseErrors.JWTClaimValidationFailed && (error.claim === "nbf" || error.claim === "iat");
  if (!early && !(error instanceof joseErrors.JWTExpired)) return null;
  const iat = (error as { payload?: JWTPayload }).payload?.iat;
  if (typeof iat !== "number") return null;
  const seconds = Math.round(now.getTime() / 1000 - iat);
  const minutes = Math.max(1, Math.round(Math.abs(seconds) / 60));
  const times = `Microsoft issued it at ${new Date(iat * 1000).toISOString()}, and this server's time is ${now.toISOString()}`;
  const fix = "Set this server's clock right (NTP) and sign in again.";
  if (seconds < 0) return { seconds, message: `it is not valid yet by this server's clock: ${times}, so this server's clock is about ${minutes} minutes behind. ${fix}` };
  return { seconds, message: `it has expired by this server's clock: ${times}; as Microsoft has just issued it, this server's clock is about ${minutes} minutes ahead. ${fix}` };
}

/**
 * Validates an ID token: RS256 signature with a key from the tenant's JWKS (fetched again once when the
 * `kid` is unknown: key rollover), `aud` = client id, `exp`/`nbf` (5 minutes of clock skew), `nonce`,
 * then the issuer: the metadata's issuer with `{tenantid}` replaced by the token's `tid`, required exactly,
 * also against the signing key's own `issuer` when it has one; and `tid` must be one the caller trusts.
 */
export async function validateIdToken(
  fetch: HttpFetch,
  meta: ProviderMetadata,
  idToken: string,
  expected: { clientId: string; nonce: string; tenants: ReadonlySet<string>; now?: Date },
): Promise<IdentityClaims> {
  const invalid = (why: string, cause?: unknown) => refused("invalid_token", `The ID token from Microsoft was refused: ${why}`, {}, cause);
  const load = (refresh: boolean) => cached(jwksCache, meta.jwks_uri, jwksTtlMs, async () => (await getJson(fetch, meta.jwks_uri, "signing keys")) as JSONWebKeySet, refresh);
  let jwks = await load(false);
  let payload: JWTPayload;
  let kid: string | undefined;
  const verify = (keys: JSONWebKeySet) =>
    jwtVerify(idToken, createLocalJWKSet(keys), {
      algorithms: ["RS256"],
      audience: expected.clientId,
      clockTolerance: 300,
      requiredClaims: ["iss", "aud", "exp", "iat", "tid", "oid"],
      ...(expected.now && { currentDate: expected.now }),
    });
  try {
    try {
      ({ payload, protectedHeader: { kid } } = await verify(jwks));
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      jwks = await load(true);
      ({ payload, protectedHeader: { kid } } = await verify(jwks));
    }
  } catch (error) {
    const skew = clockSkew(error, expected.now ?? new Date());
    if (skew) throw refused("invalid_token", `The ID token from Microsoft was refused: ${skew.message}`, { clockSkewSeconds: skew.seconds }, error);
    if (error instanceof joseErrors.JWTExpired) throw invalid("it has expired", error);
    if (error instanceof joseErrors.JWKSNoMatchingKey) throw invalid("it is not signed with any of the tenant's published keys", error);
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw invalid("its signature does not verify", error);
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw invalid(`claim "${error.claim}" ${error.reason === "check_failed" ? "does not match" : "is missing or malformed"}`, error);
    if (error instanceof joseErrors.JOSEError) throw invalid(error.message, error);
    throw error;
  }
  const tid = String(payload.tid).toLowerCase();
  const issuer = meta.issuer.replace("{tenantid}", tid);
  if (payload.iss !== issuer) throw invalid(`issuer "${String(payload.iss)}" is not "${issuer}"`);
  const key = jwks.keys.find((k) => k.kid === kid) as { issuer?: string } | undefined;
  if (key?.issuer && key.issuer.replace("{tenantid}", tid) !== issuer) throw invalid("the signing key belongs to another issuer");
  if (payload.nonce !== expected.nonce) throw invalid("its nonce does not match this sign-in (a replayed or foreign token)");
  if (!expected.tenants.has(tid)) throw refused("unknown_tenant", "Your organization is not one this Rollcall workspace synchronizes, so your Microsoft account cannot sign in here", { tenantId: tid });
  const text = (v: unknown) => (typeof v === "string" && v.trim() ? v : null);
  return { tenantId: tid, objectId: String(payload.oid).toLowerCase(), name: text(payload.name), username: text(payload.preferred_username), email: text(payload.email), claims: payload };
}
