import { createHash, randomBytes } from "node:crypto";

/** A random URL-safe value (state, nonce, PKCE verifier) of `bytes` random bytes. */
export function randomValue(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** The S256 code challenge of a PKCE verifier (RFC 7636). */
export function pkceChallenge(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}
