import { createHmac, timingSafeEqual } from "node:crypto";
import { RollcallError } from "../errors.ts";
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

/** How long a receiver has to answer: it should queue the work and answer at once. */
const answerWithinMs = 10_000;

/** Posts one delivery; a post the receiver did not take is a delivery_failed error saying why, and what to check. */
export async function postWebhook(fetch: HttpFetch, input: { url: string; secret: string; deliveryId: string; event: string; payload: unknown }): Promise<void> {
  const body = JSON.stringify(input.payload);
  const timestamp = Math.floor(Date.now() / 1000);
  let response: Response;
  try {
    response = await fetch(input.url, {
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
      signal: AbortSignal.timeout(answerWithinMs),
    });
  } catch (error) {
    throw unreachable(error);
  }
  await response.body?.cancel().catch(() => {});
  const failed = (message: string) => new RollcallError("delivery_failed", message, { channel: "webhook", status: response.status });
  if (response.status >= 300 && response.status < 400) {
    throw failed(`the webhook answered HTTP ${response.status}, a redirect, which Rollcall does not follow: set the webhook URL to the address it redirects to`);
  }
  if (!response.ok) throw failed(`the webhook answered HTTP ${response.status}: its receiver refused the post (the receiver's log says why)`);
}

/** A post that got no answer, in words: fetch's own "fetch failed" says nothing, its cause says what (refused, private…). */
function unreachable(error: unknown): RollcallError {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const details = { channel: "webhook", status: null };
  if ((error as Error | null)?.name === "TimeoutError") {
    return new RollcallError("delivery_failed", `the webhook did not answer within ${answerWithinMs / 1000} seconds: its receiver should answer at once and do the work afterwards`, details, { cause: error });
  }
  // The private-network refusal says already what the operator may set.
  if ((cause as NodeJS.ErrnoException | undefined)?.code === "EPRIVATENETWORK") return new RollcallError("delivery_failed", (cause as Error).message, details, { cause: error });
  const reason = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return new RollcallError("delivery_failed", `could not reach the webhook (${reason}): check the webhook URL, and that its receiver is up`, details, { cause: error });
}
