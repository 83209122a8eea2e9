import { createHmac, timingSafeEqual } from "node:crypto";
import type { HttpFetch } from "../net/http.ts";

/**
 * Signed webhooks. The receiver gets the JSON body and
 *   Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *   Rollcall-Delivery: <delivery id>  (the same on every retry of one delivery: deduplicate on it)
 * and should refuse timestamps more than 5 minutes old (replays). `verifyWebhookSignature` does both.
 */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function verifyWebhookSignature(secret: string, body: string, header: string, options: { toleranceSeconds?: number; now?: number } = {}): boolean {
  const parts = Object.fromEntries(header.split(",").map((p) => p.trim().split("=") as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split("v1=")[1]!, "hex");
  const given = Buffer.from(parts.v1, "hex");
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export async function postWebhook(fetch: HttpFetch, input: { url: string; secret: string; deliveryId: string; event: string; payload: unknown }): Promise<void> {
  const body = JSON.stringify(input.payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(input.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "Rollcall-Webhook/1",
      "rollcall-event": input.event,
      "rollcall-delivery": input.deliveryId,
      "rollcall-signature": signWebhook(input.secret, body, timestamp),
    },
    body,
    // A redirect is not followed: it could lead the signed request anywhere, into the private network included.
    redirect: "manual",
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel().catch(() => {});
  if (response.status >= 300 && response.status < 400) {
    throw new Error(`the webhook answered HTTP ${response.status}, a redirect, which Rollcall does not follow: set the webhook URL to the address it redirects to`);
  }
  if (!response.ok) throw new Error(`the webhook answered HTTP ${response.status}`);
}
