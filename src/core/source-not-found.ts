// What a source name that names no source is answered: which sources the workspace has, or that it is a SCIM source.
import { sql } from "kysely";
import { RollcallError } from "../errors.ts";
import type { WorkspaceContext } from "./context.ts";

export async function entraSourceNames(ctx: Pick<WorkspaceContext, "db" | "workspace">): Promise<string[]> {
  return sourceNames(ctx, "entra");
}

async function sourceNames(ctx: Pick<WorkspaceContext, "db" | "workspace">, type: "entra" | "scim"): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from sources where workspace_id = ${ctx.workspace.id} and type = ${type} order by lower(name)`.execute(ctx.db);
  return rows.map((r) => r.name);
}

/** A misspelt source name (`rollcall sync crop`, `runs list --source crop`) says which sources the workspace has. */
export function unknownSourceMessage(ctx: Pick<WorkspaceContext, "workspace">, key: string, names: string[]): string {
  const has = names.length ? `its Entra ID sources are ${names.map((n) => `"${n}"`).join(", ")}` : "it has no Entra ID sources (add one with `rollcall sources add entra`)";
  return `no Entra ID source is named "${key}" in workspace "${ctx.workspace.name}"; ${has}`;
}

/** No Entra ID source has `key`: a SCIM source's name says so (nothing to sync: Entra ID pushes it), else the Entra ID sources are listed. */
export async function unknownSource(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<RollcallError> {
  const { rows } = await sql<{ name: string }>`select name from sources where workspace_id = ${ctx.workspace.id} and type = 'scim' and (lower(name) = lower(${key}) or id::text = ${key})`.execute(ctx.db);
  const scim = rows[0]?.name;
  if (scim !== undefined) return new RollcallError("not_found", `"${scim}" is a SCIM source: Entra ID's provisioning service pushes it; there is nothing to sync`, { resource: "source", key, type: "scim" });
  return new RollcallError("not_found", unknownSourceMessage(ctx, key, await entraSourceNames(ctx)), { resource: "source", key });
}

/**
 * For what takes a source of either kind (show, update, remove), once no SCIM source has `key`: an Entra ID source
 * must, or the refusal names the sources of both kinds.
 */
export async function assertSourceOfEitherKind(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<void> {
  const { rows } = await sql<{ id: string }>`select id from sources where workspace_id = ${ctx.workspace.id} and type = 'entra' and (lower(name) = lower(${key}) or id::text = ${key})`.execute(ctx.db);
  if (rows.length) return;
  const [entra, scim] = [await sourceNames(ctx, "entra"), await sourceNames(ctx, "scim")];
  const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(", ");
  const has = entra.length || scim.length
    ? [entra.length ? `its Entra ID sources are ${quoted(entra)}` : "it has no Entra ID sources", scim.length ? `its SCIM sources are ${quoted(scim)}` : "no SCIM sources"].join(" and ")
    : "it has no sources (add one with `rollcall sources add entra` or `rollcall sources add scim --name NAME`)";
  throw new RollcallError("not_found", `no source is named "${key}" in workspace "${ctx.workspace.name}"; ${has}`, { resource: "source", key });
}
