import type { Command } from "commander";
import { RollcallError } from "../../errors.ts";
import { confirm, directoryCommand, runOn, withConfirmation } from "../io.ts";

/**
 * `rollcall users photo USER --out FILE` saves a user's photo; `rollcall users set-photo USER FILE` uploads one for a
 * user whose source does not sync photos (`--remove` removes it).
 */
const size = (bytes: number) => (bytes >= 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${bytes} bytes`);
const kind = (contentType: string) => (contentType.includes("png") ? "PNG" : "JPEG");

export function photoCommand(): Command {
  return directoryCommand("photo", "save a user's photo (synced from Entra ID or uploaded) to a file")
    .argument("<user>", "id, email or user principal name")
    .requiredOption("--out <file>", "where to write the image (JPEG or PNG, as stored)")
    .action(async (key: string, opts) =>
      runOn(opts, (directory) => directory.users.savePhoto(key, opts.out as string), {
        human: (r) => `saved the photo of ${key} (${kind(r.contentType)}, ${size(r.bytes)}) to ${opts.out as string}`,
      }),
    );
}

export function setPhotoCommand(): Command {
  return withConfirmation(directoryCommand("set-photo", "upload a user's photo (a JPEG or PNG file, at most 256 KiB), or remove it with --remove; a user of an Entra ID source that syncs photos has theirs from Entra ID"))
    .argument("<user>", "id, email or user principal name")
    .argument("[file]", "the image file")
    .option("--remove", "remove the user's photo instead")
    .action(async (key: string, file: string | undefined, opts) =>
      runOn(opts, async (directory) => {
        if (opts.remove) {
          if (file) throw new RollcallError("invalid_input", "Give a file to set the photo, or --remove to remove it, not both");
          await confirm(opts, () => `Remove the photo of ${key}?`);
          return { ...(await directory.users.removePhoto(key)), removed: true as const };
        }
        if (!file) throw new RollcallError("invalid_input", "Give the image file: rollcall users set-photo USER FILE (or --remove)");
        return { ...(await directory.users.setPhoto(key, file)), removed: false as const };
      }, {
        human: (r) => ("contentType" in r
          ? r.changed ? `set the photo of ${key} (${kind(r.contentType)}, ${size(r.bytes)}); recorded in their history` : `${key} already had this photo; nothing changed`
          : `removed the photo of ${key}; recorded in their history`),
      }),
    );
}
