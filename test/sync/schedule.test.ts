import { afterEach, describe, expect, it } from "vitest";
import { nextRunAt } from "../../src/sync/schedule.ts";
import { scheduleSchema } from "../../src/sources/entra/config.ts";

describe("a cron schedule's next run", () => {
  const processZone = process.env.TZ;
  afterEach(() => {
    if (processZone === undefined) delete process.env.TZ;
    else process.env.TZ = processZone;
  });

  it("is in UTC when the schedule names no zone, whatever the server's own zone", () => {
    for (const zone of ["UTC", "America/New_York", "Asia/Kolkata"]) {
      process.env.TZ = zone;
      expect(nextRunAt({ cron: "0 2 * * *" }, new Date("2026-12-06T12:00:00Z"))?.toISOString(), zone).toBe("2026-12-07T02:00:00.000Z");
    }
  });

  it("is in the schedule's zone, daylight saving time included", () => {
    const berlin = { cron: "0 6 * * *", timeZone: "Europe/Berlin" };
    expect(nextRunAt(berlin, new Date("2026-12-06T12:00:00Z"))?.toISOString()).toBe("2026-12-07T05:00:00.000Z"); // CET, UTC+1
    expect(nextRunAt(berlin, new Date("2027-03-27T12:00:00Z"))?.toISOString()).toBe("2027-03-28T04:00:00.000Z"); // CEST from that night, UTC+2
    expect(nextRunAt({ cron: "30 9 * * 1-5", timeZone: "America/New_York" }, new Date("2026-12-05T12:00:00Z"))?.toISOString()).toBe("2026-12-07T14:30:00.000Z"); // Saturday → Monday, EST
  });

  it("refuses a zone that is not an IANA name, saying what to give", () => {
    const parsed = scheduleSchema.safeParse({ cron: "0 6 * * *", timeZone: "CET+1" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ["timeZone"], message: '"CET+1" is not a time zone: give an IANA name such as Europe/Berlin, America/New_York or UTC' });
    expect(scheduleSchema.safeParse({ cron: "0 6 * * *", timeZone: "Europe/Berlin" }).success).toBe(true);
  });
});
