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
  name: "token" | "admin_consent" | "users" | "groups" | "scope";
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
  const named = namedGroups(config);
  if (named.length && checks.every((c) => c.ok)) checks.push(await findGroups(graph, named));
  return done();
}

/** The groups a source names: its user scope's and the groups it syncs, by object ID or display name. */
export function namedGroups(config: Pick<EntraConfig, "users" | "scopeGroups" | "groupMode" | "groups">): string[] {
  const names = [...(config.users === "groups" ? config.scopeGroups : []), ...(config.groupMode === "selected" ? config.groups : [])];
  return [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
}

const objectId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether each named group exists, as the sync matches them: an object ID, or a display name without case. */
async function findGroups(graph: GraphClient, names: string[]): Promise<Check> {
  const missing: string[] = [];
  try {
    for (const name of names) if (!(await groupExists(graph, name))) missing.push(name);
  } catch (error) {
    return failedCheck("scope", error);
  }
  if (!missing.length) return { name: "scope", ok: true, code: null, message: `Found the groups the source names: ${names.join(", ")}` };
  return { name: "scope", ok: false, code: "group_not_found", message: missingGroupsAdvice(missing) };
}

async function groupExists(graph: GraphClient, name: string): Promise<boolean> {
  if (objectId.test(name)) {
    try {
      await graph.get(`/groups/${name}?$select=id`);
      return true;
    } catch (error) {
      if (!(error instanceof GraphRequestError && error.status === 404)) throw error;
    }
  }
  // eq on displayName compares without case; a quote in an OData string literal is doubled.
  const page = await graph.get(`/groups?$filter=${encodeURIComponent(`displayName eq '${name.replace(/'/g, "''")}'`)}&$select=id&$top=1`);
  return Array.isArray(page.value) && page.value.length > 0;
}

/** What to do about named groups Entra ID does not have (the connect check's and a failed run's message). */
export function missingGroupsAdvice(missing: string[]): string {
  return `Entra ID has no group ${missing.map((n) => `"${n}"`).join(", ")} (a display name, compared without case, or an object ID). Check the name in Microsoft Entra admin center > Groups: a group renamed there no longer matches its old name here, while its object ID always does. Then correct the source's groups (rollcall sources update NAME --groups "…", or the source's settings in the console).`;
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
    return failedCheck(name, error);
  }
}

function failedCheck(name: Check["name"], error: unknown): Check {
  if (error instanceof GraphRequestError) return { name, ok: false, code: error.code, message: `Graph answered ${error.status} ${error.code}: ${error.message}` };
  const e = error instanceof RollcallError ? error : new RollcallError("source_unreachable", (error as Error).message);
  return { name, ok: false, code: e.code, message: e.message };
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
