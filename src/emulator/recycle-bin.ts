// Entra's recycle bin (Deleted users, Deleted groups): a soft-deleted user or group stays in deleted items, restorable,
// for 30 days, and then Entra deletes it for good: "A recently deleted item remains available for up to 30 days. After
// 30 days, the item is permanently deleted." (https://learn.microsoft.com/graph/api/directory-deleteditems-restore)
// A purge is a permanent delete like any other: a delta round reports it `@removed: deleted`, a subscription `deleted`.
import type { Tenant } from "./tenant.ts";
import { SOFT_DELETED } from "./tenant-records.ts";

export const RETENTION_DAYS = 30;
const DAY_MS = 24 * 3600_000;

/** The soft-deleted users and groups whose 30 days are over at `now`. */
export function expiredDeletedItems(t: Tenant, now = Date.now()): { users: string[]; groups: string[] } {
  const users: string[] = [];
  const groups: string[] = [];
  for (const id of t.bin) {
    const user = t.usersById.get(id);
    const rec = user?.state === SOFT_DELETED ? user.u : t.groupsById.get(id)?.g;
    if (!rec?.deletedDateTime || now - Date.parse(String(rec.deletedDateTime)) < RETENTION_DAYS * DAY_MS) continue;
    (user?.state === SOFT_DELETED ? users : groups).push(id);
  }
  return { users, groups };
}

/** Moves every deletion in the bin `days` into the past (the emulator's clock for deleted items; tests age them so). */
export function backdateDeletedItems(t: Tenant, days: number): void {
  if (!Number.isFinite(days) || days < 0) throw new Error(`days must be a number of days, 0 or more, not ${days}`);
  for (const id of t.bin) {
    const user = t.usersById.get(id);
    const rec = user?.state === SOFT_DELETED ? user.u : t.groupsById.get(id)?.g;
    if (rec?.deletedDateTime) rec.deletedDateTime = new Date(Date.parse(String(rec.deletedDateTime)) - days * DAY_MS).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
}
