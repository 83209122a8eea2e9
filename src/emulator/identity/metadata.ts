// Discovery documents: OpenID configuration (tenant-specific, and the multi-tenant ones with the
// literal {tenantid} issuer), the JWKS, and MSAL's instance discovery.
import { json, type Req, type Res } from "../http.ts";
import { CONSUMERS_TENANT_ID, type IdentityContext } from "./context.ts";
import { aadError, MSG } from "./errors.ts";

export function openIdConfiguration(ctx: IdentityContext, req: Req, segment: string): Res {
  const r = ctx.resolve(segment);
  const o = req.origin;
  if ("unknown" in r) return aadError(400, "invalid_tenant", 90002, MSG.tenantNotFound(r.unknown), o);
  const isSpecial = "special" in r;
  const seg = isSpecial ? r.special : r.entry.id;
  const issuerTenant = isSpecial ? (r.special === "consumers" ? CONSUMERS_TENANT_ID : "{tenantid}") : r.entry.id;
  const host = new URL(o).host;
  return json(200, {
    token_endpoint: `${o}/${seg}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${o}/${seg}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${o}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${o}/oidc/userinfo`,
    authorization_endpoint: `${o}/${seg}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${o}/${seg}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${o}/${seg}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
      "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
    kerberos_endpoint: `${o}/${seg}/kerberos`,
    tenant_region_scope: isSpecial ? null : "EU",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: host,
    rbac_url: "https://pas.windows.net",
  }, { "cache-control": "max-age=86400, private", "access-control-allow-origin": "*" });
}

export function jwks(ctx: IdentityContext, req: Req, segment: string): Res {
  const r = ctx.resolve(segment);
  if ("unknown" in r) return aadError(400, "invalid_tenant", 90002, MSG.tenantNotFound(r.unknown), req.origin);
  const tid = "special" in r ? (r.special === "consumers" ? CONSUMERS_TENANT_ID : "{tenantid}") : r.entry.id;
  return json(200, ctx.keys.jwks(`${req.origin}/${tid}/v2.0`), { "cache-control": "max-age=86400, private", "access-control-allow-origin": "*" });
}

/** `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=…` as MSAL asks it. */
export function instanceDiscovery(req: Req): Res {
  const host = new URL(req.origin).host;
  const authz = req.query.get("authorization_endpoint");
  let tenant = "common";
  if (authz) {
    try {
      tenant = new URL(authz).pathname.split("/").filter(Boolean)[0] ?? "common";
    } catch { /* keep common */ }
  }
  return json(200, {
    tenant_discovery_endpoint: `${req.origin}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  });
}
