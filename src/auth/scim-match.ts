// The user a Microsoft sign-in is among SCIM sources' users: by object ID when Rollcall knows it, else once by user principal name.
import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { isGuid } from "../domain/guid.ts";
import { refused, type IdentityClaims } from "./oidc.ts";
import type { SignInSource } from "./signin-sources.ts";

export interface SignInUser {
  id: string;
  display_name: string;
  email: string | null;
  user_principal_name: string | null;
  enabled: boolean;
}

/** A SCIM user matched by name: the sign-in links the person's object ID to it (scim_signin_links), so it is theirs from then on. */
export interface ScimMatch {
  user: SignInUser;
  linkTo: { sourceId: string } | null;
}

const userColumns = ["u.id", "u.display_name", "u.email", "u.user_principal_name", "u.enabled", "u.source_id", "u.external_id"] as const;

/** The user principal name the ID token names: the upn optional claim, else preferred_username (the UPN for a work account). */
export function upnOf(claims: IdentityClaims): string | null {
  const upn = claims.claims.upn;
  return typeof upn === "string" && upn.trim() ? upn.trim() : claims.username;
}

/**
 * Entra ID's default provisioning mapping sends externalId = mailNickname, which no token carries. A person is the
 * user whose externalId is their object ID (an admin mapped objectId to externalId), or whose object ID signed in
 * before; else the one user whose userName is their user principal name, unless another object ID signed in as it
 * (the name was given to someone new) or its externalId is another object ID. The name is mutable, so it is used once.
 */
export async function scimUserFor(db: Db, sources: SignInSource[], claims: IdentityClaims): Promise<ScimMatch | null> {
  const ids = sources.filter((s) => s.type === "scim").map((s) => s.id);
  if (ids.length === 0) return null;
  const byObjectId = await db
    .selectFrom("users as u")
    .leftJoin("scim_signin_links as l", "l.user_id", "u.id")
    .select(userColumns)
    .where("u.source_id", "in", ids)
    .where((eb) => eb.or([sql<boolean>`lower(u.external_id) = ${claims.objectId}`, eb("l.object_id", "=", claims.objectId)]))
    .orderBy(sql`lower(u.external_id) = ${claims.objectId}`, "desc")
    .executeTakeFirst();
  if (byObjectId) return { user: byObjectId, linkTo: null };

  const upn = upnOf(claims);
  if (!upn) return null;
  const named = await db
    .selectFrom("users as u")
    .leftJoin("scim_signin_links as l", "l.user_id", "u.id")
    .select([...userColumns, "l.object_id as linked_object_id"])
    .where("u.source_id", "in", ids)
    .where(sql<boolean>`lower(u.user_principal_name) = lower(${upn})`)
    .limit(2)
    .execute();
  if (named.length === 0) return null;
  const workspace = sources[0]!.workspace;
  const fix = "Mapping objectId to externalId in the enterprise application's provisioning (Attribute mappings) matches people by their object ID instead.";
  if (named.length > 1) {
    throw refused("unknown_user", `${upn} is the user principal name of more than one provisioned user of workspace "${workspace}", so Rollcall cannot tell which is you. Ask an admin: ${fix}`, { tenantId: claims.tenantId });
  }
  const user = named[0]!;
  const otherObjectId = user.linked_object_id ?? (user.external_id && isGuid(user.external_id) ? user.external_id.toLowerCase() : null);
  if (otherObjectId && otherObjectId !== claims.objectId) {
    throw refused("name_reused", `${upn} names user "${user.display_name}" of workspace "${workspace}", who is another Microsoft account (object ID ${otherObjectId}), not yours (${claims.objectId}): the name may have been given to someone new. ` +
      `Ask an admin to unlink that Microsoft account from the user in Rollcall if the user is now yours (the user's page › Unlink Microsoft account, or rollcall users unlink-microsoft), ` +
      `or to delete that user if it is no longer theirs, then to provision you again (Restart provisioning, or Provision on demand, in the enterprise application); ${fix}`, { tenantId: claims.tenantId, userId: user.id });
  }
  return { user, linkTo: { sourceId: user.source_id! } };
}
