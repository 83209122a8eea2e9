import { sql, type SqlBool } from "kysely";
import type { Db } from "../database.ts";
import type { IdentifierKind } from "../schema.ts";

/** SQL for the identifiers users hold one of in a workspace: aliases and card numbers (user_identifiers), and who holds an address. */

export async function replaceIdentifiers(db: Db, workspaceId: string, userId: string, kind: IdentifierKind, values: string[]): Promise<void> {
  await db.deleteFrom("user_identifiers").where("user_id", "=", userId).where("kind", "=", kind).execute();
  if (values.length === 0) return;
  await db
    .insertInto("user_identifiers")
    .values(values.map((value, position) => ({ workspace_id: workspaceId, kind, key: identifierKey(kind, value), value, user_id: userId, position })))
    .execute();
}

export function identifierKey(kind: IdentifierKind, value: string): string {
  return kind === "alias" ? value.toLowerCase() : value;
}

export interface Holder {
  id: string;
  displayName: string;
  email: string | null;
}

/** Who already holds an email, UPN, alias or card number in this workspace (other than `exceptUserId`). */
export async function findHolders(
  db: Db,
  workspaceId: string,
  wanted: { email?: string | null; userPrincipalName?: string | null; aliases?: string[]; cardNumbers?: string[] },
  exceptUserId: string | null,
): Promise<{ field: string; value: string; holder: Holder }[]> {
  const found: { field: string; value: string; holder: Holder }[] = [];
  const except = exceptUserId ?? "00000000-0000-0000-0000-000000000000";
  // An address is one user's, whichever role it has: another user's email must not be this one's UPN, nor the reverse
  // (Entra ID keeps them apart the same way; `users show ADDRESS` would otherwise find one of two users).
  for (const field of ["email", "userPrincipalName"] as const) {
    const value = wanted[field];
    if (!value) continue;
    const row = await db
      .selectFrom("users")
      .select(["id", "display_name", "email"])
      .where("workspace_id", "=", workspaceId)
      .where(sql<SqlBool>`(lower(email) = lower(${value}) or lower(user_principal_name) = lower(${value}))`)
      .where("id", "<>", except)
      .executeTakeFirst();
    if (row) found.push({ field, value, holder: { id: row.id, displayName: row.display_name, email: row.email } });
  }
  for (const [field, kind] of [["aliases", "alias"], ["cardNumbers", "card"]] as const) {
    const values = wanted[field];
    if (!values?.length) continue;
    const rows = await db
      .selectFrom("user_identifiers as i")
      .innerJoin("users as u", "u.id", "i.user_id")
      .select(["i.value", "u.id", "u.display_name", "u.email"])
      .where("i.workspace_id", "=", workspaceId)
      .where("i.kind", "=", kind)
      .where("i.key", "in", values.map((v) => identifierKey(kind, v)))
      .where("i.user_id", "<>", except)
      .execute();
    for (const row of rows) found.push({ field, value: row.value, holder: { id: row.id, displayName: row.display_name, email: row.email } });
  }
  return found;
}
