// Token signing keys: two RSA keys (the first signs, the second is published for rollover, as
// Microsoft's JWKS always lists several), each with an x5c certificate, x5t thumbprint = kid.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { rsaPrivatePem, selfSignedForKey } from "../tls.ts";

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: { kty: string; n: string; e: string };
  x5c: string;
}

function b64url(buf: Buffer): string {
  return buf.toString("base64url");
}

function makeKey(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  const { der } = selfSignedForKey(pem, "accounts.accesscontrol.windows.net");
  const kid = b64url(createHash("sha1").update(der).digest());
  const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as { kty: string; n: string; e: string };
  return { kid, privateKey: createPrivateKey(pem), publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e }, x5c: der.toString("base64") };
}

export class SigningKeys {
  private constructor(public keys: SigningKey[]) {}
  static async create(): Promise<SigningKeys> {
    const pems = await Promise.all([rsaPrivatePem(), rsaPrivatePem()]);
    return new SigningKeys(pems.map(makeKey));
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
