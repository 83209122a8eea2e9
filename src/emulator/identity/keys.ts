// Token signing keys: two RSA keys (the first signs, the second is published for rollover, as
// Microsoft's JWKS always lists several), each with an x5c certificate, x5t thumbprint = kid. They are
// kept in the data folder (signing-keys.json), as the CA is: a restarted emulator's tokens stay valid.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { rsaPrivatePem, selfSignedForKey, writeKeptFile } from "../tls.ts";

export interface SigningKey {
  kid: string;
  pem: string;
  privateKey: KeyObject;
  publicJwk: { kty: string; n: string; e: string };
  x5c: string;
}

function b64url(buf: Buffer): string {
  return buf.toString("base64url");
}

/** A key with its certificate: `der` is a kept one, or a new one is made (the kid is its thumbprint, so it is kept too). */
function makeKey(pem: string, der = selfSignedForKey(pem, "accounts.accesscontrol.windows.net").der): SigningKey {
  const privateKey = createPrivateKey(pem);
  const kid = b64url(createHash("sha1").update(der).digest());
  const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as { kty: string; n: string; e: string };
  return { kid, pem, privateKey, publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e }, x5c: der.toString("base64") };
}

function readKept(file: string): SigningKey[] {
  try {
    const kept = (JSON.parse(readFileSync(file, "utf8")) as { keys: Array<{ privateKey: string; certificate: string }> }).keys;
    if (!Array.isArray(kept) || kept.length < 2) throw new Error("fewer than two keys");
    return kept.map((k) => makeKey(k.privateKey, Buffer.from(k.certificate, "base64")));
  } catch (error) {
    throw new Error(`${file} does not hold the emulator's token signing keys (${(error as Error).message}): delete it, and the emulator makes new ones (tokens it signed before are then refused).`);
  }
}

export class SigningKeys {
  private constructor(public keys: SigningKey[], private readonly file: string) {}
  /** The keys kept in `dir`, or two new ones kept there. */
  static async load(dir: string): Promise<SigningKeys> {
    const file = join(dir, "signing-keys.json");
    if (existsSync(file)) return new SigningKeys(readKept(file), file);
    const keys = new SigningKeys((await Promise.all([rsaPrivatePem(), rsaPrivatePem()])).map((pem) => makeKey(pem)), file);
    mkdirSync(dir, { recursive: true });
    keys.keep();
    return keys;
  }
  private keep(): void {
    writeKeptFile(this.file, `${JSON.stringify({ keys: this.keys.map((k) => ({ privateKey: k.pem, certificate: k.x5c })) }, null, 2)}\n`, 0o600);
  }

  /**
   * Key rollover (https://learn.microsoft.com/entra/identity-platform/signing-key-rollover): the published key signs
   * from now on, a new one is published, and the old one stays listed a while for tokens it signed. An emergency
   * rollover signs at once with a key no one has fetched yet and drops the old one: "checks for updates every hour
   * and ... immediately if it encounters a token signed with an unknown key".
   */
  async rotate(options: { emergency?: boolean } = {}): Promise<void> {
    const fresh = makeKey(await rsaPrivatePem());
    const [active, published] = this.keys as [SigningKey, SigningKey];
    this.keys = options.emergency ? [fresh, published] : [published, fresh, active];
    this.keep();
  }
  get active(): SigningKey {
    return this.keys[0] as SigningKey;
  }
  byKid(kid: string): SigningKey | undefined {
    return this.keys.find((k) => k.kid === kid);
  }
  /** The JWKS document; `issuer` per key is the tenant's v2.0 issuer (or the {tenantid} template). */
  jwks(issuer: string): unknown {
    return {
      keys: this.keys.map((k) => ({
        kty: "RSA", use: "sig", kid: k.kid, x5t: k.kid, n: k.publicJwk.n, e: k.publicJwk.e,
        x5c: [k.x5c], cloud_instance_name: "microsoftonline.com", issuer,
      })),
    };
  }
}
