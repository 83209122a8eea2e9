import { sql } from "kysely";
import type { SecretBox } from "../security/encryption.ts";
import type { HttpFetch } from "../net/http.ts";
import type { Db } from "../storage/database.ts";
import { RollcallError, invalidInput } from "../errors.ts";
import { isCountryCode } from "../domain/phone.ts";
import { recordChange } from "./change-log.ts";
import { markDirtyOutsideRun } from "../sync/dirty.ts";

export interface Workspace {
  id: string;
  name: string;
  defaultCountry: string | null;
  createdAt: string;
}

const namePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export function toWorkspace(row: { id: string; name: string; default_country: string | null; created_at: Date }): Workspace {
  return { id: row.id, name: row.name, defaultCountry: row.default_country, createdAt: new Date(row.created_at).toISOString() };
}

/** A workspace by name or id; an unknown one is a clear error that says how to create it. */
export async function resolveWorkspace(db: Db, key: string): Promise<Workspace> {
  const row = await db
    .selectFrom("workspaces")
    .selectAll()
    .where((eb) => eb.or([sql<boolean>`lower(name) = lower(${key})`, sql<boolean>`id::text = ${key}`]))
    .executeTakeFirst();
  if (!row) {
    throw new RollcallError("not_found", `Workspace "${key}" does not exist. Create it with \`rollcall workspaces add ${key}\`.`, {
      resource: "workspace",
      key,
    });
  }
  return toWorkspace(row);
}

export async function listWorkspaces(db: Db, onlyIds?: string[]): Promise<Workspace[]> {
  let query = db.selectFrom("workspaces").selectAll().orderBy(sql`lower(name)`);
  if (onlyIds) {
    if (onlyIds.length === 0) return [];
    query = query.where("id", "in", onlyIds);
  }
  return (await query.execute()).map(toWorkspace);
}

function checkCountry(country: string | null | undefined): string | null {
  if (country === undefined || country === null || country === "") return null;
  if (!isCountryCode(country)) {
    throw invalidInput([{ field: "defaultCountry", message: `"${country}" is not an ISO 3166 two-letter country code (e.g. US, GB, DE)`, value: country }]);
  }
  return country.toUpperCase();
}

export async function createWorkspace(db: Db, input: { name: string; defaultCountry?: string | null }): Promise<Workspace> {
  if (!namePattern.test(input.name)) {
    throw invalidInput([{ field: "name", message: "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", value: input.name }]);
  }
  const defaultCountry = checkCountry(input.defaultCountry);
  const existing = await db.selectFrom("workspaces").select("id").where(sql<boolean>`lower(name) = lower(${input.name})`).executeTakeFirst();
  if (existing) throw new RollcallError("conflict", `Workspace "${input.name}" already exists`, { field: "name", value: input.name });
  const row = await db.insertInto("workspaces").values({ name: input.name, default_country: defaultCountry }).returningAll().executeTakeFirstOrThrow();
  return toWorkspace(row);
}

export async function updateWorkspace(db: Db, workspace: Workspace, input: { defaultCountry?: string | null }, actor: string): Promise<Workspace> {
  const defaultCountry = input.defaultCountry === undefined ? workspace.defaultCountry : checkCountry(input.defaultCountry);
  return db.transaction().execute(async (trx) => {
    const row = await trx.updateTable("workspaces").set({ default_country: defaultCountry }).where("id", "=", workspace.id).returningAll().executeTakeFirstOrThrow();
    const updated = toWorkspace(row);
    if (updated.defaultCountry !== workspace.defaultCountry) {
      // Entra sources without a country of their own read local numbers with the workspace's: their users are planned again.
      await markDirtyOutsideRun(trx, sql`select e.source_id, e.id from entra_users e join sources s on s.id = e.source_id
        where s.workspace_id = ${workspace.id} and s.type = 'entra' and s.config->>'country' is null`);
      await recordChange(trx, { workspaceId: workspace.id, actor, subject: workspace.name, action: "update workspace", before: { defaultCountry: workspace.defaultCountry }, after: { defaultCountry: updated.defaultCountry } });
    }
    return updated;
  });
}

/** `graph`: to delete its sources' Graph subscriptions (sync on change) at Graph once it is gone; their rows go with it. */
export async function deleteWorkspace(db: Db, workspace: Workspace, graph?: { secrets: SecretBox; fetch: HttpFetch }): Promise<void> {
  if (workspace.name.toLowerCase() === "default") throw new RollcallError("invalid_input", `The "default" workspace cannot be removed`, { field: "name" });
  // Loaded here only: the Graph client is more than every command that resolves a workspace should load.
  const { deleteAtGraph, workspaceSubscriptions } = await import("./change-subscriptions.ts");
  const subscriptions = graph ? await workspaceSubscriptions(db, graph.secrets, workspace.id) : [];
  await db.deleteFrom("workspaces").where("id", "=", workspace.id).execute();
  for (const held of subscriptions) await deleteAtGraph(graph!, held.source, held.ids);
}
