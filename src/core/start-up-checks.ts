import type { Db } from "../storage/database.ts";
import type { SecretBox } from "../security/encryption.ts";
import { entraConfigSchema } from "../sources/entra/config.ts";
import { customUrlProblems } from "../sources/entra/custom-urls.ts";

// What `rollcall serve` checks once at start-up and warns about: settings that make work fail later, silently until then.

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

export function secretKeyWarning(result: { checked: number; unreadable: number }, keyFromEnv: boolean, sharedDatabase: boolean): string | undefined {
  const key = keyFromEnv ? "ROLLCALL_SECRET_KEY" : "the key in the data folder (secret.key; ROLLCALL_SECRET_KEY is not set)";
  if (result.unreadable === 0) {
    // Each host would make a key of its own, and a secret saved through one could not be opened by the others.
    return sharedDatabase && !keyFromEnv
      ? "DATABASE_URL is set but ROLLCALL_SECRET_KEY is not: this process encrypts secrets with the key in its own data folder (secret.key). Set the same ROLLCALL_SECRET_KEY on every process sharing the database (copy that key), and keep a copy of it: the stored secrets cannot be read without it."
      : undefined;
  }
  return (
    `This process's secret key cannot open ${result.unreadable} of the ${result.checked} secrets it checked in the database: they were saved with another key. ` +
    (sharedDatabase ? `Every process sharing a database needs the same ROLLCALL_SECRET_KEY; this one uses ${key}. ` : `This process uses ${key}. `) +
    "Until then, syncs, connection tests and webhooks that need those secrets fail (scheduled syncs are left to processes that can open them). If the key was changed on purpose, enter each source's client secret again."
  );
}

/**
 * Entra ID sources, in any workspace, with a login or Graph URL other than Microsoft's (as "workspace/source"). Where
 * ROLLCALL_ENTRA_CUSTOM_URLS is off, their syncs, connection tests and sign-ins fail: after an upgrade that brought the
 * setting, or on a process started without it, nothing said so until the next run failed.
 */
export async function sourcesWithCustomUrls(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom("sources")
    .innerJoin("workspaces", "workspaces.id", "sources.workspace_id")
    .select(["workspaces.name as workspace", "sources.name as source", "sources.config"])
    .where("sources.type", "=", "entra")
    .orderBy("workspaces.name")
    .orderBy("sources.name")
    .execute();
  return rows.flatMap((row) => {
    const config = entraConfigSchema.safeParse(row.config);
    return config.success && customUrlProblems(config.data, false).length > 0 ? [`${row.workspace}/${row.source}`] : [];
  });
}

export function customUrlsWarning(sources: string[]): string | undefined {
  if (sources.length === 0) return undefined;
  const named = sources.length > 5 ? `${sources.slice(0, 5).join(", ")} and ${sources.length - 5} more` : sources.join(", ");
  return (
    `${sources.length} Entra ID source(s) use login or Graph URLs other than Microsoft's (${named}), and ROLLCALL_ENTRA_CUSTOM_URLS is not true: ` +
    "their syncs, connection tests and sign-ins fail. Set ROLLCALL_ENTRA_CUSTOM_URLS=true if those hosts are yours (the Entra emulator's), or point the sources at Microsoft's cloud."
  );
}
