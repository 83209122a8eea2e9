import type { Db } from "../storage/database.ts";
import type { SecretBox } from "../security/encryption.ts";

/**
 * How many of the secrets stored in the database (sources' client secrets and certificates, webhook signing
 * secrets; a sample of `limit`) this process's key cannot open. A process started without the ROLLCALL_SECRET_KEY
 * the others use generates a key of its own, and every sync, connection test or webhook it then handles fails.
 */
export async function unreadableSecrets(db: Db, secrets: SecretBox, limit = 20): Promise<{ checked: number; unreadable: number }> {
  const sealed = [
    ...(await db.selectFrom("sources").select("secret_ciphertext as sealed").where("secret_ciphertext", "is not", null).limit(limit).execute()),
    ...(await db.selectFrom("notification_settings").select("webhook_secret_ciphertext as sealed").where("webhook_secret_ciphertext", "is not", null).limit(limit).execute()),
  ];
  let unreadable = 0;
  for (const { sealed: value } of sealed) {
    try {
      secrets.open(value!);
    } catch {
      unreadable++;
    }
  }
  return { checked: sealed.length, unreadable };
}

export function secretKeyWarning(result: { checked: number; unreadable: number }, keyFromEnv: boolean): string | undefined {
  if (result.unreadable === 0) return undefined;
  const key = keyFromEnv ? "ROLLCALL_SECRET_KEY" : "the key in the data folder (secret.key; ROLLCALL_SECRET_KEY is not set)";
  return (
    `This process's secret key cannot open ${result.unreadable} of the ${result.checked} secrets it checked in the database: they were saved with another key. ` +
    `Every process sharing a database needs the same ROLLCALL_SECRET_KEY; this one uses ${key}. ` +
    "Until then, syncs, connection tests and webhooks that need those secrets fail. If the key was changed on purpose, enter each source's client secret again."
  );
}
