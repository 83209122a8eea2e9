import { sql } from "kysely";
import { invalidInput } from "../errors.ts";
import { entraFetch } from "../sources/entra/custom-urls.ts";
import { tryEntraUser, type EntraTry } from "../sources/entra/try-user.ts";
import type { SourceType } from "../domain/user.ts";
import type { WorkspaceContext } from "./context.ts";
import { loadSourceForSync, type SourceContext } from "./sources.ts";

/**
 * "Try the mapping on one user": what a source would make of one Entra user before any sync, and which Rollcall
 * user it would update or link. Read-only: nothing is stored, and a PIN is only said to be set.
 */
export interface TriedUser extends EntraTry {
  source: string;
  key: string;
  match: TriedMatch;
}

export interface TriedMatch {
  /** create: no Rollcall user has it; update: this source's; link: a user it would take over; conflict: one it would not. */
  action: "create" | "update" | "link" | "conflict";
  user: { id: string; displayName: string; email: string | null; source: { type: SourceType; name: string } } | null;
  message: string;
}

export async function tryUserMapping(ctx: SourceContext, sourceKey: string, userKey: string): Promise<TriedUser> {
  const key = userKey.trim();
  if (!key || key.length > 256) throw invalidInput([{ field: "user", message: "give a user principal name, email or Entra object ID (at most 256 characters)", value: userKey }]);
  const source = await loadSourceForSync(ctx, sourceKey);
  const tried = await tryEntraUser(source.config, source.credential, entraFetch(ctx), key, { name: source.name, workspace: ctx.workspace.name });
  const match = await matchOf(ctx, source, tried);
  return { source: source.name, key, ...tried, match };
}

type HolderRow = { id: string; display_name: string; email: string | null; user_principal_name: string | null; source_type: SourceType; source_name: string; source_id: string | null; external_id: string | null };

/**
 * The Rollcall user a sync would write this Entra user to, as the planner (src/sync/plan.ts) decides it in the
 * simple cases: this source's user with its object ID; else one kept from a removed source with it; else one with its
 * email or user principal name, linked when it was added by hand or imported (and the source links by email).
 */
async function matchOf(ctx: Pick<WorkspaceContext, "db" | "workspace">, source: { id: string; config: { linkByEmail: boolean } }, tried: EntraTry): Promise<TriedMatch> {
  const id = tried.user.externalId;
  const keys = [tried.user.email, tried.user.userPrincipalName].filter((k): k is string => Boolean(k)).map((k) => k.toLowerCase());
  const { rows } = await sql<HolderRow>`
    select id, display_name, email, user_principal_name, source_type, source_name, source_id, external_id from users
    where workspace_id = ${ctx.workspace.id}
      and ((external_id = ${id} and (source_id = ${source.id} or source_id is null))
        or lower(email) = any(${keys}::text[]) or lower(user_principal_name) = any(${keys}::text[]))`.execute(ctx.db);
  const summary = (r: HolderRow): TriedMatch["user"] => ({ id: r.id, displayName: r.display_name, email: r.email, source: { type: r.source_type, name: r.source_name } });
  const own = rows.find((r) => r.source_id === source.id && r.external_id === id);
  if (own) return { action: "update", user: summary(own), message: `updates ${own.display_name}, already synced from this source` };
  const kept = rows.find((r) => r.source_id === null && r.external_id === id);
  if (kept) return { action: "link", user: summary(kept), message: `takes back ${kept.display_name}, kept from a removed source with this Entra object ID` };
  const holder = rows.find((r) => [r.email, r.user_principal_name].some((k) => k && keys.includes(k.toLowerCase())));
  if (!holder) return { action: "create", user: null, message: "creates a new user: no Rollcall user has this object ID, email or user principal name" };
  const address = keys.find((k) => k === holder.email?.toLowerCase() || k === holder.user_principal_name?.toLowerCase());
  if (holder.source_type === "entra") {
    const whose = holder.source_id === source.id ? "another Entra user of this source" : `Entra ID source "${holder.source_name}"`;
    return { action: "conflict", user: summary(holder), message: `"${address}" already belongs to ${holder.display_name} of ${whose}: a sync reports a conflict and leaves that user alone` };
  }
  if (!source.config.linkByEmail) {
    return { action: "conflict", user: summary(holder), message: `"${address}" belongs to ${holder.source_type} user ${holder.display_name}, and linking by email is off for this source: a sync reports a conflict` };
  }
  return { action: "link", user: summary(holder), message: `links ${holder.display_name} (${holder.source_type === "manual" ? "added by hand" : "imported"}) by "${address}": from then on the source keeps it up to date` };
}
