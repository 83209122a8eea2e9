import { RollcallError } from "../../errors.ts";
import type { HttpFetch } from "../../net/http.ts";
import { needsGroups, userSelect, type EntraConfig } from "./config.ts";
import { GraphClient, GraphRequestError, graphFailure, supportReference } from "./graph.ts";
import { adviceFor, type AdvisedSource } from "./advice.ts";
import { unknownPropertyAdvice, unknownPropertyIn } from "./property-advice.ts";
import { groupExists, missingGroupsAdvice, namedGroups, searchGroups, type DirectoryGroup } from "./groups.ts";
import { createTokenProvider, type Credential, type TokenProvider } from "./token.ts";
import { endpoints } from "./config.ts";

/**
 * "Test connection": a fresh token, then one cheap request per permission the source needs. Permission
 * problems are not token errors (the token is issued without the `roles` claim), so they show up as a 403
 * from Graph; the token's roles are read only to tell "no admin consent at all" apart. [graph-notes]
 */
export const checkNames = ["token", "admin_consent", "users", "delta", "groups", "scope"] as const;

/**
 * Why a check failed: Entra ID's AADSTS code (the token), Graph's error code (a probe; HTTP<status> when Graph gave
 * none, or one outside the pattern, which its message then quotes), or Rollcall's: one of checkCodes or an error code.
 */
export const checkCodes = ["no_admin_consent", "group_not_found"] as const;
export const aadstsCodePattern = /^AADSTS\d+$/;
export const graphCodePattern = /^[A-Za-z][A-Za-z0-9_]*$/;

export interface Check {
  name: (typeof checkNames)[number];
  ok: boolean;
  code: string | null;
  message: string;
}

const graphCode = (error: GraphRequestError) => (graphCodePattern.test(error.code) ? error.code : `HTTP${error.status}`);

export interface ConnectResult {
  ok: boolean;
  checks: Check[];
}

/** `source`: the source's name and workspace, put into the commands the advice gives. */
export async function testConnection(config: EntraConfig, credential: Credential | null, fetch: HttpFetch, source?: AdvisedSource): Promise<ConnectResult> {
  const checks: Check[] = [];
  const done = () => ({ ok: checks.every((c) => c.ok), checks: checks.map((c) => ({ ...c, message: adviceFor(c.message, source) })) });
  if (!credential) {
    checks.push({ name: "token", ok: false, code: "AADSTS7000218", message: "No client secret is stored for this source. Set one with `rollcall sources update NAME --client-secret-env VAR`." });
    return done();
  }
  const { tokens, graph } = graphOf(config, credential, fetch);
  let token: string;
  try {
    token = await tokens.token({ refresh: true });
    checks.push({ name: "token", ok: true, code: null, message: `Signed in to tenant ${config.tenantId} as application ${config.clientId}` });
  } catch (error) {
    const e = error instanceof RollcallError ? error : new RollcallError("source_unreachable", (error as Error).message);
    checks.push({ name: "token", ok: false, code: (e.details.aadsts as string | null) ?? e.code, message: e.message });
    return done();
  }

  const roles = await rolesOf(token);
  if (roles !== undefined && roles.length === 0) {
    checks.push({
      name: "admin_consent",
      ok: false,
      code: "no_admin_consent",
      message: "The application has no consented application permissions in this tenant. In App registrations > API permissions, add Microsoft Graph application permissions User.Read.All" + (needsGroups(config) ? " and Group.Read.All" : "") + ", then click \"Grant admin consent\".",
    });
  }

  // The sync's own $select: a property Graph does not have fails here, not on the first run.
  const select = userSelect(config).join(",");
  const users = await probe(graph, "users", `/users?$top=1&$select=${select}`, "User.Read.All", config);
  checks.push(users);
  // A sync reads users through delta, which refuses some properties a listing serves (signInActivity). `$deltatoken=latest`
  // validates the $select and answers a deltaLink without data ("Return the latest delta link" in
  // https://learn.microsoft.com/graph/delta-query-overview#optional-query-parameters): cheap whatever the tenant's size.
  if (users.ok) checks.push(await deltaProbe(graph, select, config));
  if (needsGroups(config)) checks.push(await probe(graph, "groups", "/groups?$top=1&$select=id", "Group.Read.All"));
  const named = namedGroups(config);
  if (named.length && checks.every((c) => c.ok)) checks.push(await findGroups(graph, named, config));
  return done();
}

/** A Graph client for an admin's request (a connect test, a group search, a mapping tried): a fresh token, few retries. */
export function graphOf(config: EntraConfig, credential: Credential, fetch: HttpFetch): { tokens: TokenProvider; graph: GraphClient } {
  const { loginUrl, graphUrl } = endpoints(config);
  const tokens = createTokenProvider({ loginUrl, graphUrl, tenantId: config.tenantId, clientId: config.clientId, credential, fetch });
  return { tokens, graph: new GraphClient({ graphUrl, tokens, fetch, retry: { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 5000 } }) };
}

/** The tenant's groups whose name starts with `text`, for an admin choosing which to name (the console's group picker). */
export async function findDirectoryGroups(config: EntraConfig, credential: Credential | null, fetch: HttpFetch, text: string, source?: AdvisedSource): Promise<DirectoryGroup[]> {
  if (!credential) throw new RollcallError("source_auth_failed", "No client secret is stored for this source: set one before searching its groups.", { aadsts: "AADSTS7000218" });
  try {
    return await searchGroups(graphOf(config, credential, fetch).graph, text);
  } catch (error) {
    const failure = graphFailure(error, "list groups");
    throw new RollcallError(failure.code, adviceFor(failure.message, source), failure.details, { cause: error });
  }
}

/** Whether each named group exists, as the sync matches them: an object ID, or a display name without case. */
async function findGroups(graph: GraphClient, names: string[], config: EntraConfig): Promise<Check> {
  const missing: string[] = [];
  try {
    for (const name of names) if (!(await groupExists(graph, name))) missing.push(name);
  } catch (error) {
    return failedCheck("scope", error);
  }
  if (!missing.length) return { name: "scope", ok: true, code: null, message: `Found the groups the source names: ${names.join(", ")}` };
  const gone = new Set(missing.map((m) => m.toLowerCase()));
  const lacks = (list: string[]) => list.some((g) => gone.has(g.toLowerCase()));
  const lists = [...(config.users === "groups" && lacks(config.scopeGroups) ? (["scope"] as const) : []), ...(config.groupMode === "selected" && lacks(config.groups) ? (["synced"] as const) : [])];
  return { name: "scope", ok: false, code: "group_not_found", message: missingGroupsAdvice(missing, lists) };
}

async function probe(graph: GraphClient, name: "users" | "groups", path: string, permission: string, config?: EntraConfig): Promise<Check> {
  try {
    await graph.get(path);
    return { name, ok: true, code: null, message: `Can read ${name} (${permission})` };
  } catch (error) {
    if (error instanceof GraphRequestError && error.status === 403 && config && name === "users" && !/\$select=id$/.test(path)) {
      // The same listing with $select=id tells "no permission to read users" from "a selected property needs another one".
      const bare = await probe(graph, name, "/users?$top=1&$select=id", permission);
      if (bare.ok) {
        return {
          name, ok: false, code: graphCode(error),
          message: `Graph lets the application read users but refused the properties the source selects (403 ${error.code}): a property the mapping or group attribute reads needs a permission of its own (${userSelect(config).join(", ")}). Map directory properties that User.Read.All covers, or grant the permission that property's Graph documentation names, and click "Grant admin consent".`,
        };
      }
      return bare;
    }
    if (error instanceof GraphRequestError && error.status === 403) {
      return {
        name,
        ok: false,
        code: graphCode(error),
        message: `${permission} is missing: in App registrations > API permissions, add the Microsoft Graph application permission ${permission} and click "Grant admin consent" (a new grant can take a few minutes to apply).`,
      };
    }
    if (config && error instanceof GraphRequestError && error.status === 400) {
      const property = unknownPropertyIn(error.message);
      if (property) return { name, ok: false, code: graphCode(error), message: unknownPropertyAdvice(config, property) };
    }
    return failedCheck(name, error);
  }
}

/** The delta query a sync reads users through, with the sync's $select, asking for no data. */
async function deltaProbe(graph: GraphClient, select: string, config: EntraConfig): Promise<Check> {
  try {
    await graph.get(`/users/delta?$select=${select}&$deltatoken=latest`);
    return { name: "delta", ok: true, code: null, message: "Can track changes to users (delta query) with the properties the source reads" };
  } catch (error) {
    if (error instanceof GraphRequestError && error.status === 400) {
      const refused = /not supported for the following properties:\s*(.+)$/i.exec(error.message)?.[1]?.split(/\s*,\s*/).filter(Boolean);
      if (refused?.length) {
        return {
          name: "delta", ok: false, code: graphCode(error),
          message: `Graph lists users with the source's properties but its delta query, which every sync reads, refuses ${refused.join(", ")} (400 ${error.code}), so every sync would fail. ${refused.map((p) => unknownPropertyAdvice(config, p, "refused")).join(" ")}`,
        };
      }
      const property = unknownPropertyIn(error.message);
      if (property) return { name: "delta", ok: false, code: graphCode(error), message: unknownPropertyAdvice(config, property) };
    }
    return failedCheck("delta", error);
  }
}

function failedCheck(name: Check["name"], error: unknown): Check {
  if (error instanceof GraphRequestError) {
    const reference = supportReference(error.ids);
    return { name, ok: false, code: graphCode(error), message: `Graph answered ${error.status} ${error.code}: ${error.message}${reference ? ` (${reference})` : ""}` };
  }
  const e = error instanceof RollcallError ? error : new RollcallError("source_unreachable", (error as Error).message);
  return { name, ok: false, code: e.code, message: e.message };
}

/** The token's app roles when it is a readable JWT; undefined when it is opaque (then the probes decide). */
async function rolesOf(token: string): Promise<string[] | undefined> {
  const { decodeJwt } = await import("jose");
  try {
    const claims = decodeJwt(token);
    return Array.isArray(claims.roles) ? (claims.roles as string[]) : [];
  } catch {
    return undefined;
  }
}
