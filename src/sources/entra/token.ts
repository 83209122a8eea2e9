import { createHash, createPrivateKey, randomUUID, X509Certificate, type KeyObject } from "node:crypto";
import { invalidInput, RollcallError } from "../../errors.ts";
import type { HttpFetch } from "../../net/http.ts";
import type { SecretBox } from "../../security/encryption.ts";
import { pause, retryDelay, type RetryPolicy } from "./graph.ts";
import { isGuid } from "../../domain/guid.ts";

/**
 * App-only tokens (client credentials) for one source. Every provider starts empty: a connect test or a
 * run always gets a fresh token, then reuses it until shortly before it expires.
 * [v2-oauth2-client-creds-grant-flow, reference-error-codes]
 */
export type Credential = { kind: "secret"; secret: string } | { kind: "certificate"; certificatePem: string; privateKeyPem: string };

export interface TokenProvider {
  token(options?: { refresh?: boolean }): Promise<string>;
}

/** What each AADSTS code means for an admin, and what to do in the Azure portal. */
const advice: Record<number, { check: string; message: string }> = {
  90002: { check: "tenant", message: "Unknown directory (tenant) ID. Copy the Directory (tenant) ID from Microsoft Entra admin center > Overview, and make sure the login URL is the right cloud." },
  700016: { check: "client_id", message: "Unknown application (client) ID in this tenant. Copy the Application (client) ID from App registrations > your app > Overview; a multi-tenant app must first be granted admin consent in this tenant." },
  7000215: { check: "client_secret", message: "Wrong client secret. In App registrations > your app > Certificates & secrets, copy the secret's Value (not its Secret ID), or create a new secret, then run `rollcall sources update NAME --client-secret-env VAR`." },
  7000222: { check: "client_secret", message: "The client secret has expired. Create a new one in App registrations > your app > Certificates & secrets, then run `rollcall sources update NAME --client-secret-env VAR --secret-expires-on YYYY-MM-DD`." },
  7000218: { check: "client_secret", message: "No client secret is stored for this source. Set one with `rollcall sources update NAME --client-secret-env VAR`." },
  7000112: { check: "client_id", message: "The application is disabled in this tenant. Enable it in Enterprise applications > your app > Properties (Enabled for users to sign in)." },
  9001023: { check: "tenant", message: "Client credentials need a specific tenant: use the directory (tenant) ID, not common or consumers." },
  70011: { check: "token", message: "The token request's scope was refused. Check the Graph URL of the source (it must be the Graph host of the same cloud as the login URL)." },
  500011: { check: "token", message: "This tenant's login service does not know the source's Graph URL. The login URL and the Graph URL must be of the same cloud (login.microsoftonline.com with graph.microsoft.com; login.microsoftonline.us with graph.microsoft.us or dod-graph.microsoft.us; login.chinacloudapi.cn with microsoftgraph.chinacloudapi.cn): correct the Graph URL, or choose the cloud instead of URLs." },
  700027: { check: "client_secret", message: "The certificate assertion was refused. Upload the certificate (public key) under App registrations > your app > Certificates & secrets." },
  // Rollcall signs the assertion with this server's time (valid from a minute before to 10 minutes after it).
  700024: { check: "client_secret", message: "The certificate assertion was refused as outside its valid time range: this server's clock is off by more than a few minutes. Set it right (NTP), then try again." },
};

export interface AadstsFailure {
  error: string | null;
  code: number | null;
  traceId: string | null;
  correlationId: string | null;
  timestamp: string | null;
}

/** The token endpoint's JSON error fields that carry the ids Microsoft support asks for. */
export interface AadstsIds {
  trace_id?: unknown;
  correlation_id?: unknown;
  timestamp?: unknown;
}

/**
 * The parts of an identity-platform error: its AADSTS code (from `error_codes`, else the description's
 * "AADSTS<code>:"; never from the text), and the ids Microsoft support asks for: the token error's own JSON fields
 * `trace_id`, `correlation_id`, `timestamp` when given (`ids`), else the description's "Trace ID:" lines (an error
 * sent back to a redirect URI has only the description). [reference-error-codes]
 */
export function parseAadsts(error: string | null | undefined, description: string | null | undefined, codes?: unknown, ids: AadstsIds = {}): AadstsFailure {
  const text = description ?? "";
  const listed = Array.isArray(codes) && typeof codes[0] === "number" ? codes[0] : null;
  const code = listed ?? (Number(/AADSTS(\d+)/.exec(text)?.[1] ?? NaN) || null);
  const line = (name: string) => new RegExp(`${name}:\\s*([^\\r\\n]+)`, "i").exec(text)?.[1]?.trim() ?? null;
  const field = (value: unknown) => (typeof value === "string" && value.trim() ? value.trim() : null);
  return {
    error: error ?? null,
    code,
    traceId: field(ids.trace_id) ?? line("Trace ID"),
    correlationId: field(ids.correlation_id) ?? line("Correlation ID"),
    timestamp: field(ids.timestamp) ?? line("Timestamp"),
  };
}

export function tokenError(status: number, body: { error?: string; error_description?: string; error_codes?: number[] } & AadstsIds): RollcallError {
  const { code, traceId, correlationId, timestamp } = parseAadsts(body.error, body.error_description, body.error_codes, body);
  const known = code !== null ? advice[code] : undefined;
  const firstLine = (body.error_description ?? "").split(/\r?\n/)[0] ?? "";
  return new RollcallError(
    "source_auth_failed",
    known ? `AADSTS${code}: ${known.message}` : `The token request failed (HTTP ${status}, ${body.error ?? "unknown error"}): ${firstLine || "no description"}`,
    { aadsts: code !== null ? `AADSTS${code}` : null, error: body.error ?? null, check: known?.check ?? "token", description: firstLine, traceId, correlationId, timestamp },
  );
}

/** A few attempts: a sync waits out a short outage of the token endpoint, an admin's connect test does not hang. */
export const tokenRetry: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 10_000 };

export function createTokenProvider(options: {
  loginUrl: string;
  graphUrl: string;
  tenantId: string;
  clientId: string;
  credential: Credential;
  fetch: HttpFetch;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  /** The run's: aborting it ends a wait between retries at once, with its reason. */
  signal?: AbortSignal;
}): TokenProvider {
  const tokenUrl = `${options.loginUrl}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`;
  let cached: { value: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function request(): Promise<string> {
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: options.clientId, scope: `${options.graphUrl}/.default` });
    if (options.credential.kind === "secret") form.set("client_secret", options.credential.secret);
    else {
      form.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      form.set("client_assertion", await clientAssertion(tokenUrl, options.clientId, options.credential));
    }
    const body = await post(form);
    const lifetime = Number(body.expires_in ?? 3599);
    cached = { value: body.access_token, expiresAt: Date.now() + Math.max(60, lifetime - 300) * 1000 };
    return body.access_token;
  }

  /**
   * The token request, retried like Graph's on 429, 5xx and network errors (the identity platform answers
   * 503 temporarily_unavailable under load, with Retry-After). Any other answer (a wrong secret, an unknown
   * tenant) is final and reported at once.
   */
  async function post(form: URLSearchParams): Promise<{ access_token: string; expires_in?: unknown }> {
    const policy = options.retry ?? tokenRetry;
    const sleep = options.sleep ?? ((ms: number) => pause(ms, options.signal));
    const clientRequestId = randomUUID();
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      let text: string;
      try {
        response = await options.fetch(tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "client-request-id": clientRequestId }, body: form.toString() });
        text = await response.text(); // an answer cut off mid-body is retried like a dropped connection
      } catch (error) {
        if (error instanceof RollcallError) throw error; // the run was interrupted (its AbortSignal's reason): no retry
        if (attempt >= policy.maxAttempts) throw unreachable(options.loginUrl, error);
        await sleep(retryDelay(null, attempt, policy));
        continue;
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // An HTML error page (a proxy, a wrong URL): reported below with the status.
      }
      if (response.ok && typeof body.access_token === "string") return body as { access_token: string };
      if ((response.status === 429 || response.status >= 500) && attempt < policy.maxAttempts) {
        await sleep(retryDelay(response.headers.get("retry-after"), attempt, policy));
        continue;
      }
      if (!body.error) throw new RollcallError("source_unreachable", `The login endpoint ${tokenUrl} answered HTTP ${response.status} without an identity-platform error: check the source's login URL.`, { check: "token", status: response.status });
      // Still busy or down after the retries: an outage of the identity platform, not a credentials problem.
      if (response.status === 429 || response.status >= 500) {
        const failure = tokenError(response.status, body as never);
        throw new RollcallError("source_unreachable", `${failure.message.replace(/\.$/, "")}. The identity platform is busy or unavailable (after ${attempt} attempts); the credentials were not refused. Try again later.`, { ...failure.details, check: "network", status: response.status });
      }
      throw tokenError(response.status, body as never);
    }
  }

  return {
    async token({ refresh } = {}) {
      if (!refresh && cached && cached.expiresAt > Date.now()) return cached.value;
      pending ??= request().finally(() => (pending = undefined));
      return pending;
    },
  };
}

export function unreachable(url: string, error: unknown): RollcallError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  const hint = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(String(reason))
    ? " The server's certificate is not trusted: point NODE_EXTRA_CA_CERTS at your CA bundle (corporate TLS proxy or emulator)."
    : " Check the URL, your network, and HTTPS_PROXY/NO_PROXY.";
  return new RollcallError("source_unreachable", `Could not reach ${new URL(url).origin}: ${reason}.${hint}`, { check: "network", reason: String(reason) }, { cause: error });
}

/**
 * A secret as pasted, without the spaces and line ends around it (Microsoft's secret values have none): a padded
 * secret would be refused at every run (AADSTS7000215), a blank one would replace a working secret with nothing.
 */
export function cleanCredential(credential: Credential): Credential {
  if (credential.kind !== "secret") return credential;
  const secret = credential.secret.trim();
  if (!secret) throw invalidInput([{ field: "clientSecret", message: "is blank: paste the secret's Value from App registrations > your app > Certificates & secrets" }]);
  return { kind: "secret", secret };
}

/**
 * A credential is checked when it is stored, not at the first token request: a certificate and its key must parse,
 * the key must be the certificate's, and RSA in PKCS#8 (what the client assertion signs with). Returns when it
 * expires, as far as it says: a certificate's last valid day; a secret does not say.
 */
export function checkCredential(credential: Credential): { expiresOn: string | null } {
  // The portal shows a secret's Value once and its Secret ID (a GUID) for ever: the ID is the usual wrong paste.
  if (credential.kind === "secret" && isGuid(credential.secret)) {
    throw invalidInput([{ field: "clientSecret", message: "is a GUID: that is the secret's ID, not the secret. In App registrations > your app > Certificates & secrets, copy the secret's Value (shown only when it is created; create a new secret if it is gone)" }]);
  }
  if (credential.kind !== "certificate") return { expiresOn: null };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(credential.certificatePem);
  } catch {
    throw invalidInput([{ field: "certificatePem", message: "is not a PEM certificate: give the certificate (-----BEGIN CERTIFICATE-----) uploaded to App registrations > your app > Certificates & secrets" }]);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(credential.privateKeyPem);
  } catch {
    throw invalidInput([{ field: "privateKeyPem", message: "is not an unencrypted PEM private key: give the certificate's private key (-----BEGIN PRIVATE KEY-----)" }]);
  }
  if (key.asymmetricKeyType !== "rsa" || !/-----BEGIN PRIVATE KEY-----/.test(credential.privateKeyPem)) {
    throw invalidInput([{ field: "privateKeyPem", message: "must be an RSA key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert one with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-pkcs8.pem`" }]);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw invalidInput([{ field: "privateKeyPem", message: "is not the certificate's private key: give the key the certificate was made with" }]);
  }
  return { expiresOn: new Date(certificate.validTo).toISOString().slice(0, 10) };
}

/** A credential as stored (sources.secret_ciphertext): sealed with the secret key; null for none. */
export function sealCredential(secrets: SecretBox, credential: Credential | null): string | null {
  return credential ? secrets.seal(JSON.stringify(credential)) : null;
}

export function openCredential(secrets: SecretBox, sealed: string | null): Credential | null {
  return sealed ? (JSON.parse(secrets.open(sealed)) as Credential) : null;
}

export async function clientAssertion(audience: string, clientId: string, credential: Extract<Credential, { kind: "certificate" }>): Promise<string> {
  const der = new X509Certificate(credential.certificatePem).raw;
  const x5t = createHash("sha1").update(der).digest("base64url");
  // jose loaded only here: a secret, the usual credential, needs no signing.
  const { importPKCS8, SignJWT } = await import("jose");
  const key = await importPKCS8(credential.privateKeyPem, "RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", x5t })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setNotBefore(now - 60)
    .setExpirationTime(now + 600)
    .sign(key);
}
