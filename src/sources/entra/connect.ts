import { decodeJwt } from "jose";
import { RollcallError } from "../../errors.ts";
import type { HttpFetch } from "../../net/http.ts";
import { needsGroups, type EntraConfig } from "./config.ts";
import { GraphClient, GraphRequestError } from "./graph.ts";
import { createTokenProvider, type Credential } from "./token.ts";
import { endpoints } from "./config.ts";

/**
 * "Test connection": a fresh token, then one cheap request per permission the source needs. Permission
 * problems are not token errors (the token is issued without the `roles` claim), so they show up as a 403
 * from Graph; the token's roles are read only to tell "no admin consent at all" apart. [graph-notes]
 */
export interface Check {
  name: "token" | "admin_consent" | "users" | "groups";
  ok: boolean;
  code: string | null;
  message: string;
}

export interface ConnectResult {
  ok: boolean;
  checks: Check[];
}

export async function testConnection(config: EntraConfig, credential: Credential | null, fetch: HttpFetch): Promise<ConnectResult> {
  const checks: Check[] = [];
  const done = () => ({ ok: checks.every((c) => c.ok), checks });
  if (!credential) {
    checks.push({ name: "token", ok: false, code: "AADSTS7000218", message: "No client secret is stored for this source. Set one with `rollcall sources update NAME --client-secret-env VAR`." });
    return done();
  }
  const { loginUrl, graphUrl } = endpoints(config);
  const tokens = createTokenProvider({ loginUrl, graphUrl, tenantId: config.tenantId, clientId: config.clientId, credential, fetch });
  let token: string;
  try {
    token = await tokens.token({ refresh: true });
    checks.push({ name: "token", ok: true, code: null, message: `Signed in to tenant ${config.tenantId} as application ${config.clientId}` });
  } catch (error) {
    const e = error instanceof RollcallError ? error : new RollcallError("source_unreachable", (error as Error).message);
    checks.push({ name: "token", ok: false, code: (e.details.aadsts as string | null) ?? e.code, message: e.message });
    return done();
  }

  const roles = rolesOf(token);
  if (roles !== undefined && roles.length === 0) {
    checks.push({
      name: "admin_consent",
      ok: false,
      code: "no_admin_consent",
      message: "The application has no consented application permissions in this tenant. In App registrations > API permissions, add Microsoft Graph application permissions User.Read.All" + (needsGroups(config) ? " and Group.Read.All" : "") + ", then click \"Grant admin consent\".",
    });
  }

  const graph = new GraphClient({ graphUrl, tokens, fetch, retry: { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 5000 } });
  checks.push(await probe(graph, "users", "/users?$top=1&$select=id", "User.Read.All"));
  if (needsGroups(config)) checks.push(await probe(graph, "groups", "/groups?$top=1&$select=id", "Group.Read.All"));
  return done();
}

async function probe(graph: GraphClient, name: "users" | "groups", path: string, permission: string): Promise<Check> {
  try {
    await graph.get(path);
    return { name, ok: true, code: null, message: `Can read ${name} (${permission})` };
  } catch (error) {
    if (error instanceof GraphRequestError && error.status === 403) {
      return {
        name,
        ok: false,
        code: error.code,
        message: `${permission} is missing: in App registrations > API permissions, add the Microsoft Graph application permission ${permission} and click "Grant admin consent" (a new grant can take a few minutes to apply).`,
      };
    }
    if (error instanceof GraphRequestError) return { name, ok: false, code: error.code, message: `Graph answered ${error.status} ${error.code}: ${error.message}` };
    const e = error instanceof RollcallError ? error : new RollcallError("source_unreachable", (error as Error).message);
    return { name, ok: false, code: e.code, message: e.message };
  }
}

/** The token's app roles when it is a readable JWT; undefined when it is opaque (then the probes decide). */
function rolesOf(token: string): string[] | undefined {
  try {
    const claims = decodeJwt(token);
    return Array.isArray(claims.roles) ? (claims.roles as string[]) : [];
  } catch {
    return undefined;
  }
}
