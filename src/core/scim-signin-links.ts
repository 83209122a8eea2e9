import { sql } from "kysely";
import { RollcallError } from "../errors.ts";
import { recordChange } from "./change-log.ts";
import { translateDatabaseError, type WorkspaceContext } from "./context.ts";
import { getUser, subjectOf } from "./users.ts";

/**
 * The Microsoft account pinned to a SCIM source's user: the object ID (oid) that first signed in as them by user
 * principal name (scim_signin_links, auth/scim-match.ts). Cleared by an admin when that is no longer the person, e.g.
 * their Entra account was deleted and made again (a new object ID): sign-in is refused `name_reused` until then.
 */
export interface MicrosoftLink {
  objectId: string;
  /** The SCIM source whose sign-in pinned it. */
  source: string;
  linkedAt: string;
}

type Ctx = Pick<WorkspaceContext, "db" | "workspace">;

async function linkOf(ctx: Ctx, userId: string): Promise<MicrosoftLink | null> {
  const row = await ctx.db
    .selectFrom("scim_signin_links as l")
    .innerJoin("sources as s", "s.id", "l.source_id")
    .select(["l.object_id", "l.linked_at", "s.name"])
    .where("l.user_id", "=", userId)
    .executeTakeFirst();
  return row ? { objectId: row.object_id, source: row.name, linkedAt: new Date(row.linked_at as unknown as Date).toISOString() } : null;
}

/** The user's pinned Microsoft account (null: none, and the next sign-in by their user principal name pins one). */
export async function getMicrosoftLink(ctx: Ctx, key: string): Promise<{ userId: string; link: MicrosoftLink | null }> {
  const user = await getUser(ctx, key);
  return { userId: user.id, link: await linkOf(ctx, user.id) };
}

/**
 * Unpins the user's Microsoft account, keeping the user: the next person to sign in with Microsoft by the user's user
 * principal name is matched once more, and pinned. Recorded in the user's history with who did it.
 */
export async function unlinkMicrosoftAccount(ctx: WorkspaceContext, key: string): Promise<{ userId: string; unlinked: MicrosoftLink }> {
  const user = await getUser(ctx, key);
  return ctx.db
    .transaction()
    .execute(async (trx) => {
      const link = await linkOf({ db: trx, workspace: ctx.workspace }, user.id);
      if (!link) {
        throw new RollcallError("not_found", `user "${subjectOf(user)}" has no Microsoft account pinned: none has signed in as them by user principal name since it was last cleared (nothing to unlink)`, { resource: "microsoftLink", key });
      }
      await sql`delete from scim_signin_links where user_id = ${user.id}`.execute(trx);
      await recordChange(trx, {
        workspaceId: ctx.workspace.id, actor: ctx.actor, userId: user.id, subject: subjectOf(user), action: "update",
        before: { microsoftAccount: link.objectId },
        after: { microsoftAccount: null, message: `Microsoft account ${link.objectId} unlinked: the next person to sign in with Microsoft as ${user.userPrincipalName ?? subjectOf(user)} is linked instead` },
      });
      return { userId: user.id, unlinked: link };
    })
    .catch(translateDatabaseError);
}
