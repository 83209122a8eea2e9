// Latency, throttling (random rate and a per-(app, tenant) resource-unit budget per 10 s window) and
// faults (503, 504, dropped connection, answer cut off mid-body), all drawn from a seeded stream so runs are reproducible.
import { Rng } from "./rng.ts";
import type { DeltaLinkError, KnobSettings } from "./types.ts";

export type KnobDecision =
  | { kind: "throttle"; retryAfter: string }
  | { kind: "fault"; status: 503 | 504; retryAfter?: string }
  | { kind: "drop" }
  /** The answer's status line, headers and first half of its body, then the connection closes. */
  | { kind: "cut" };

export class Knobs {
  latencyMs = 0;
  batchLatencyMs = 0;
  throttleRate = 0;
  faultRate = 0;
  tokenFaultRate = 0;
  budget: number | null = null;
  retryAfterForm: NonNullable<KnobSettings["retryAfterForm"]> = "seconds";
  retryAfterSeconds = 1;
  deltaMembersPerPage = 1000;
  deltaEmptyPages = false;
  deltaLinkError: DeltaLinkError | null = null;
  private rng: Rng;
  private formTurn = 0;
  private windows = new Map<string, { start: number; used: number }>();

  constructor(seed: number) {
    this.rng = Rng.derive(seed, "knobs");
  }

  set(k: KnobSettings & { throttleBudget?: { unitsPer10s: number } | null }): void {
    if (k.latencyMs !== undefined) this.latencyMs = Math.max(0, k.latencyMs);
    if (k.batchLatencyMs !== undefined) this.batchLatencyMs = Math.max(0, k.batchLatencyMs);
    if (k.throttleRate !== undefined) this.throttleRate = clamp01(k.throttleRate);
    if (k.faultRate !== undefined) this.faultRate = clamp01(k.faultRate);
    if (k.tokenFaultRate !== undefined) this.tokenFaultRate = clamp01(k.tokenFaultRate);
    if (k.throttleBudget !== undefined) this.budget = k.throttleBudget && k.throttleBudget.unitsPer10s > 0 ? k.throttleBudget.unitsPer10s : null;
    if (k.retryAfterForm !== undefined) this.retryAfterForm = k.retryAfterForm;
    if (k.retryAfterSeconds !== undefined) this.retryAfterSeconds = Math.max(0, k.retryAfterSeconds);
    if (k.throttleBudget !== undefined) this.windows.clear();
    if (k.deltaMembersPerPage !== undefined && k.deltaMembersPerPage > 0) this.deltaMembersPerPage = k.deltaMembersPerPage;
    if (k.deltaEmptyPages !== undefined) this.deltaEmptyPages = k.deltaEmptyPages;
    if (k.deltaLinkError !== undefined) this.deltaLinkError = k.deltaLinkError && { ...k.deltaLinkError };
  }

  settings(): KnobSettings {
    return {
      deltaMembersPerPage: this.deltaMembersPerPage, deltaEmptyPages: this.deltaEmptyPages, deltaLinkError: this.deltaLinkError,
      latencyMs: this.latencyMs, batchLatencyMs: this.batchLatencyMs, throttleRate: this.throttleRate, faultRate: this.faultRate, tokenFaultRate: this.tokenFaultRate,
      throttleBudget: this.budget === null ? null : { unitsPer10s: this.budget },
      retryAfterForm: this.retryAfterForm, retryAfterSeconds: this.retryAfterSeconds,
    };
  }

  /** Random faults and throttles, decided before the request is looked at. */
  random(): KnobDecision | null {
    if (this.faultRate > 0 && this.rng.next() < this.faultRate) {
      const x = this.rng.next();
      if (x < 0.4) return { kind: "fault", status: 503, retryAfter: this.retryAfter(this.retryAfterSeconds) };
      if (x < 0.7) return { kind: "fault", status: 504 };
      return x < 0.85 ? { kind: "drop" } : { kind: "cut" };
    }
    if (this.throttleRate > 0 && this.rng.next() < this.throttleRate) {
      return { kind: "throttle", retryAfter: this.retryAfter(this.retryAfterSeconds) };
    }
    return null;
  }

  /** Whether this token request fails (transient STS error). */
  tokenFault(): boolean {
    return this.tokenFaultRate > 0 && this.rng.next() < this.tokenFaultRate;
  }

  /**
   * Spend `units` of the (app, tenant) budget. Returns a throttle decision when the window is spent,
   * and the share of the limit used (for x-ms-throttle-limit-percentage) when there is a budget.
   */
  spend(key: string, units: number, now = Date.now()): { throttle?: KnobDecision; used?: number } {
    if (this.budget === null) return {};
    let w = this.windows.get(key);
    if (!w || now - w.start >= 10_000) {
      w = { start: now, used: 0 };
      this.windows.set(key, w);
    }
    if (w.used + units > this.budget) {
      const wait = Math.max(0.001, (w.start + 10_000 - now) / 1000);
      return { throttle: { kind: "throttle", retryAfter: this.retryAfter(wait, true) }, used: (w.used + units) / this.budget };
    }
    w.used += units;
    return { used: w.used / this.budget };
  }

  private retryAfter(seconds: number, roundUp = false): string {
    let form = this.retryAfterForm;
    if (form === "mixed") form = (["seconds", "fractional", "http-date"] as const)[this.formTurn++ % 3] as typeof form;
    if (form === "fractional") return (Math.max(seconds, 0.1) * (0.5 + this.rng.next() * 0.5)).toFixed(3).replace(/\.?0+$/, "");
    if (form === "http-date") return new Date(Date.now() + Math.ceil(seconds + 1) * 1000).toUTCString();
    return String(roundUp ? Math.ceil(seconds) : Math.max(1, Math.round(seconds)));
  }
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * Resource units a Graph request costs (Microsoft's "identity and access" throttling table): GET users 2,
 * groups/{id}/members 3, groups/{id}/transitiveMembers 5, memberOf/transitiveMemberOf 2, anything else 1;
 * $select saves one, $top under 20 saves one, $expand adds one; never below 1.
 */
export function requestCost(method: string, path: string, query: URLSearchParams): number {
  let cost = 1;
  if (method === "GET") {
    if (/^\/users\/?$/.test(path)) cost = 2;
    else if (/^\/groups\/[^/]+\/members(\/|$)/.test(path)) cost = 3;
    else if (/^\/groups\/[^/]+\/transitiveMembers(\/|$)/.test(path)) cost = 5;
    else if (/^\/(me|users\/[^/]+)\/(transitiveMemberOf|memberOf)(\/|$)/.test(path)) cost = 2;
  }
  if (query.has("$select")) cost -= 1;
  const top = Number(query.get("$top"));
  if (query.has("$top") && top < 20) cost -= 1;
  if (query.has("$expand")) cost += 1;
  return Math.max(1, cost);
}
