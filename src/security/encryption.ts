import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RollcallError } from "../errors.ts";

/**
 * Encrypts secrets at rest (client secrets, tokens) with AES-256-GCM. The key comes from
 * ROLLCALL_SECRET_KEY, else from `secret.key` in the data folder, created on first start with mode 0600.
 * Several processes sharing one PostgreSQL must share the key: set ROLLCALL_SECRET_KEY on each.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/**
 * `existingDatabase`: the data folder already held an embedded database when the process started. Its key is then
 * never made up: a new one would open none of the secrets stored with the lost one (a folder restored or copied
 * without `secret.key`), and the secrets entered again under it would leave the database under two keys.
 */
export function loadSecretKey(config: { secretKey: string | undefined; dataDir: string }, existingDatabase = false): Buffer {
  if (config.secretKey) return Buffer.from(config.secretKey, "hex");
  const file = join(config.dataDir, "secret.key");
  if (!existsSync(file)) {
    if (existingDatabase) {
      throw new RollcallError(
        "config_invalid",
        `${file} is missing, but ${config.dataDir} holds a database whose client secrets were encrypted with it: restore the file from your backup, or set ROLLCALL_SECRET_KEY to that key. To go on without them (each source's secret entered again), create a new key first: openssl rand -hex 32 > ${file}`,
        { file },
      );
    }
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  const text = readFileSync(file, "utf8").trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new RollcallError("config_invalid", `${file} does not hold a secret key (64 hex characters): restore it from your backup, or set ROLLCALL_SECRET_KEY to the key the stored secrets were saved with.`, { file });
  }
  return Buffer.from(text, "hex");
}

/**
 * Seals with `key`; opens with it, else with one of `previous` (during a key rotation: see core/secret-key.ts), so a
 * secret saved before the rotation still opens until it is sealed again.
 */
export function secretBox(key: Buffer, previous: Buffer[] = []): SecretBox {
  for (const k of [key, ...previous]) if (k.length !== 32) throw new RollcallError("config_invalid", "The secret key must be 32 bytes (64 hex characters)");
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), data.toString("base64url")].join(":");
    },
    open(sealed) {
      const [version, iv, tag, data] = sealed.split(":");
      if (version !== "v1" || !iv || !tag || data === undefined) throw new RollcallError("internal", "A stored secret is not in a format this version can read");
      let failure: unknown;
      for (const k of [key, ...previous]) {
        try {
          const decipher = createDecipheriv("aes-256-gcm", k, Buffer.from(iv, "base64url"));
          decipher.setAuthTag(Buffer.from(tag, "base64url"));
          return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
        } catch (error) {
          failure ??= error;
        }
      }
      throw new RollcallError(
        "config_invalid",
        "A stored secret cannot be decrypted with this secret key: ROLLCALL_SECRET_KEY (or data/secret.key) differs from the one it was saved with. Restore the original key, or enter the secret again.",
        {},
        { cause: failure },
      );
    },
  };
}

/** The key file a rotation of the data folder's key keeps the old key in until every secret is sealed again. */
export const previousKeyFile = (dataDir: string) => join(dataDir, "secret.key.previous");

/** Keys that still open secrets saved before a rotation: ROLLCALL_SECRET_KEY_PREVIOUS, or the data folder's previous key. */
export function previousSecretKeys(config: { secretKey: string | undefined; previousSecretKeys: string[]; dataDir: string }): Buffer[] {
  if (config.secretKey) return config.previousSecretKeys.map((hex) => Buffer.from(hex, "hex"));
  const file = previousKeyFile(config.dataDir);
  return existsSync(file) ? [Buffer.from(readFileSync(file, "utf8").trim(), "hex")] : [];
}
