import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { httpFetch } from "../../src/net/http.ts";
import { createTokenProvider, parseAadsts } from "../../src/sources/entra/token.ts";
import { RollcallError } from "../../src/errors.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { testCertificate } from "../emulator/helpers.ts";

describe("the token endpoint's transient errors", () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 2, groups: 1 });
  });
  afterAll(async () => emulator?.close());
  afterEach(() => emulator.setKnobs({ tokenFaultRate: 0 }));

  const provider = (secret: string, sleeps: number[] = []) =>
    createTokenProvider({
      loginUrl: emulator.loginUrl,
      graphUrl: emulator.graphUrl,
      tenantId: emulator.tenantId,
      clientId: emulator.clientId,
      credential: { kind: "secret", secret },
      fetch: httpFetch,
      sleep: async (ms) => void sleeps.push(ms),
    });
  const tokenRequests = () => emulator.stats().requests.filter((r) => r.method === "POST" && /oauth2\/v2\.0\/token$/.test(new URL(r.url, emulator.loginUrl).pathname));

  it("retries 503 temporarily_unavailable, waiting as Retry-After says, and gets a token", async () => {
    emulator.setKnobs({ tokenFaultRate: 0.5 });
    emulator.resetStats();
    const sleeps: number[] = [];
    for (let i = 0; i < 6; i++) expect(await provider(emulator.clientSecret, sleeps).token({ refresh: true })).toMatch(/^ey/);
    const statuses = tokenRequests().map((r) => r.status);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(sleeps).toHaveLength(statuses.filter((s) => s === 503).length);
    expect(new Set(sleeps)).toEqual(new Set([1000]));
  });

  it("retries an answer cut off mid-body (the connection reset after the headers) like a dropped connection", async () => {
    let calls = 0;
    const cutOnce: typeof httpFetch = async (url, init) => {
      const response = await httpFetch(url, init);
      if (++calls > 1) return response;
      const whole = new Uint8Array(await response.arrayBuffer());
      // What undici gives when the socket closes part-way through the body: the bytes so far, then TypeError("terminated").
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(whole.subarray(0, 20));
          controller.error(new TypeError("terminated"));
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const sleeps: number[] = [];
    const tokens = createTokenProvider({ loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, tenantId: emulator.tenantId, clientId: emulator.clientId, credential: { kind: "secret", secret: emulator.clientSecret }, fetch: cutOnce, sleep: async (ms) => void sleeps.push(ms) });
    expect(await tokens.token()).toMatch(/^ey/);
    expect([calls, sleeps.length]).toEqual([2, 1]);
  });

  it("gives up after a few attempts with the identity platform's error", async () => {
    emulator.setKnobs({ tokenFaultRate: 1 });
    emulator.resetStats();
    const error = await provider(emulator.clientSecret).token().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RollcallError);
    expect((error as RollcallError).message).toContain("HTTP 503, temporarily_unavailable");
    // An outage, not a refusal of the credentials.
    expect((error as RollcallError).code).toBe("source_unreachable");
    expect((error as RollcallError).message).toContain("the credentials were not refused");
    // The platform's own sentence ends with a full stop: one, not two.
    expect((error as RollcallError).message).toContain("Please try again. The identity platform is busy or unavailable (after 4 attempts)");
    expect(tokenRequests()).toHaveLength(4);
  });

  it("reports a wrong secret at once, without retrying", async () => {
    emulator.resetStats();
    const sleeps: number[] = [];
    const error = await provider("wrong", sleeps).token().catch((e: unknown) => e);
    expect((error as RollcallError).details.aadsts).toBe("AADSTS7000215");
    expect(tokenRequests()).toHaveLength(1);
    expect(sleeps).toEqual([]);
    // The ids Microsoft support asks for, from the error's JSON fields.
    expect((error as RollcallError).details).toMatchObject({ traceId: expect.stringMatching(/^[0-9a-f-]{36}$/), correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/), timestamp: expect.any(String) });
  });

  it("says this server's clock is off when Microsoft refuses a certificate assertion for its time (AADSTS700024)", async () => {
    const registered = testCertificate("rollcall-clock");
    emulator.tenants.get(emulator.tenantId).addCertificate(emulator.clientId, { certificatePem: registered.certificatePem });
    const byCertificate = createTokenProvider({
      loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, tenantId: emulator.tenantId, clientId: emulator.clientId,
      credential: { kind: "certificate", ...registered }, fetch: httpFetch, sleep: async () => {},
    });
    expect(await byCertificate.token()).toMatch(/^ey/);
    // This server's clock 20 minutes behind while it signs: the assertion has expired by Microsoft's (the emulator reads new Date()).
    const now = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(now - 20 * 60_000);
    const error = await byCertificate.token({ refresh: true }).catch((e: unknown) => e).finally(() => vi.restoreAllMocks());
    expect(error).toMatchObject({ code: "source_auth_failed", details: { aadsts: "AADSTS700024", check: "client_secret" } });
    expect((error as RollcallError).message).toMatch(/^AADSTS700024: .*this server's clock is off/);
  });

  it("asks for a fresh token on every refresh", async () => {
    emulator.resetStats();
    const tokens = provider(emulator.clientSecret);
    await tokens.token({ refresh: true });
    await tokens.token({ refresh: true });
    await tokens.token();
    expect(tokenRequests()).toHaveLength(2);
  });
});

describe("parseAadsts", () => {
  const description = "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: from-text-trace\r\nCorrelation ID: from-text-correlation\r\nTimestamp: 2026-01-02 03:04:05Z";
  it("prefers the token error's JSON fields trace_id, correlation_id and timestamp to the description's lines", () => {
    const ids = { trace_id: "0f1e2d3c-0000-4000-8000-000000000001", correlation_id: "0f1e2d3c-0000-4000-8000-000000000002", timestamp: "2026-01-02 03:04:06Z" };
    expect(parseAadsts("invalid_client", description, [7000215], ids)).toEqual({
      error: "invalid_client", code: 7000215, traceId: ids.trace_id, correlationId: ids.correlation_id, timestamp: ids.timestamp,
    });
  });
  it("reads the description's lines when the fields are absent (an error sent back to a redirect URI)", () => {
    expect(parseAadsts("invalid_client", description)).toEqual({
      error: "invalid_client", code: 7000215, traceId: "from-text-trace", correlationId: "from-text-correlation", timestamp: "2026-01-02 03:04:05Z",
    });
    expect(parseAadsts("invalid_client", description, undefined, { trace_id: "", correlation_id: null })).toMatchObject({ traceId: "from-text-trace", correlationId: "from-text-correlation" });
  });
});
