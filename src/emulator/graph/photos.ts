// A user's profile photo: GET /users/{id}/photo (metadata of the largest size), /photo/$value (its JPEG bytes),
// /photos (the sizes available), /photos/{size} and /photos/{size}/$value; the same under /me for a delegated token.
// https://learn.microsoft.com/graph/api/profilephoto-get
import type { TenantEntry } from "../handle.ts";
import { PHOTO_SIZES, photoBytes, type UserPhoto } from "../photos.ts";
import type { Caller } from "./auth.ts";
import { badRequest, denied, GraphHttpError, notFound } from "./errors.ts";
import type { GraphReq } from "./query.ts";

type Body = Record<string, unknown>;

/**
 * Graph's answer for a user without a photo, or a size larger than the one uploaded (seen on the wire, e.g.
 * microsoftgraph/msgraph-sdk-dotnet-core#851; the page says only "If no photo exists, the operation returns 404 Not Found").
 */
const imageNotFound = (): GraphHttpError =>
  new GraphHttpError(404, "ImageNotFound", "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.");

// Application: User.Read.All or User.ReadWrite.All; delegated: User.Read for one's own, User.ReadBasic.All and up for
// anyone's (profilephoto-get#permissions). ProfilePhoto.Read.All reads "all profile photos of users and groups"
// (https://learn.microsoft.com/graph/permissions-reference#profilephotoreadall).
const ANY_PHOTO = ["User.Read.All", "User.ReadWrite.All", "ProfilePhoto.Read.All", "ProfilePhoto.ReadWrite.All"];
const ANY_PHOTO_DELEGATED = [...ANY_PHOTO, "User.ReadBasic.All"];
const OWN_PHOTO = ["User.Read", "User.ReadWrite"];

function requirePhotoPermission(c: Caller, userId: string): void {
  const has = (list: string[]) => list.some((p) => c.permissions.has(p));
  const ok = c.kind === "app" ? has(ANY_PHOTO) : has(ANY_PHOTO_DELEGATED) || (c.userId === userId && has(OWN_PHOTO));
  if (!ok) throw denied();
}

export type PhotoAnswer = { body: Body } | { binary: Buffer; headers: Record<string, string> };

/** `rest`: the segments after the user (`photo`, `photo/$value`, `photos`, `photos/{size}`, `photos/{size}/$value`). */
export function photoRoute(req: GraphReq, e: TenantEntry, c: Caller, userKey: string, rest: string[], viaMe: boolean): PhotoAnswer {
  const rec = e.tenant.userRec(decodeURIComponent(userKey));
  if (!rec) throw notFound(userKey);
  requirePhotoPermission(c, rec.u.id);
  const [kind, size, value] = rest.map((s) => decodeURIComponent(s));
  const base = viaMe ? "me" : `users('${rec.u.id}')`;
  const context = (suffix: string) => `${req.origin}/v1.0/$metadata#${base}/${suffix}`;
  const photo = e.tenant.photos.get(rec.u.id);
  if (kind === "photos" && size === undefined) {
    if (!photo) throw imageNotFound();
    return { body: { "@odata.context": context("photos"), value: sizesOf(photo).map((px) => meta(photo, px)) } };
  }
  let px: number;
  let rawValue: string | undefined;
  if (kind === "photo") {
    if (rest.length > 2 || (size !== undefined && size !== "$value")) throw badRequest(`Resource not found for the segment '${size}'.`, "BadRequest");
    if (!photo) throw imageNotFound();
    px = photo.px;
    rawValue = size;
  } else {
    if (rest.length > 3 || (value !== undefined && value !== "$value")) throw badRequest(`Resource not found for the segment '${value}'.`, "BadRequest");
    const m = /^(\d+)[xX](\d+)$/.exec(size ?? "");
    if (!photo || !m || m[1] !== m[2] || !sizesOf(photo).includes(Number(m[1]))) throw imageNotFound();
    px = Number(m[1]);
    rawValue = value;
  }
  if (rawValue === "$value") return { binary: photoBytes(photo, px), headers: { "content-type": "image/jpeg", etag: photo.etag } };
  return { body: { "@odata.context": context(kind === "photo" ? "photo/$entity" : "photos/$entity"), ...meta(photo, px) } };
}

/** The documented sizes up to the photo's own, and its own when it is none of them ("any dimension" in Entra ID). */
function sizesOf(photo: UserPhoto): number[] {
  const sizes: number[] = PHOTO_SIZES.filter((s) => s <= photo.px);
  if (!sizes.includes(photo.px)) sizes.push(photo.px);
  return sizes;
}

function meta(photo: UserPhoto, px: number): Body {
  return { "@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": photo.etag, id: `${px}x${px}`, height: px, width: px };
}
