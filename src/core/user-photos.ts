// Users' profile photos (migration 052): one image per user, JPEG or PNG up to 256 KiB. An Entra ID source that syncs
// photos owns its users' (sync/photos.ts); any other user's (a source's that does not) is uploaded and removed here. History records that the
// photo changed, never the bytes.
import { createHash } from "node:crypto";
import { sql } from "kysely";
import { RollcallError } from "../errors.ts";
import type { Db } from "../storage/database.ts";
import { recordChange } from "./change-log.ts";
import type { WorkspaceContext } from "./context.ts";
import { getUser, subjectOf } from "./users.ts";
import type { User } from "../domain/user.ts";

export const photoMaxBytes = 256 * 1024;
export type PhotoType = "image/jpeg" | "image/png";

export interface StoredPhoto {
  contentType: PhotoType;
  bytes: Buffer;
  /** For HTTP: a hash of the bytes, quoted. */
  etag: string;
  /** Graph's @odata.mediaEtag, for a photo synced from Entra ID. */
  mediaEtag: string | null;
}

/** The image type the bytes are (by their signature, not a name or a header anyone can set), or why they are refused. */
export function photoType(bytes: Uint8Array): PhotoType {
  if (bytes.length === 0) throw new RollcallError("invalid_input", "The photo is empty: send a JPEG or PNG image");
  if (bytes.length > photoMaxBytes) {
    throw new RollcallError("payload_too_large", `The photo is ${Math.ceil(bytes.length / 1024)} KiB: at most ${photoMaxBytes / 1024} KiB is kept (a 240×240 JPEG is usually under 20 KiB)`, { maxBytes: photoMaxBytes, bytes: bytes.length });
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (Buffer.from(bytes.subarray(0, 8)).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "image/png";
  throw new RollcallError("unsupported_media_type", "The photo is neither a JPEG nor a PNG image (checked by its content): convert it to one of them", { accepted: ["image/jpeg", "image/png"] });
}

export function photoEtag(bytes: Uint8Array): string {
  return `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"`;
}

export async function readPhoto(db: Db, workspaceId: string, userId: string): Promise<StoredPhoto | undefined> {
  const row = await db.selectFrom("user_photos").select(["content_type", "bytes", "media_etag"]).where("user_id", "=", userId).where("workspace_id", "=", workspaceId).executeTakeFirst();
  if (!row) return undefined;
  const bytes = Buffer.from(row.bytes);
  return { contentType: row.content_type, bytes, etag: photoEtag(bytes), mediaEtag: row.media_etag };
}

/** Writes (or removes, with null) a user's photo and records the change in their history; false when it was already so. */
export async function writePhoto(
  db: Db,
  entry: { workspaceId: string; userId: string; subject: string; actor: string; runId?: string | null },
  photo: { bytes: Uint8Array; mediaEtag?: string | null } | null,
): Promise<boolean> {
  const before = await db.selectFrom("user_photos").select(["bytes"]).where("user_id", "=", entry.userId).executeTakeFirst();
  const hadBytes = before ? Buffer.from(before.bytes) : null;
  if (photo === null) {
    if (!hadBytes) return false;
    await db.deleteFrom("user_photos").where("user_id", "=", entry.userId).execute();
  } else {
    const contentType = photoType(photo.bytes);
    const bytes = Buffer.from(photo.bytes);
    const mediaEtag = photo.mediaEtag ?? null;
    if (hadBytes?.equals(bytes)) {
      // Same picture: keep Graph's tag current (a new upload of the same bytes) without a history entry.
      await db.updateTable("user_photos").set({ media_etag: mediaEtag }).where("user_id", "=", entry.userId).execute();
      return false;
    }
    await db.insertInto("user_photos")
      .values({ user_id: entry.userId, workspace_id: entry.workspaceId, content_type: contentType, bytes, media_etag: mediaEtag })
      .onConflict((oc) => oc.column("user_id").doUpdateSet({ content_type: contentType, bytes, media_etag: mediaEtag, updated_at: sql`now()` }))
      .execute();
  }
  const describe = (bytes: Buffer | null) => (bytes ? { photo: `${Math.ceil(bytes.length / 1024)} KiB`, photoHash: photoEtag(bytes).slice(1, 12) } : { photo: null });
  await recordChange(db, {
    workspaceId: entry.workspaceId, runId: entry.runId ?? null, userId: entry.userId, subject: entry.subject, actor: entry.actor,
    action: "update photo", before: describe(hadBytes), after: describe(photo && Buffer.from(photo.bytes)),
  });
  return true;
}

/** A user's photo, for GET …/users/{id}/photo. */
export async function userPhoto(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<StoredPhoto> {
  const user = await getUser(ctx, key);
  const photo = await readPhoto(ctx.db, ctx.workspace.id, user.id);
  if (!photo) throw new RollcallError("not_found", `${subjectOf(user)} has no photo`, { resource: "photo", key });
  return photo;
}

/**
 * The Entra ID source that syncs the user's photo (its "Sync photos" option on), or null: then an admin may set or remove
 * one by hand. Turned on later, the source's next run checks every photo and replaces (or removes) a hand one.
 */
export async function photoSourceOf(db: Db, user: Pick<User, "id" | "source">): Promise<string | null> {
  if (user.source.type !== "entra") return null;
  const row = await db.selectFrom("users as u").innerJoin("sources as s", "s.id", "u.source_id")
    .select(["s.name", sql<boolean>`coalesce((s.config->>'photos')::boolean, false)`.as("photos")])
    .where("u.id", "=", user.id).executeTakeFirst();
  return row?.photos ? row.name : null;
}

async function ownPhotoUser(ctx: WorkspaceContext, key: string) {
  const user = await getUser(ctx, key);
  const source = await photoSourceOf(ctx.db, user);
  if (source !== null) {
    throw new RollcallError("conflict", `${subjectOf(user)}'s photo comes from the Entra ID source ${source}, which syncs photos: change it in Entra ID, or turn off the source's "Sync photos" option (rollcall sources update ${source} --no-photos)`, { source, option: "photos" });
  }
  return user;
}

/** Uploads a photo for a user whose source does not sync photos; answers whether it changed. */
export async function setUserPhoto(ctx: WorkspaceContext, key: string, bytes: Uint8Array): Promise<{ userId: string; contentType: PhotoType; bytes: number; changed: boolean }> {
  const contentType = photoType(bytes);
  const user = await ownPhotoUser(ctx, key);
  const changed = await ctx.db.transaction().execute((trx) => writePhoto(trx, { workspaceId: ctx.workspace.id, userId: user.id, subject: subjectOf(user), actor: ctx.actor }, { bytes }));
  return { userId: user.id, contentType, bytes: bytes.length, changed };
}

export async function removeUserPhoto(ctx: WorkspaceContext, key: string): Promise<{ userId: string }> {
  const user = await ownPhotoUser(ctx, key);
  const removed = await ctx.db.transaction().execute((trx) => writePhoto(trx, { workspaceId: ctx.workspace.id, userId: user.id, subject: subjectOf(user), actor: ctx.actor }, null));
  if (!removed) throw new RollcallError("not_found", `${subjectOf(user)} has no photo`, { resource: "photo", key });
  return { userId: user.id };
}
