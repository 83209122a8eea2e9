import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 30, groups: 3 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });
beforeEach(() => {
  t.emu.setKnobs({ latencyMs: 0, throttleRate: 0, faultRate: 0, tokenFaultRate: 0, throttleBudget: { unitsPer10s: 0 }, retryAfterForm: "seconds", retryAfterSeconds: 1, batchLatencyMs: 0 });
  t.emu.resetStats();
});

describe("throttling", () => {
  it("a random 429 TooManyRequests with Retry-After in seconds, HTTP-date or fractional form", async () => {
    t.emu.setKnobs({ throttleRate: 1 });
    const r = await t.graph("/users?$top=1", token);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("TooManyRequests");
    expect(r.headers.get("retry-after")).toBe("1");
    t.emu.setKnobs({ retryAfterForm: "http-date" });
    const d = (await t.graph("/users?$top=1", token)).headers.get("retry-after")!;
    expect(Date.parse(d)).toBeGreaterThan(Date.now());
    expect(d).toMatch(/GMT$/);
    t.emu.setKnobs({ retryAfterForm: "fractional" });
    expect((await t.graph("/users?$top=1", token)).headers.get("retry-after")).toMatch(/^\d+(\.\d+)?$/);
    // the identity platform is not throttled by the Graph knob
    expect(await t.appToken()).toBeTruthy();
    expect(t.emu.stats().throttled).toBe(3);
  });

  it("reports each request's cost in x-ms-resource-unit (Microsoft's table)", async () => {
    const g = t.emu.tenants.get(t.emu.tenantId).listGroups()[0]!;
    const cost = async (path: string) => (await t.graph(path, token)).headers.get("x-ms-resource-unit");
    expect(await cost("/users")).toBe("2");
    expect(await cost("/users?$select=id")).toBe("1");
    expect(await cost(`/groups/${g.id}/members`)).toBe("3");
    expect(await cost(`/groups/${g.id}/transitiveMembers?$top=999`)).toBe("5");
    expect(await cost(`/groups/${g.id}/transitiveMembers?$top=5`)).toBe("4");
    expect(await cost("/users/delta")).toBe("1");
  });

  it("a spent per-(app, tenant) resource-unit budget answers 429 until the window ends", async () => {
    t.emu.setKnobs({ throttleBudget: { unitsPer10s: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await t.graph("/users?$top=1&$select=id", token)).status); // 1 unit each with $select
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const r = await t.graph("/users?$top=1&$select=id", token);
    expect(r.headers.get("x-ms-throttle-scope")).toBe(`Tenant_Application/Read/${t.emu.clientId}/${t.emu.tenantId}`);
    expect(r.headers.get("x-ms-throttle-information")).toBe("ResourceUnitLimitExceeded");
    const wait = Number(r.headers.get("retry-after"));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(10);
    // another tenant's budget is separate
    const other = t.emu.tenants.add({ users: 2, groups: 1 });
    const tok2 = await t.appToken({ tenantId: other.id, clientId: other.defaultApp.clientId, clientSecret: other.defaultApp.clientSecret });
    expect((await t.graph("/users?$top=1&$select=id", tok2)).status).toBe(200);
  });

  it("$batch items are throttled one by one, each with its own Retry-After", async () => {
    t.emu.setKnobs({ throttleRate: 0.5 });
    const requests = Array.from({ length: 20 }, (_, i) => ({ id: String(i + 1), method: "GET", url: "/users?$top=1&$select=id" }));
    let body: any;
    for (;;) { // the batch call itself may be throttled too
      const res = await t.call(`${t.emu.graphUrl}/v1.0/$batch`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ requests }) });
      if (res.status === 200) { body = await res.json(); break; }
    }
    const throttled = body.responses.filter((r: any) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(body.responses.some((r: any) => r.status === 200)).toBe(true);
    for (const r of throttled) { expect(r.headers["Retry-After"]).toBe("1"); expect(r.body.error.code).toBe("TooManyRequests"); }
  });
});

describe("faults, latency and stats", () => {
  it("503, 504, connections dropped before the answer and answers cut off mid-body, deterministically from the seed", async () => {
    t.emu.setKnobs({ faultRate: 1 });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      let res;
      try {
        res = await t.call(`${t.emu.graphUrl}/v1.0/users?$top=999`, { headers: { authorization: `Bearer ${token}` } });
      } catch {
        seen.add("dropped");
        continue;
      }
      try {
        const body = JSON.parse(await res.text());
        seen.add(String(res.status));
        if (res.status === 503) expect(body.error.code).toBe("serviceNotAvailable");
      } catch {
        seen.add(`cut ${res.status}`); // the status line and headers came, then the connection closed
      }
    }
    expect([...seen].sort()).toEqual(["503", "504", "cut 200", "dropped"]);
    const s = t.emu.stats();
    expect(s.faulted + s.dropped).toBe(30);
    expect(s.requests.some((r) => r.outcome === "dropped" && r.status === 200)).toBe(true);
  });

  it("token endpoint faults: 503 temporarily_unavailable AADSTS90033 with Retry-After", async () => {
    t.emu.setKnobs({ tokenFaultRate: 1 });
    const res = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/token`, {
      method: "POST", body: new URLSearchParams({ grant_type: "client_credentials", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, scope: "https://graph.microsoft.com/.default" }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ error: "temporarily_unavailable", error_codes: [90033] });
  });

  it("adds latency", async () => {
    t.emu.setKnobs({ latencyMs: 120 });
    const start = Date.now();
    await t.graph("/users?$top=1", token);
    expect(Date.now() - start).toBeGreaterThanOrEqual(115);
  });

  it("adds batch latency to $batch answers only; lowering a latency releases the answers already waiting", async () => {
    // Held for a minute rather than timed: an upper bound on a plain answer's time fails on a loaded machine.
    t.emu.setKnobs({ batchLatencyMs: 60_000 });
    let start = Date.now();
    await t.graph("/users?$top=1", token);
    expect(Date.now() - start).toBeLessThan(30_000);
    start = Date.now();
    let answered = false;
    const batch = t.call(`${t.emu.graphUrl}/v1.0/$batch`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ requests: [{ id: "1", method: "GET", url: "/users?$top=1" }] }) })
      .finally(() => (answered = true));
    await expect.poll(() => t.emu.stats().requests.some((r) => r.batchItem)).toBe(true); // served, its answer held
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    t.emu.setKnobs({ batchLatencyMs: 0 });
    expect((await batch).status).toBe(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(295);
    expect(Date.now() - start).toBeLessThan(30_000);
  });

  it("records Retry-Attempt, client-request-id, status and timing per request", async () => {
    t.emu.setKnobs({ throttleRate: 1 });
    await t.graph("/users?$top=1", token, { "client-request-id": "11111111-1111-4111-8111-111111111111" });
    await new Promise((r) => setTimeout(r, 30));
    t.emu.setKnobs({ throttleRate: 0 });
    await t.graph("/users?$top=1", token, { "Retry-Attempt": "1", "client-request-id": "11111111-1111-4111-8111-111111111111" });
    const s = t.emu.stats();
    expect(s.byEndpoint["GET /v1.0/users"]).toBe(2);
    const [first, second] = s.requests.filter((r) => r.endpoint === "GET /v1.0/users");
    expect(first).toMatchObject({ status: 429, outcome: "throttled", retryAfter: "1", clientRequestId: "11111111-1111-4111-8111-111111111111" });
    expect(first!.retryAttempt).toBeUndefined();
    expect(second).toMatchObject({ status: 200, retryAttempt: 1 });
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(25);
    expect(s.byStatus["429"]).toBe(1);
  });
});

describe("delta link errors", () => {
  it("deltaLinkError answers a delta link (or a page link) with the chosen status and code, through the control API too", async () => {
    const first = await t.graph("/users/delta?$select=displayName", token, { Prefer: "odata.maxpagesize=10" });
    const nextLink = first.body["@odata.nextLink"] as string;
    let page = first;
    while (page.body["@odata.nextLink"]) page = await t.graph(page.body["@odata.nextLink"], token);
    const deltaLink = page.body["@odata.deltaLink"] as string;
    const put = await t.call(`${t.emu.loginUrl}/_emulator/knobs`, {
      method: "PUT", headers: { "content-type": "application/json" },
      body: JSON.stringify({ deltaLinkError: { status: 400, code: "Directory_ExpiredPageToken", message: "The specified page token value has expired." } }),
    });
    expect(((await put.json()) as any).deltaLinkError).toMatchObject({ status: 400, code: "Directory_ExpiredPageToken" });
    const refused = await t.graph(deltaLink, token);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: "Directory_ExpiredPageToken", message: "The specified page token value has expired." });
    expect(refused.body.error.innerError["request-id"]).toBeTruthy();
    expect((await t.graph(nextLink, token)).status).toBe(200); // page links are not touched
    expect((await t.graph("/users/delta?$select=displayName", token)).status).toBe(200); // nor a new round
    expect((await t.graph("/groups/delta?$select=displayName", token)).status).toBe(200);
    t.emu.setKnobs({ deltaLinkError: { status: 404, code: "Request_ResourceNotFound", on: "nextLink", kind: "users" } });
    expect((await t.graph(nextLink, token)).status).toBe(404);
    expect((await t.graph(deltaLink, token)).status).toBe(200);
    t.emu.setKnobs({ deltaLinkError: null });
    expect((await t.graph(nextLink, token)).status).toBe(200);
  });
});
