import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { retryDelayMs } from "../../src/storage/postgres-wait.ts";

describe("the pauses of `rollcall serve` waiting for its PostgreSQL server", () => {
  it("start at 1 s and double up to 10 s", () => {
    expect([0, 1, 2, 3, 4, 5, 20].map(retryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  });
});

describe("ROLLCALL_DATABASE_WAIT_SECONDS", () => {
  it("is 60 s unless set, and 0 means not waiting", () => {
    expect(loadConfig({}).databaseWaitMs).toBe(60_000);
    expect(loadConfig({ ROLLCALL_DATABASE_WAIT_SECONDS: "2.5" }).databaseWaitMs).toBe(2_500);
    expect(loadConfig({ ROLLCALL_DATABASE_WAIT_SECONDS: "0" }).databaseWaitMs).toBe(0);
  });
});
