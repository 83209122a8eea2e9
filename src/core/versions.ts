import { createHash } from "node:crypto";
import { RollcallError } from "../errors.ts";

/**
 * Optimistic concurrency (ETag / If-Match, RFC 9110 §13.1.1): a record's version is a hash of what a change to it
 * could overwrite, so a form filled in on an older version is refused (412) instead of undoing someone's change.
 */
export function versionOf(shown: unknown): string {
  return `"${createHash("sha256").update(JSON.stringify(shown)).digest("base64url").slice(0, 22)}"`;
}

/**
 * Refuses a change made on another version than `current` (null: the record is gone). `ifMatch` is the header as
 * sent: one or more versions, weak or strong, or `*`. Call it in the change's transaction, the record locked.
 */
export function assertIfMatch(ifMatch: string | undefined, current: string | null, what: string): void {
  if (ifMatch === undefined) return;
  const versions = ifMatch.split(",").map((v) => v.trim().replace(/^W\//, ""));
  if (current !== null && (versions.includes("*") || versions.includes(current))) return;
  throw new RollcallError(
    "precondition_failed",
    `The ${what} was changed since you read it (If-Match names an older version): read it again, and make your change on what it is now`,
    { current },
  );
}
