// POST /{tenant}/oauth2/v2.0/token: client_credentials, authorization_code (+PKCE), refresh_token.
import { createHash } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, importX509, jwtVerify } from "jose";
import type { AppRegistration } from "../apps.ts";
import type { TenantEntry } from "../handle.ts";
import { formBody, header, json, type Req, type Res } from "../http.ts";
import { graphResources, splitScopes, type IdentityContext } from "./context.ts";
import { aadError, MSG } from "./errors.ts";
import { loginHintClaim } from "./browser-session.ts";
import { appAccessToken, idToken, userAccessToken } from "./jwt.ts";

const NO_STORE = { "cache-control": "no-store, no-cache", pragma: "no-cache" };

interface ClientCreds { clientId?: string; clientSecret?: string; clientAssertion?: string }

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

function clientCredentials(req: Req, form: URLSearchParams): ClientCreds {
  const auth = header(req, "authorization");
  if (auth?.toLowerCase().startsWith("basic ")) {
    const dec = Buffer.from(auth.slice(6).trim(), "base64").toString("utf8");
    const i = dec.indexOf(":");
    if (i > 0) return { clientId: decodeURIComponent(dec.slice(0, i)), clientSecret: decodeURIComponent(dec.slice(i + 1)) };
  }
  const assertion = form.get("client_assertion_type") === JWT_BEARER ? form.get("client_assertion") ?? undefined : undefined;
  return { clientId: form.get("client_id") ?? undefined, clientSecret: form.get("client_secret") ?? undefined, clientAssertion: assertion };
}

/** Check the secret against the app's secrets: null when fine, else the error response. */
function checkSecret(app: AppRegistration, secret: string | undefined, origin: string, corr?: string): Res | null {
  if (!secret) return aadError(401, "invalid_client", 7000218, MSG.missingSecret, origin, corr);
  const match = app.secrets.find((s) => s.secretText === secret);
  if (!match) return aadError(401, "invalid_client", 7000215, MSG.badSecret(app.clientId), origin, corr);
  if (Date.parse(match.endDateTime) <= Date.now()) return aadError(401, "invalid_client", 7000222, MSG.expiredSecret(app.clientId), origin, corr);
  return null;
}

/**
 * A certificate credential: a JWT signed with the key of a certificate uploaded to the app, naming it by `x5t`,
 * issued by and about the client, for this token endpoint, within its validity. [certificate-credentials]
 */
async function checkAssertion(app: AppRegistration, assertion: string, tokenUrl: string, o: string, corr?: string): Promise<Res | null> {
  let thumbprint: string;
  try {
    thumbprint = String(decodeProtectedHeader(assertion).x5t ?? "");
  } catch {
    return aadError(401, "invalid_client", 700027, MSG.badAssertionSignature, o, corr);
  }
  const cert = app.certificates.find((c) => c.thumbprint === thumbprint);
  if (!cert) return aadError(401, "invalid_client", 700027, MSG.unknownCertificate(thumbprint, app.clientId), o, corr);
  try {
    const { payload } = await jwtVerify(assertion, await importX509(cert.certificatePem, "RS256"), { algorithms: ["RS256", "PS256"], clockTolerance: 300 });
    if (payload.iss !== app.clientId || payload.sub !== app.clientId) return aadError(401, "invalid_client", 700021, MSG.assertionClientMismatch, o, corr);
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(tokenUrl)) return aadError(401, "invalid_client", 700023, MSG.assertionAudience(String(payload.aud)), o, corr);
    if (payload.exp === undefined) return aadError(401, "invalid_client", 700024, MSG.assertionTime, o, corr);
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired || error instanceof joseErrors.JWTClaimValidationFailed) return aadError(401, "invalid_client", 700024, MSG.assertionTime, o, corr);
    return aadError(401, "invalid_client", 700027, MSG.badAssertionSignature, o, corr);
  }
  if (Date.parse(cert.endDateTime) <= Date.now()) return aadError(401, "invalid_client", 700027, MSG.unknownCertificate(thumbprint, app.clientId), o, corr);
  return null;
}

function findApp(ctx: IdentityContext, entry: TenantEntry, clientId: string): { app: AppRegistration } | null {
  const app = ctx.registry.apps.get(clientId);
  if (!app || !entry.sps.has(app.clientId)) return null;
  if (!app.multiTenant && app.homeTenantId !== entry.id) return null;
  return { app };
}

export async function tokenEndpoint(ctx: IdentityContext, req: Req, segment: string): Promise<Res> {
  const o = req.origin;
  const corr = header(req, "client-request-id");
  const form = formBody(req);
  const r = ctx.resolve(segment);
  if ("unknown" in r) return aadError(400, "invalid_tenant", 90002, MSG.tenantNotFound(r.unknown), o, corr);
  const grant = form.get("grant_type");
  if (!grant) return aadError(400, "invalid_request", 900144, MSG.missingParam("grant_type"), o, corr);
  const creds = clientCredentials(req, form);
  if (!creds.clientId) return aadError(400, "invalid_request", 900144, MSG.missingParam("client_id"), o, corr);
  if (grant === "client_credentials") {
    if ("special" in r) return aadError(400, "invalid_request", 9001023, MSG.commonEndpoint, o, corr);
    return clientCredentialsGrant(ctx, r.entry, creds, form, `${o}${req.path}`, o, corr);
  }
  if (grant === "authorization_code" || grant === "refresh_token") return userGrant(ctx, segment, grant, creds, form, `${o}${req.path}`, o, corr);
  return aadError(400, "unsupported_grant_type", 70003, MSG.unsupportedGrant(grant), o, corr);
}

async function clientCredentialsGrant(ctx: IdentityContext, entry: TenantEntry, creds: ClientCreds, form: URLSearchParams, tokenUrl: string, o: string, corr?: string): Promise<Res> {
  const clientId = creds.clientId as string;
  const found = findApp(ctx, entry, clientId);
  if (!found) return aadError(400, "unauthorized_client", 700016, MSG.appNotFound(clientId, entry.id), o, corr);
  const { app } = found;
  if (!app.enabled) return aadError(400, "unauthorized_client", 7000112, MSG.appDisabled(app.clientId, app.displayName), o, corr);
  const bad = creds.clientAssertion ? await checkAssertion(app, creds.clientAssertion, tokenUrl, o, corr) : checkSecret(app, creds.clientSecret, o, corr);
  if (bad) return bad;
  const scope = (form.get("scope") ?? "").trim();
  if (!scope) return aadError(400, "invalid_scope", 70011, MSG.missingScope, o, corr);
  // One scope, the resource's /.default ("Client credential flows must have a scope value with /.default"); a resource
  // the tenant has no service principal for is AADSTS500011, invalid_resource.
  if (/\s/.test(scope)) return aadError(400, "invalid_scope", 70011, MSG.badScope(scope), o, corr);
  if (!scope.endsWith("/.default")) return aadError(400, "invalid_scope", 1002012, MSG.notDefaultScope(scope), o, corr);
  const named = scope.slice(0, -"/.default".length).replace(/\/$/, "");
  const resource = graphResources(o).find((res) => res === named);
  if (!resource) return aadError(400, "invalid_resource", 500011, MSG.resourceNotFound(named, entry.displayName), o, corr);
  const sp = entry.sps.get(app.clientId);
  const token = await appAccessToken(ctx.keys, {
    issuerBase: o, tenantId: entry.id, clientId: app.clientId, appName: app.displayName, spObjectId: sp?.objectId ?? app.clientId,
    audience: resource, roles: sp?.effectiveRoles() ?? [],
    lifetime: app.tokenLifetimeSeconds,
  });
  return json(200, { token_type: "Bearer", expires_in: app.tokenLifetimeSeconds, ext_expires_in: app.tokenLifetimeSeconds, access_token: token }, NO_STORE);
}

async function userGrant(ctx: IdentityContext, segment: string, grant: string, creds: ClientCreds, form: URLSearchParams, tokenUrl: string, o: string, corr?: string): Promise<Res> {
  const clientId = creds.clientId as string;
  let tenantId: string, userId: string, scopes: string[], nonce: string | undefined, sid: string;
  /** Marks the code redeemed; false when a concurrent redemption got there first (while this one's credential was checked). */
  let spend = () => true;
  if (grant === "authorization_code") {
    const codeValue = form.get("code");
    if (!codeValue) return aadError(400, "invalid_request", 900144, MSG.missingParam("code"), o, corr);
    // Documented as required: the redirect_uri the code was issued for.
    if (form.get("redirect_uri") === null) return aadError(400, "invalid_request", 900144, MSG.missingParam("redirect_uri"), o, corr);
    const code = ctx.codes.get(codeValue);
    if (!code || code.clientId !== clientId) return aadError(400, "invalid_grant", 9002313, MSG.badCode, o, corr);
    if (code.redeemed) return aadError(400, "invalid_grant", 54005, MSG.codeRedeemed, o, corr);
    if (code.expiresAt <= Date.now()) return aadError(400, "invalid_grant", 70008, MSG.codeExpired, o, corr);
    const redirect = form.get("redirect_uri");
    if (redirect !== code.redirectUri) return aadError(400, "invalid_grant", 500117, "The reply uri specified in the token request does not match the reply uri specified in the authorization request.", o, corr);
    if (code.challenge) {
      const verifier = form.get("code_verifier") ?? "";
      const computed = code.challengeMethod === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
      if (computed !== code.challenge) return aadError(400, "invalid_grant", 501481, MSG.pkce, o, corr);
    }
    // Spent only once the client has authenticated (below): a refused client credential leaves the code usable.
    spend = () => !code.redeemed && (code.redeemed = true);
    ({ tenantId, userId, scopes, nonce, sid } = code);
  } else {
    const rt = form.get("refresh_token");
    if (!rt) return aadError(400, "invalid_request", 900144, MSG.missingParam("refresh_token"), o, corr);
    const g = ctx.refreshTokens.get(rt);
    if (!g || g.clientId !== clientId) return aadError(400, "invalid_grant", 9002313, MSG.badCode, o, corr);
    if (g.expiresAt <= Date.now()) return aadError(400, "invalid_grant", 70008, MSG.codeExpired, o, corr);
    ({ tenantId, userId, scopes, sid } = g);
    const requested = form.get("scope");
    if (requested) scopes = scopes.filter((s) => requested.includes(s) || ["openid", "profile", "email", "offline_access"].includes(s));
  }
  const seg = ctx.resolve(segment);
  if ("entry" in seg && seg.entry.id !== tenantId) return aadError(400, "invalid_grant", 9002313, MSG.badCode, o, corr);
  const entry = ctx.registry.get(tenantId);
  const found = findApp(ctx, entry, clientId);
  if (!found) return aadError(400, "unauthorized_client", 700016, MSG.appNotFound(clientId, tenantId), o, corr);
  const { app } = found;
  if (!app.enabled) return aadError(400, "unauthorized_client", 7000112, MSG.appDisabled(app.clientId, app.displayName), o, corr);
  // The emulator's redirect URIs are the Web platform's: a confidential client, which authenticates to redeem a code
  // or refresh token, with a secret or a certificate assertion (AADSTS7000218 with neither). [v2-oauth2-auth-code-flow]
  const bad = creds.clientAssertion ? await checkAssertion(app, creds.clientAssertion, tokenUrl, o, corr) : checkSecret(app, creds.clientSecret, o, corr);
  if (bad) return bad;
  if (!spend()) return aadError(400, "invalid_grant", 54005, MSG.codeRedeemed, o, corr);
  const user = entry.tenant.userRec(userId)?.u;
  if (!user) return aadError(400, "invalid_grant", 50034, "The user account does not exist in the directory.", o, corr);
  if (!user.accountEnabled) return aadError(400, "invalid_grant", 50057, MSG.userDisabled, o, corr);
  const sp = entry.sps.get(app.clientId);
  const granted = new Set(sp?.effectiveScopes() ?? []);
  const split = splitScopes(scopes.join(" "), graphResources(o));
  const graphScopes = (split.graph.length ? split.graph : ["User.Read"]).filter((s) => granted.has(s));
  const oidc = split.oidc.filter((s) => s !== "offline_access");
  const base = { issuerBase: o, tenantId, clientId: app.clientId, appName: app.displayName, user, lifetime: app.tokenLifetimeSeconds, sid };
  const body: Record<string, unknown> = {
    token_type: "Bearer",
    scope: [...graphScopes, ...oidc].join(" "),
    expires_in: app.tokenLifetimeSeconds,
    ext_expires_in: app.tokenLifetimeSeconds,
    access_token: await userAccessToken(ctx.keys, { ...base, audience: "https://graph.microsoft.com", scopes: [...graphScopes, ...oidc] }),
  };
  if (scopes.includes("offline_access")) {
    const rt = ctx.newOpaque(64);
    ctx.refreshTokens.set(rt, { clientId: app.clientId, tenantId, userId, scopes, expiresAt: Date.now() + 90 * 86400_000, sid });
    body.refresh_token = rt;
  }
  if (scopes.includes("openid")) {
    const loginHint = app.hasIdTokenClaim("login_hint") ? loginHintClaim({ tenantId, userId: user.id, userPrincipalName: user.userPrincipalName }) : undefined;
    body.id_token = await idToken(ctx.keys, { ...base, nonce, scopes, loginHint });
  }
  // MSAL asks for client_info=1: the account's home ids, base64url JSON.
  if (form.get("client_info") === "1") body.client_info = Buffer.from(JSON.stringify({ uid: user.id, utid: tenantId })).toString("base64url");
  return json(200, body, NO_STORE);
}
