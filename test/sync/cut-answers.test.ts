import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { GraphClient } from "../../src/sources/entra/graph.ts";
import { createTokenProvider } from "../../src/sources/entra/token.ts";
import { httpFetch } from "../../src/net/http.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * A connection can close after Graph sent the status and headers, in the middle of the body (a reset on the way):
 * the page is retried like a connection refused or dropped before the answer, not taken as the end of the listing.
 */
describe("answers cut off in the middle of the body", () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 120, groups: 2, seed: 7 });
  });
  afterAll(async () => emulator?.close());

  it("are retried: every page is listed", async () => {
    const tokens = createTokenProvider({
      loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, tenantId: emulator.tenantId, clientId: emulator.clientId,
      credential: { kind: "secret", secret: emulator.clientSecret }, fetch: httpFetch,
    });
    await tokens.token();
    const graph = new GraphClient({ graphUrl: emulator.graphUrl, tokens, fetch: httpFetch, retry: { maxAttempts: 8, baseDelayMs: 5, maxDelayMs: 50 } });
    emulator.setKnobs({ faultRate: 0.3 });
    emulator.resetStats();
    const ids: string[] = [];
    try {
      for await (const page of graph.pages("/users?$top=2&$select=id")) ids.push(...page.value.map((u) => String(u.id)));
    } finally {
      emulator.setKnobs({ faultRate: 0 });
    }
    expect(new Set(ids).size).toBe(120);
    const cut = emulator.stats().requests.filter((r) => r.outcome === "dropped" && r.status === 200);
    expect(cut.length).toBeGreaterThan(0);
  });
});
