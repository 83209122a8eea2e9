import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import pino from "pino";
import { droppedNotificationsLog } from "../../src/api/dropped-notifications-log.ts";

/** A flood of forged Graph deliveries logs one warning a window per reason, with the count since the previous line. */
describe("dropped Graph notifications in the log", () => {
  // The windows' timers on a clock the test moves: a real 400 ms pause against a 300 ms window can fail when a loaded
  // machine holds the process up long enough for the next window to end too.
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());
  const pause = (ms: number) => vi.advanceTimersByTimeAsync(ms);
  const capture = () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    return { logger, lines };
  };
  const counts = (lines: Array<Record<string, unknown>>) => lines.map(({ reason, deliveries, notifications }) => ({ reason, deliveries, notifications }));

  it("logs the first at once, then at most one line per window and reason, counting the deliveries dropped since the last line", async () => {
    const { logger, lines } = capture();
    const log = droppedNotificationsLog(logger, { windowMs: 300 });
    for (let i = 0; i < 50; i++) log.dropped("wrong_client_state", 2);
    log.dropped("unknown_subscription", 1);
    log.dropped("unknown_subscription", 3);
    expect(counts(lines)).toEqual([
      { reason: "wrong_client_state", deliveries: 1, notifications: 2 },
      { reason: "unknown_subscription", deliveries: 1, notifications: 1 },
    ]);
    expect(lines.every((line) => line.level === 40)).toBe(true);
    await pause(400);
    expect(counts(lines.slice(2)).sort((a, b) => String(a.reason).localeCompare(String(b.reason)))).toEqual([
      { reason: "unknown_subscription", deliveries: 1, notifications: 3 },
      { reason: "wrong_client_state", deliveries: 49, notifications: 98 },
    ]);
    // Still within the window the last line opened: counted, not logged.
    log.dropped("wrong_client_state", 1);
    expect(lines.length).toBe(4);
    await pause(400);
    expect(counts(lines.slice(4))).toEqual([{ reason: "wrong_client_state", deliveries: 1, notifications: 1 }]);
    // A window with none ends quietly; the next drop after it is logged at once.
    await pause(700);
    expect(lines.length).toBe(5);
    log.dropped("wrong_client_state", 1);
    expect(counts(lines.slice(5))).toEqual([{ reason: "wrong_client_state", deliveries: 1, notifications: 1 }]);
  });
});
