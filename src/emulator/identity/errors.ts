// Identity-platform error bodies, shaped like Microsoft's:
// {error, error_description: "AADSTS<code>: text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
//  error_codes: [code], timestamp, trace_id, correlation_id, error_uri}.
import { randomUUID } from "node:crypto";
import { escapeHtml, html, json, type Res } from "../http.ts";

export function stsTimestamp(d = new Date()): string {
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export interface AadErrorParts {
  error: string;
  code: number;
  text: string;
  traceId: string;
  correlationId: string;
  timestamp: string;
  description: string;
}

export function aadErrorParts(error: string, code: number, text: string, correlationId?: string): AadErrorParts {
  const traceId = randomUUID();
  const corr = correlationId && /^[0-9a-f-]{36}$/i.test(correlationId) ? correlationId : randomUUID();
  const timestamp = stsTimestamp();
  const description = `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${corr}\r\nTimestamp: ${timestamp}`;
  return { error, code, text, traceId, correlationId: corr, timestamp, description };
}

/** JSON error from the token (or metadata) endpoint. */
export function aadError(status: number, error: string, code: number, text: string, origin: string, correlationId?: string): Res {
  const p = aadErrorParts(error, code, text, correlationId);
  return json(status, {
    error: p.error,
    error_description: p.description,
    error_codes: [code],
    timestamp: p.timestamp,
    trace_id: p.traceId,
    correlation_id: p.correlationId,
    error_uri: `${origin}/error?code=${code}`,
  }, {
    "cache-control": "no-store, no-cache",
    pragma: "no-cache",
    "x-ms-request-id": p.traceId,
    "x-ms-ests-server": "2.1.emulator",
    "client-request-id": p.correlationId,
  });
}

/** The HTML error page Microsoft shows when it cannot (or must not) redirect back to the app. */
export function aadErrorPage(status: number, code: number, text: string): Res {
  const p = aadErrorParts("", code, text);
  return html(status, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body style="font-family:Segoe UI,Arial,sans-serif;max-width:40em;margin:3em auto">
<h1>Sign in</h1>
<div id="error" role="alert"><p><strong>Sorry, but we’re having trouble signing you in.</strong></p>
<p id="aadsts">AADSTS${code}: ${escapeHtml(text)}</p></div>
<details open><summary>Troubleshooting details</summary><pre>Request Id: ${p.traceId}
Correlation Id: ${p.correlationId}
Timestamp: ${p.timestamp.replace(" ", "T")}
Message: AADSTS${code}: ${escapeHtml(text)}</pre></details>
</body></html>`, { "x-ms-request-id": p.traceId });
}

export const MSG = {
  tenantNotFound: (t: string) =>
    `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  appNotFound: (id: string, t: string) =>
    `Application with identifier '${id}' was not found in the directory '${t}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  badSecret: (id: string) =>
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${id}'.`,
  expiredSecret: (id: string) =>
    `The provided client secret keys for app '${id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  unknownCertificate: (thumbprint: string, id: string) =>
    `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${id}'.]`,
  badAssertionSignature: "Client assertion failed signature validation.",
  assertionClientMismatch: "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
  assertionAudience: (aud: string) => `Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials . Audience: '${aud}'.`,
  assertionTime: "Client assertion is not within its valid time range.",
  missingSecret: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  commonEndpoint: "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
  missingScope: "The provided request must include a 'scope' input parameter.",
  badScope: (s: string) => `The provided value for the input parameter 'scope' is not valid. The scope ${s} is not valid.`,
  notDefaultScope: (s: string) => `The provided value for scope ${s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  resourceNotFound: (resource: string, tenant: string) => `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  appDisabled: (id: string, name: string) => `Application '${id}'(${name}) is disabled.`,
  redirectMismatch: (uri: string, id: string) =>
    `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
  codeRedeemed: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
  codeExpired: "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
  badCode: "Invalid request. Request is malformed or invalid.",
  pkce: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
  userDisabled: "The user account is disabled. The account has been disabled by an administrator.",
  missingParam: (p: string) => `The request body must contain the following parameter: '${p}'.`,
  unsupportedGrant: (g: string) => `The app requested an unsupported grant type '${g}'.`,
};
