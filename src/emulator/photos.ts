// Users' profile photos: the size uploaded, a colour, and the media ETag that changes with each upload. The bytes are a
// solid-colour JPEG (jpeg.ts) made when asked for. A photo is not a user property: setting or removing one changes
// nothing that users/delta or change notifications report (Graph's delta query does not track photos either).
import { createHash } from "node:crypto";
import { solidJpeg } from "./jpeg.ts";

/**
 * The sizes Microsoft 365 serves: "48x48, 64x64, 96x96, 120x120, 240x240, 360x360, 432x432, 504x504, and 648x648", each
 * available when the uploaded photo is at least that big. https://learn.microsoft.com/graph/api/profilephoto-get
 */
export const PHOTO_SIZES = [48, 64, 96, 120, 240, 360, 432, 504, 648] as const;

export interface UserPhoto {
  /** The uploaded photo's width and height (square). */
  px: number;
  rgb: [number, number, number];
  /** `"\"BA09D118\""`-like, as Graph's `@odata.mediaEtag`. */
  etag: string;
}

export interface PhotoInput {
  /** Pixels, square, 1 to 648 (the largest size Graph serves); default 240. */
  size?: number;
  /** `#rrggbb`; default one derived from the user's id. */
  color?: string;
}

let uploads = 0;

function colourOf(seed: string): [number, number, number] {
  const h = createHash("sha256").update(seed).digest();
  return [h[0]!, h[1]!, h[2]!];
}

export function makePhoto(userId: string, input: PhotoInput = {}): UserPhoto {
  const px = input.size ?? 240;
  if (!Number.isInteger(px) || px < 1 || px > 648) throw new Error("photo size must be a whole number of pixels from 1 to 648");
  let rgb: [number, number, number];
  if (input.color === undefined) rgb = colourOf(`${userId}:${uploads}`);
  else {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(input.color);
    if (!m) throw new Error(`photo color must be #rrggbb, not ${JSON.stringify(input.color)}`);
    rgb = [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
  }
  uploads++;
  const etag = createHash("sha1").update(`${userId}|${px}|${rgb.join(",")}|${uploads}`).digest("hex").slice(0, 8).toUpperCase();
  return { px, rgb, etag: `"${etag}"` };
}

/** A generated user's photo, or none: decided by the id alone, so the seeded values of everything else stay as they were. */
export function generatedPhoto(userId: string): UserPhoto | undefined {
  const roll = parseInt(userId.slice(9, 11), 16);
  if (!(roll < 102)) return undefined; // about 40% of users
  const px = [648, 504, 240, 96, 48][roll % 5]!;
  const rgb = colourOf(userId);
  return { px, rgb, etag: `"${createHash("sha1").update(userId).digest("hex").slice(0, 8).toUpperCase()}"` };
}

const cache = new Map<string, Buffer>();

/** The photo's bytes at `px` (at most its own size). Small and few distinct, so kept. */
export function photoBytes(photo: UserPhoto, px: number): Buffer {
  const key = `${px}|${photo.rgb.join(",")}`;
  let bytes = cache.get(key);
  if (!bytes) {
    bytes = solidJpeg(px, px, photo.rgb);
    if (cache.size > 2000) cache.clear();
    cache.set(key, bytes);
  }
  return bytes;
}
