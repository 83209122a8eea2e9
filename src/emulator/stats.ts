// Request accounting: counts per endpoint and status, throttled/faulted/dropped totals, and a
// bounded ring of per-request records (Retry-Attempt header, timing) so tests can assert backoff.
import type { EmulatorStats, RequestRecord } from "./types.ts";

const RING = 20_000;

export class Stats {
  private seq = 0;
  private ring: RequestRecord[] = [];
  total = 0;
  byEndpoint: Record<string, number> = {};
  byStatus: Record<string, number> = {};
  throttled = 0;
  faulted = 0;
  dropped = 0;

  record(r: Omit<RequestRecord, "seq">): void {
    const rec: RequestRecord = { seq: ++this.seq, ...r };
    this.total++;
    this.byEndpoint[r.endpoint] = (this.byEndpoint[r.endpoint] ?? 0) + 1;
    const s = String(r.status);
    this.byStatus[s] = (this.byStatus[s] ?? 0) + 1;
    if (r.outcome === "throttled") this.throttled++;
    else if (r.outcome === "fault") this.faulted++;
    else if (r.outcome === "dropped") this.dropped++;
    this.ring.push(rec);
    if (this.ring.length > RING * 1.5) this.ring = this.ring.slice(-RING);
  }

  snapshot(): EmulatorStats {
    return {
      total: this.total, byEndpoint: { ...this.byEndpoint }, byStatus: { ...this.byStatus },
      throttled: this.throttled, faulted: this.faulted, dropped: this.dropped,
      requests: this.ring.slice(-RING),
    };
  }

  reset(): void {
    this.ring = []; this.total = 0; this.byEndpoint = {}; this.byStatus = {};
    this.throttled = 0; this.faulted = 0; this.dropped = 0;
  }
}

/** Collapse ids and tokens so endpoints group together: "GET /v1.0/groups/{id}/members". */
export function endpointKey(method: string, path: string): string {
  const p = path
    .replace(/\/v1\.0\/(users|groups)\/(?!delta\b|microsoft\.graph\.delta\b)[^/]+/g, "/v1.0/$1/{id}")
    .replace(/\/v1\.0\/directory\/deletedItems\/(?!microsoft\.graph\.)[^/]+/i, "/v1.0/directory/deletedItems/{id}")
    .replace(/^\/(?!_emulator)[^/]+\/(oauth2|v2\.0|discovery)/, "/{tenant}/$1");
  return `${method} ${p}`;
}
