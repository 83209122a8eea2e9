import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { until } from "../notifications/support.ts";
import { openHarness, type Harness } from "./harness.ts";
import { httpFetch } from "../../src/net/http.ts";
import { loadSourceForSync } from "../../src/core/sources.ts";
import { runSync } from "../../src/sync/runner.ts";
import { RollcallError } from "../../src/errors.ts";

/**
 * Ctrl-C (or a cancel) while a run waits out a Retry-After: the wait ends at once and the run fails with the
 * abort's reason, instead of sleeping out Graph's or the token endpoint's whole Retry-After first.
 */
describe.each(engines)("an aborted run does not sleep out Retry-After (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 20, groups: 2 });
    await h.addSource("corp", { groupMode: "all" });
  });
  afterEach(() => h.emulator.setKnobs({ throttleRate: 0, tokenFaultRate: 0, retryAfterSeconds: 1 }));
  afterAll(async () => h?.close());

  /** A run with the runner's default retry policies (Retry-After honoured up to 60 s for Graph, 10 s for tokens). */
  async function start(signal: AbortSignal) {
    const source = await loadSourceForSync(h.ctx, "corp");
    return runSync(h.store, { workspaceId: h.ctx.workspace.id, source, trigger: "manual" }, { fetch: httpFetch, signal });
  }
  const interrupted = () => new RollcallError("sync_failed", "Interrupted (SIGINT): the run was stopped before it finished; nothing it had not committed was applied", { interrupted: "SIGINT" });
  const isToken = (url: string) => /oauth2\/v2\.0\/token$/.test(new URL(url, h.emulator.loginUrl).pathname);

  it("ends a Graph 429 wait (Retry-After: 60) as soon as the run is aborted", { timeout: 120_000 }, async () => {
    h.emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    h.emulator.resetStats();
    const abort = new AbortController();
    const run = start(abort.signal);
    await until(() => h.emulator.stats().requests.some((r) => r.status === 429), 60_000, "a throttled Graph request");
    const aborted = Date.now();
    abort.abort(interrupted());
    const summary = await run;
    // Graph asked for 60 s; what is left is failing the run and releasing its lease.
    expect(Date.now() - aborted).toBeLessThan(30_000);
    expect(summary).toMatchObject({ status: "failed", error: { code: "sync_failed", message: expect.stringContaining("Interrupted (SIGINT)") } });
    expect(h.emulator.stats().requests.filter((r) => r.retryAttempt)).toEqual([]); // no retry was sent

    h.emulator.setKnobs({ throttleRate: 0 });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded" }); // the source is free
  });

  it("ends a token endpoint 503 wait as soon as the run is aborted", { timeout: 120_000 }, async () => {
    h.emulator.setKnobs({ tokenFaultRate: 1, retryAfterSeconds: 60 });
    h.emulator.resetStats();
    const abort = new AbortController();
    const run = start(abort.signal);
    await until(() => h.emulator.stats().requests.some((r) => isToken(r.url) && r.status === 503), 60_000, "a failed token request");
    const aborted = Date.now();
    abort.abort(interrupted());
    const summary = await run;
    // The token retry policy waits up to 10 s on Retry-After: 60; the run ended well before it would have asked again.
    expect(Date.now() - aborted).toBeLessThan(9_000);
    expect(summary).toMatchObject({ status: "failed", error: { code: "sync_failed", message: expect.stringContaining("Interrupted (SIGINT)") } });
    expect(h.emulator.stats().requests.filter((r) => isToken(r.url))).toHaveLength(1);
  });
});
