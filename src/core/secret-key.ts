import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RollcallError } from "../errors.ts";
import type { Config } from "../config.ts";
import type { Db } from "../storage/database.ts";
import { loadSecretKey, previousKeyFile, previousSecretKeys, secretBox, type SecretBox } from "../security/encryption.ts";

/**
 * Rotating the key that encrypts stored secrets (sources' client secrets and certificates, webhook signing
 * secrets, Graph subscriptions' clientStates), without entering any of them again.
 *
 * - With ROLLCALL_SECRET_KEY (the processes sharing a PostgreSQL server): every process is given the new key as
 *   ROLLCALL_SECRET_KEY and the old one as ROLLCALL_SECRET_KEY_PREVIOUS (each opens secrets saved under either);
 *   then this seals every stored secret again with the new key, and ROLLCALL_SECRET_KEY_PREVIOUS can go.
 * - With the data folder's key (the embedded database): the old key is kept in secret.key.previous, a new one
 *   replaces secret.key, every secret is sealed again, and secret.key.previous goes. Interrupted, it is run again:
 *   secret.key.previous still opens what was not sealed again yet, and no new key is made meanwhile.
 */
export interface RotatedSecrets {
  key: "ROLLCALL_SECRET_KEY" | "secret.key";
  sources: number;
  webhooks: number;
}

export async function rotateSecretKey(config: Config, db: Db): Promise<RotatedSecrets> {
  if (config.secretKey) {
    const box = secretBox(Buffer.from(config.secretKey, "hex"), previousSecretKeys(config));
    return { key: "ROLLCALL_SECRET_KEY", ...(await sealAgain(db, box)) };
  }
  if (config.databaseUrl) {
    throw new RollcallError(
      "config_invalid",
      "DATABASE_URL is set but ROLLCALL_SECRET_KEY is not: the processes sharing the database each read the key from their own data folder, and a new key here would open nothing for them. Give every process the new key as ROLLCALL_SECRET_KEY and the current one as ROLLCALL_SECRET_KEY_PREVIOUS, then run this again",
    );
  }
  const file = join(config.dataDir, "secret.key");
  const previous = previousKeyFile(config.dataDir);
  // The old key first, so that no step below can leave a secret that no key on disk opens.
  if (!existsSync(previous)) writeFileSync(previous, loadSecretKey(config).toString("hex"), { mode: 0o600, flag: "wx" });
  if (readFileSync(previous, "utf8").trim() === loadSecretKey(config).toString("hex")) {
    writeFileSync(`${file}.next`, randomBytes(32).toString("hex"), { mode: 0o600 });
    renameSync(`${file}.next`, file);
  }
  const counts = await sealAgain(db, secretBox(loadSecretKey(config), previousSecretKeys(config)));
  rmSync(previous);
  return { key: "secret.key", ...counts };
}

/** Every stored secret, opened with any key `box` knows and sealed with its current one, in one transaction. */
async function sealAgain(db: Db, box: SecretBox): Promise<{ sources: number; webhooks: number }> {
  return db.transaction().execute(async (trx) => {
    const sources = await trx
      .selectFrom("sources")
      .innerJoin("workspaces", "workspaces.id", "sources.workspace_id")
      .select(["sources.id", "sources.secret_ciphertext as sealed", sql<string>`workspaces.name || '/' || sources.name`.as("label")])
      .where("sources.secret_ciphertext", "is not", null)
      .forUpdate()
      .execute();
    const webhooks = await trx
      .selectFrom("notification_settings")
      .innerJoin("workspaces", "workspaces.id", "notification_settings.workspace_id")
      .select(["notification_settings.workspace_id as id", "notification_settings.webhook_secret_ciphertext as sealed", "workspaces.name as label"])
      .where("notification_settings.webhook_secret_ciphertext", "is not", null)
      .forUpdate()
      .execute();
    // Sync on change: each Graph subscription's clientState (core/change-subscriptions.ts).
    const { rows: clientStates } = await sql<{ source_id: string; resource: string; sealed: string | null; label: string }>`
      select g.source_id, g.resource, g.client_state_ciphertext as sealed, w.name || '/' || s.name || ' (' || g.resource || ')' as label
      from graph_subscriptions g join sources s on s.id = g.source_id join workspaces w on w.id = s.workspace_id
      where g.client_state_ciphertext is not null for update of g`.execute(trx);
    const unreadable: string[] = [];
    const open = (row: { sealed: string | null; label: string }, what: string) => {
      try {
        return box.seal(box.open(row.sealed!));
      } catch {
        unreadable.push(`${what} ${row.label}`);
        return null;
      }
    };
    const sealedSources = sources.map((row) => ({ id: row.id, sealed: open(row, "source") }));
    const sealedWebhooks = webhooks.map((row) => ({ id: row.id, sealed: open(row, "the webhook of workspace") }));
    const sealedClientStates = clientStates.map((row) => ({ ...row, sealed: open(row, "the Graph subscription of source") }));
    if (unreadable.length) {
      throw new RollcallError(
        "config_invalid",
        `No key given opens the secret of ${unreadable.join(", ")}: nothing was changed. Give the key they were saved with as ROLLCALL_SECRET_KEY_PREVIOUS (or restore secret.key.previous), or enter those secrets again first`,
        { unreadable },
      );
    }
    for (const row of sealedSources) await trx.updateTable("sources").set({ secret_ciphertext: row.sealed }).where("id", "=", row.id).execute();
    for (const row of sealedWebhooks) await trx.updateTable("notification_settings").set({ webhook_secret_ciphertext: row.sealed }).where("workspace_id", "=", row.id).execute();
    for (const row of sealedClientStates) await sql`update graph_subscriptions set client_state_ciphertext = ${row.sealed} where source_id = ${row.source_id} and resource = ${row.resource}`.execute(trx);
    return { sources: sources.length, webhooks: webhooks.length };
  });
}
