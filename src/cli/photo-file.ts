import { readFile, stat } from "node:fs/promises";
import { RollcallError } from "../errors.ts";
import { photoMaxBytes } from "../core/user-photos.ts";

/** The image file a photo is set from, refused clearly when it cannot be read or is too big to be kept. */
export async function readPhotoFile(path: string): Promise<Buffer> {
  const unreadable = (reason: string) => new RollcallError("not_found", `Cannot read ${path}: ${reason}`, { resource: "file", key: path });
  const info = await stat(path).catch((error: Error) => {
    throw unreadable(error.message);
  });
  if (!info.isFile()) throw unreadable("it is not a file");
  if (info.size > photoMaxBytes) {
    throw new RollcallError("payload_too_large", `${path} is ${Math.ceil(info.size / 1024)} KiB: a photo is at most ${photoMaxBytes / 1024} KiB (a 240×240 JPEG is usually under 20 KiB)`, { maxBytes: photoMaxBytes, bytes: info.size });
  }
  return readFile(path);
}
