// The person behind a Microsoft sign-in: their user in the directory (tenant + object ID, never email; see scim-match.ts) and their account.
import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { toAccount, type Account } from "../core/accounts.ts";
import { recordChange } from "../core/change-log.ts";
import { refused, type IdentityClaims } from "./oidc.ts";
import type { SignInSource } from "./signin-sources.ts";
import { scimUserFor, type ScimMatch } from "./scim-match.ts";

/** The user of an Entra ID source by object ID (externalId), else of a SCIM source (scim-match.ts). */
async function matchUser(db: Db, sources: SignInSource[], claims: IdentityClaims): Promise<ScimMatch | null> {
  const entraIds = sources.filter((s) => s.type === "entra").map((s) => s.id);
  const synced = entraIds.length === 0 ? undefined : await db
    .selectFrom("users")
    .select(["id", "display_name", "email", "user_principal_name", "enabled"])
    .where("source_id", "in", entraIds)
    .where(sql<boolean>`lower(external_id) = ${claims.objectId}`)
    .executeTakeFirst();
  return synced ? { user: synced, linkTo: null } : scimUserFor(db, sources, claims);
}

/** The user (tid + oid → one of that tenant's sources + externalId) and their linked account, created on first sign-in. */
export async function accountFor(db: Db, sources: SignInSource[], claims: IdentityClaims): Promise<Account> {
  const source = sources[0]!;
  const match = await matchUser(db, sources, claims);
  const user = match?.user;
  const who = claims.username ?? claims.email ?? claims.objectId;
  if (!user) {
    // In the directory after all, through a source of this tenant that does not sign people in: say so, and what turns it on.
    const elsewhere = await db
      .selectFrom("users as u")
      .innerJoin("sources as s", "s.id", "u.source_id")
      .select("s.name")
      .where("u.workspace_id", "=", source.workspaceId)
      .where("s.type", "=", "entra")
      .where(sql<boolean>`lower(s.config->>'tenantId') in (${sql.join([...new Set(sources.map((s) => s.config.tenantId.toLowerCase()).concat(claims.tenantId))])})`)
      .where(sql<boolean>`lower(u.external_id) = ${claims.objectId}`)
      .orderBy("s.name")
      .executeTakeFirst();
    if (elsewhere) {
      throw refused("not_offered", `${who} is in the directory of workspace "${source.workspace}" through source "${elsewhere.name}", which does not offer sign-in with Microsoft. ` +
        `Ask an admin to turn it on (rollcall sources update ${elsewhere.name} --sign-in, or "Use for Sign in with Microsoft" in the source's settings).`, { tenantId: claims.tenantId, source: elsewhere.name });
    }
    throw refused("unknown_user", `${who} is not in the directory of workspace "${source.workspace}" (not synchronized, or removed). Ask an admin to include you in the synchronization.`, { tenantId: claims.tenantId });
  }
  if (!user.enabled) throw refused("disabled", `${who} is disabled in workspace "${source.workspace}". Ask an admin to enable you.`);
  const email = user.email ?? user.user_principal_name ?? who;
  // The account, its first role and that role's activity entry are written together or not at all.
  const row = await db.transaction().execute(async (trx) => {
    if (match?.linkTo) {
      // Matched by name: this object ID is the user's from now on; another one that got there first is refused.
      await trx.insertInto("scim_signin_links").values({ user_id: user.id, source_id: match.linkTo.sourceId, object_id: claims.objectId }).onConflict((oc) => oc.doNothing()).execute();
      const link = await trx.selectFrom("scim_signin_links").select("object_id").where("user_id", "=", user.id).executeTakeFirst();
      if (link?.object_id !== claims.objectId) {
        throw refused("name_reused", `${who} names user "${user.display_name}" of workspace "${source.workspace}", which another Microsoft account has just signed in as. Ask an admin.`, { tenantId: claims.tenantId, userId: user.id });
      }
    }
    const account = await trx
      .insertInto("accounts")
      .values({ email, display_name: user.display_name, password_hash: null, is_owner: false, user_id: user.id })
      .onConflict((oc) => oc.column("user_id").where("user_id", "is not", null).doUpdateSet({ email, display_name: user.display_name }))
      .returningAll()
      .executeTakeFirstOrThrow();
    if (account.sign_in_blocked_at) {
      throw refused("blocked", `${who} no longer has access to workspace "${source.workspace}": an admin took it away. Ask an admin of the workspace to give it back.`);
    }
    const firstVisit = await trx
      .insertInto("workspace_roles")
      .values({ account_id: account.id, workspace_id: source.workspaceId, role: "viewer" })
      .onConflict((oc) => oc.doNothing())
      .returning("role")
      .executeTakeFirst();
    if (firstVisit) {
      await recordChange(trx, {
        workspaceId: source.workspaceId, actor: email, userId: user.id, subject: email, action: "grant access",
        after: { role: "viewer", signIn: "microsoft", message: "signed in with Microsoft for the first time; every synced user who signs in is a viewer until an admin gives more" },
      });
    }
    return account;
  });
  return toAccount(row);
}
