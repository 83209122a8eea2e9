import { RollcallError } from "../../errors.ts";
import type { HttpFetch } from "../../net/http.ts";
import { isGuid } from "../../domain/guid.ts";
import { effectiveMapping, userSelect, type EntraConfig } from "./config.ts";
import { graphOf } from "./connect.ts";
import { GraphRequestError, graphFailure, type GraphClient } from "./graph.ts";
import { isGuest, mapUser, readPath, type DesiredUser } from "./mapping.ts";
import { adviceFor, type AdvisedSource } from "./advice.ts";
import type { Credential } from "./token.ts";

/**
 * "Try the mapping on one user": one Entra user read the way a sync reads it (the sync's `$select`), mapped by the
 * sync's own mapper, and whether the source's scope takes it. Nothing is stored.
 */

/** The Rollcall fields a user would get, as a user in the API has them; a PIN only as whether one would be set. */
export type TriedFields = Omit<DesiredUser, "warnings" | "pin"> & {
  /** Only when the source maps a PIN: "set" or "not set". The value is a secret and never shown. */
  pin?: "set" | "not set";
};

export interface TriedScope {
  /** Null: Graph would not say (the membership listing was refused); `reason` says why. */
  inScope: boolean | null;
  reason: string;
}

export interface EntraTry {
  /** The properties Graph gave for the sync's $select (its object ID always among them), as given, but a property mapped to the PIN. */
  graph: { id: string } & Record<string, unknown>;
  user: TriedFields;
  /** Each Rollcall field shown, and the Graph property it came from (null: none gave it). */
  origins: Record<string, string | null>;
  warnings: string[];
  scope: TriedScope;
}

/** Shown instead of the Graph property a PIN is mapped from. */
export const hiddenPin = "(hidden: mapped to the PIN)";

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * GET /users/{id | userPrincipalName}, but a UPN beginning with `$` goes in as /users('$x@y.com'): after a slash, OData
 * reads `$` as a system segment and Graph answers 400. A guest's `#EXT#` goes in as %23EXT%23.
 * https://learn.microsoft.com/graph/api/user-get
 */
export function userPath(key: string): string {
  const encoded = encodeURIComponent(key);
  return key.startsWith("$") ? `/users(${literal(`$${encoded.slice("%24".length)}`)})` : `/users/${encoded}`;
}

/**
 * The user by object ID or userPrincipalName; an address that is no one's UPN is looked up as a `mail` too, which
 * admins often type. Undefined when Graph has no such user.
 */
async function findUser(graph: GraphClient, key: string, select: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { "@odata.context": _context, ...user } = await graph.get(`${userPath(key)}?$select=${select}`);
    return user;
  } catch (error) {
    if (!(error instanceof GraphRequestError && error.status === 404)) throw error;
  }
  if (isGuid(key) || !key.includes("@")) return undefined;
  const page = await graph.get(`/users?$filter=${encodeURIComponent(`mail eq ${literal(key)}`)}&$select=${select}&$top=2`);
  const found = Array.isArray(page.value) ? (page.value as Record<string, unknown>[]) : [];
  return found.length === 1 ? found[0] : undefined;
}

/**
 * Whether the source's scope takes the user: guests only when it includes them; with users = groups, a transitive
 * member of a scope group (by object ID or display name without case, as a sync matches them), read from
 * GET /users/{id}/transitiveMemberOf/microsoft.graph.group: one or two requests for nearly anyone (999 groups a page).
 * The groups' names need a group permission, which a source scoped by groups has (it reads their members).
 * https://learn.microsoft.com/graph/api/user-list-transitivememberof
 */
async function scopeOf(graph: GraphClient, config: EntraConfig, graphUser: Record<string, unknown>): Promise<TriedScope> {
  if (isGuest(graphUser) && !config.includeGuests) {
    return { inScope: false, reason: "a guest (userType Guest), and this source leaves guests out: include guests in its settings (--include-guests) to sync them" };
  }
  if (config.users === "all") return { inScope: true, reason: `this source syncs all ${isGuest(graphUser) ? "users, guests included" : "users"}` };
  const wanted = new Set(config.scopeGroups.map((g) => g.toLowerCase()));
  const matched: string[] = [];
  let nameless = 0;
  try {
    for await (const page of graph.pages(`/users/${encodeURIComponent(String(graphUser.id))}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999`)) {
      for (const group of page.value) {
        const name = typeof group.displayName === "string" ? group.displayName : "";
        if (!name) nameless++;
        if (wanted.has(String(group.id).toLowerCase()) || wanted.has(name.toLowerCase())) matched.push(name || String(group.id));
      }
    }
  } catch (error) {
    if (!(error instanceof GraphRequestError && error.status === 403)) throw error;
    return { inScope: null, reason: `Graph refused to list the user's groups (403 ${error.code}), so whether it is a member of ${config.scopeGroups.join(", ")} is not known here; a sync reads the groups' members instead` };
  }
  // Without a group permission Graph still lists the groups, "with limited information": ids, names null
  // (https://learn.microsoft.com/graph/api/user-list-transitivememberof). Groups named in the scope cannot be told then.
  if (!matched.length && nameless && config.scopeGroups.some((g) => !isGuid(g))) {
    return { inScope: null, reason: `Graph listed the user's groups without their names (the app has no group permission: add Group.Read.All or GroupMember.Read.All), so whether it is a member of ${config.scopeGroups.join(", ")} is not known here; a sync reads the groups' members instead` };
  }
  return matched.length
    ? { inScope: true, reason: `a member (directly or through nested groups) of ${matched.join(", ")}` }
    : { inScope: false, reason: `not a member, directly or through nested groups, of any of the source's groups (${config.scopeGroups.join(", ")})` };
}

/** What a sync of `config` would make of the Entra user `key` (object ID, userPrincipalName, or mail). */
export async function tryEntraUser(config: EntraConfig, credential: Credential | null, fetch: HttpFetch, key: string, source?: AdvisedSource): Promise<EntraTry> {
  if (!credential) {
    throw new RollcallError("source_auth_failed", adviceFor("No client secret is stored for this source. Set one with `rollcall sources update NAME --client-secret-env VAR`.", source), { aadsts: "AADSTS7000218" });
  }
  const { graph } = graphOf(config, credential, fetch);
  try {
    const graphUser = await findUser(graph, key, userSelect(config).join(","));
    if (!graphUser) {
      throw new RollcallError("not_found", `Entra ID has no user "${key}" in tenant ${config.tenantId}: give a user principal name (ada@contoso.com), an email the user has as mail, or an object ID`, { resource: "entra user", key });
    }
    return { ...describeMapping(graphUser, config), scope: await scopeOf(graph, config, graphUser) };
  } catch (error) {
    // Token and permission failures in the connect test's words, with the command to run for this source.
    const failure = graphFailure(error, "read the user", config);
    const message = adviceFor(failure.message, source);
    throw message === failure.message ? failure : new RollcallError(failure.code, message, failure.details, { cause: error });
  }
}

/** The mapped user, where each field came from, and Graph's properties with the PIN's hidden. Pure. */
export function describeMapping(graphUser: Record<string, unknown>, config: Pick<EntraConfig, "mapping" | "country">): Omit<EntraTry, "scope"> {
  const { warnings, pin, ...fields } = mapUser(graphUser, config);
  const mapping = effectiveMapping(config);
  const user: TriedFields = { ...fields, ...(mapping.pin !== undefined && { pin: pin ? "set" : "not set" }) };
  const origins: Record<string, string | null> = { externalId: "id" };
  for (const [field, path] of Object.entries(mapping)) {
    if (field.startsWith("custom:")) origins[`customAttributes.${field.slice("custom:".length)}`] = path;
    else origins[field] = path;
  }
  origins.email = emailOrigin(graphUser, config, user.email);
  if (mapping.pin) hidePinElsewhere(user, origins, warnings, mapping.pin, readPath(graphUser, mapping.pin));
  return { graph: { ...withoutPin(graphUser, mapping.pin), id: user.externalId }, user, origins, warnings };
}

/**
 * A field reading the PIN's property shows the PIN: hidden here too, with a warning, since a sync would store it in
 * plain text there; and a warning quoting a value (a bad email or phone read from it) does not quote the PIN.
 */
function hidePinElsewhere(user: TriedFields, origins: Record<string, string | null>, warnings: string[], pinPath: string, raw: unknown): void {
  const secret = raw === null || raw === undefined ? "" : String(Array.isArray(raw) ? raw[0] ?? "" : raw).trim();
  if (secret) warnings.forEach((w, i) => (warnings[i] = w.replaceAll(secret, hiddenPin)));
  const fields = user as unknown as Record<string, unknown>;
  for (const [field, path] of Object.entries(origins)) {
    if (field === "pin" || path !== pinPath) continue;
    const custom = field.startsWith("customAttributes.") ? field.slice("customAttributes.".length) : undefined;
    if (custom !== undefined && custom in user.customAttributes) user.customAttributes[custom] = hiddenPin;
    else if (Array.isArray(fields[field]) && (fields[field] as unknown[]).length) fields[field] = [hiddenPin];
    else if (typeof fields[field] === "string") fields[field] = hiddenPin;
    warnings.push(`${field}: reads ${pinPath}, which the PIN is mapped from too, so a sync would store the PIN in plain text in ${field}: map the PIN from a property no other field reads`);
  }
}

/** The property a default email came from: mail, else the userPrincipalName, else (a guest's) otherMails. */
function emailOrigin(graphUser: Record<string, unknown>, config: Pick<EntraConfig, "mapping">, email: string | null): string | null {
  if (config.mapping.email) return config.mapping.email;
  if (!email) return null;
  if (String(graphUser.mail ?? "").trim() === email) return "mail";
  return String(graphUser.userPrincipalName ?? "").trim() === email ? "userPrincipalName" : "otherMails";
}

function withoutPin(graphUser: Record<string, unknown>, pinPath: string | undefined): Record<string, unknown> {
  if (!pinPath || readPath(graphUser, pinPath) === null) return graphUser;
  const [parent, child] = pinPath.split(".") as [string, string | undefined];
  if (child === undefined) return { ...graphUser, [parent]: hiddenPin };
  return { ...graphUser, [parent]: { ...(graphUser[parent] as Record<string, unknown>), [child]: hiddenPin } };
}
