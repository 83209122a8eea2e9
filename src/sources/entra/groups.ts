import type { EntraConfig } from "./config.ts";
import { GraphRequestError, type GraphClient } from "./graph.ts";
import { isGuid } from "../../domain/guid.ts";

/**
 * The groups of a tenant as a source names them: by object ID, or by display name compared without case,
 * the way a sync matches them (src/sync/scope.ts, src/sync/plan-groups.ts).
 */

/** The groups a source names: its user scope's and the groups it syncs. */
export function namedGroups(config: Pick<EntraConfig, "users" | "scopeGroups" | "groupMode" | "groups">): string[] {
  const names = [...(config.users === "groups" ? config.scopeGroups : []), ...(config.groupMode === "selected" ? config.groups : [])];
  return [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
}


/** An OData string literal: quotes doubled. */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

export async function groupExists(graph: GraphClient, name: string): Promise<boolean> {
  if (isGuid(name)) {
    try {
      await graph.get(`/groups/${name}?$select=id`);
      return true;
    } catch (error) {
      if (!(error instanceof GraphRequestError && error.status === 404)) throw error;
    }
  }
  // eq on displayName compares without case.
  const page = await graph.get(`/groups?$filter=${encodeURIComponent(`displayName eq ${literal(name)}`)}&$select=id&$top=1`);
  return Array.isArray(page.value) && page.value.length > 0;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  description: string | null;
}

/**
 * Up to `limit` groups whose display name starts with `text` (all groups when it is empty), by name. startsWith
 * on displayName needs no advanced query (ConsistencyLevel) for groups.
 * [aad-advanced-queries: group properties]
 */
export async function searchGroups(graph: GraphClient, text: string, limit = 20): Promise<DirectoryGroup[]> {
  const filter = text.trim() ? `&$filter=${encodeURIComponent(`startsWith(displayName,${literal(text.trim())})`)}` : "";
  const page = await graph.get(`/groups?$select=id,displayName,description&$top=${limit}${filter}`);
  const groups = (Array.isArray(page.value) ? page.value : []) as { id: string; displayName?: string | null; description?: string | null }[];
  return groups
    .filter((g) => g.displayName)
    .map((g) => ({ id: g.id, displayName: g.displayName!, description: g.description ?? null }))
    .sort((a, b) => a.displayName.localeCompare(b.displayName));
}

/**
 * What to do about named groups Entra ID does not have (the connect check's and a failed run's message), with the
 * flag that corrects each list naming them: the user scope's groups, the synced groups.
 */
export function missingGroupsAdvice(missing: string[], lists: ("scope" | "synced")[]): string {
  const flags = lists.map((list) => (list === "scope" ? `--scope-groups "…" for the user scope` : `--group-mode selected --groups "…" for the synced groups`));
  return `Entra ID has no group ${missing.map((n) => `"${n}"`).join(", ")} (a display name, compared without case, or an object ID). Check the name in Microsoft Entra admin center > Groups: a group renamed there no longer matches its old name here, while its object ID always does. Then correct the source's groups (rollcall sources update NAME ${flags.join(", or ")}; or the source's settings in the console).`;
}
