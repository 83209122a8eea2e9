import type { Db, Store } from "../database.ts";
import { arrayLiteral, copyField, CopyEncoder } from "../copy-format.ts";
import type { PlannedFields } from "../../sources/entra/mapping.ts";
import { copyUserFields, userColumns } from "../user-row.ts";

/** Where a streamed first sync's rows go (sync/first-sync.ts), and who the change log names. */
export interface FirstSyncTarget {
  workspaceId: string;
  runId: string;
  sourceId: string;
  sourceName: string;
  actor: string;
}

/** A created user's row, as the staged apply would write it from its planned fields (sync/apply.ts). */
export interface CreatedUser {
  id: string;
  externalId: string;
  subject: string;
  fields: PlannedFields;
}

/** In the order addCreated writes them: the columns every user of the run shares come last, written once. */
const copiedColumns = ["id", "external_id", ...userColumns, "pin_hash", "workspace_id", "source_type", "source_name", "source_id", "tags"];
const syncedTag = arrayLiteral(["ID synced"]);

/** A groups page's memberships, as the mirror keeps them. */
export function mirroredMembers(sourceId: string, members: { groupId: string; ids: string[]; kinds: string[] }[]): Uint8Array[] {
  const encoder = new CopyEncoder();
  for (const { groupId, ids, kinds } of members) {
    for (let i = 0; i < ids.length; i++) encoder.addLine(`${sourceId}\t${copyField(groupId)}\t${copyField(ids[i]!)}\t${kinds[i]}\n`);
  }
  return encoder.take();
}

/**
 * A streamed first sync's users, encoded for COPY page by page: the mirror's users, the directory's users with
 * their cards and aliases, the created users' entries (to `created_users`, which gets their groups later), and
 * the run's conflicts and warnings. A card or alias another created user already holds is left out with a
 * warning naming the holder, as the staged apply's `on conflict do nothing` does.
 */
export class FirstSyncUsers {
  private readonly mirror = new CopyEncoder();
  private readonly users = new CopyEncoder();
  private readonly identifiers = new CopyEncoder();
  private readonly created = new CopyEncoder();
  private readonly entries = new CopyEncoder();
  /** Cards and aliases taken so far (`kind \t key`), with who took them. */
  private readonly holders = new Map<string, { id: string; label: string }>();
  private readonly userEnd: string;
  private readonly entryEnd: string;
  identifierWarnings = 0;

  constructor(private readonly target: FirstSyncTarget) {
    const { workspaceId, sourceName, sourceId, actor } = target;
    this.userEnd = `\t${[workspaceId, "entra", sourceName, sourceId, syncedTag].map(copyField).join("\t")}\n`;
    this.entryEnd = `\t${copyField(actor)}\n`;
  }

  /** A listed Graph user, as the mirror keeps it. */
  addMirrored(graphUser: Record<string, unknown>): void {
    this.mirror.addLine(`${this.target.sourceId}\t${copyField(String(graphUser.id))}\t${copyField(JSON.stringify(graphUser))}\n`);
  }

  addCreated(user: CreatedUser): void {
    const { id, fields: f } = user;
    this.users.addLine(`${id}\t${copyField(user.externalId)}\t${copyUserFields(f, JSON.stringify(f.customAttributes))}\t${copyField(f.pinHash)}${this.userEnd}`);
    const { pinHash: _hash, ...logged } = f;
    this.created.addLine(`${id}\t${copyField(user.externalId)}\t${copyField(user.subject)}\t${copyField(JSON.stringify(logged))}\n`);
    const messages = [...this.claim(user, "alias", f.aliases), ...this.claim(user, "card", f.cardNumbers)];
    if (messages.length) {
      this.identifierWarnings += messages.length;
      this.addEntry(id, user.subject, "warning", { externalId: user.externalId, messages });
    }
  }

  /** A conflict or warning of the run, on the user concerned (null: not created). */
  addEntry(userId: string | null, subject: string, action: "conflict" | "warning", after: Record<string, unknown>): void {
    const { workspaceId, runId } = this.target;
    this.entries.addLine(`${workspaceId}\t${runId}\t${copyField(userId)}\t${copyField(subject)}\t${action}\t${copyField(JSON.stringify(after))}${this.entryEnd}`);
  }

  /** Encodes the values `user` can take; returns the messages for the ones another user holds. */
  private claim(user: CreatedUser, kind: "alias" | "card", values: string[]): string[] {
    const messages: string[] = [];
    const { workspaceId } = this.target;
    values.forEach((value, position) => {
      const key = kind === "alias" ? value.toLowerCase() : value;
      const holder = this.holders.get(`${kind}\t${key}`);
      if (!holder) {
        this.holders.set(`${kind}\t${key}`, { id: user.id, label: user.fields.email ?? user.fields.userPrincipalName ?? user.fields.displayName });
        this.identifiers.addLine(`${workspaceId}\t${kind}\t${copyField(key)}\t${copyField(value)}\t${user.id}\t${position}\n`);
      } else if (holder.id !== user.id) {
        messages.push(`${kind === "alias" ? "alias" : "card number"} "${value}" is already held by user ${holder.id} (${holder.label}); left out`);
      }
    });
    return messages;
  }

  /** The mirror's rows encoded since the last take (written on the mirror's own connection). */
  takeMirrored(): Uint8Array[] {
    return this.mirror.take();
  }

  /**
   * Writes the directory's rows encoded since the last call inside `trx`, users before what refers to them.
   * Nothing else may run in the transaction meanwhile, and nothing may be added until it is done.
   */
  async write(store: Store, trx: Db): Promise<void> {
    const steps: [string, string[], CopyEncoder][] = [
      ["users", copiedColumns, this.users],
      ["user_identifiers", ["workspace_id", "kind", "key", "value", "user_id", "position"], this.identifiers],
      ["created_users", ["id", "external_id", "subject", "after"], this.created],
      ["change_log", ["workspace_id", "run_id", "user_id", "subject", "action", "after", "actor"], this.entries],
    ];
    for (const [table, columns, encoder] of steps) {
      const chunks = encoder.take();
      if (chunks.length) await store.copyInto(trx, table, columns, chunks);
    }
  }
}
