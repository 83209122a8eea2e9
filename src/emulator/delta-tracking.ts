// What delta rounds are computed from: the change sequence numbers of each object, and what a delta token is checked
// against (the emulator process, the epoch that expiring or resetting tokens ends), with the objects a round splits up.
import { randomUUID } from "node:crypto";

/**
 * Change tracking per object: `seq` = last change of any kind, `born` = creation, `stateSeq` = last
 * delete/restore, `propSeq` = last change per property (delta tracks only the selected properties).
 */
export interface Tracked { seq: number; born: number; stateSeq: number; propSeq?: Record<string, number> }

/** `keys` changed at `seq` (the id never changes). */
export function touch(rec: Tracked, keys: string[], seq: number): void {
  const p = (rec.propSeq ??= {});
  for (const k of keys) if (k !== "id") p[k] = seq;
}

/** Properties of `sel` changed after s0, or "all" when the object is new or came back since. */
export function changedSince(rec: Tracked, s0: number, sel: readonly string[]): string[] | "all" {
  if (rec.born > s0 || rec.stateSeq > s0) return "all";
  const p = rec.propSeq;
  if (!p) return [];
  return sel.filter((k) => (p[k] ?? 0) > s0);
}

export type DeltaEndReason = "syncStateNotFound" | "resyncRequired";

/** A tenant's delta token lifecycle: a token names the instance and epoch it was cut in. */
export class DeltaTokens {
  /** Differs per process: tokens minted by an earlier emulator process answer like a tenant migration. */
  readonly instance = randomUUID().slice(0, 8);
  epoch = 1;
  /** Why each past epoch ended (used to answer stale tokens). */
  readonly endReasons = new Map<number, DeltaEndReason>();
  /** Objects delta sends as several occurrences in a round, by id: the properties of each (TenantHandle.splitInDelta). */
  readonly splits = new Map<string, string[][]>();

  /** Ends the epoch: every token issued so far answers `reason`. */
  invalidate(reason: DeltaEndReason): void {
    this.endReasons.set(this.epoch, reason);
    this.epoch++;
  }
}
