// At scale the emulator must never be the bottleneck: 100,000 users + 5,000 groups generated in a
// few seconds, and a client pages through all users (999 a page) in a few seconds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
let startMs = 0;
let startCpuMs = 0;
// Assertions use CPU time (this process: client and emulator), which other work on a shared
// two-core machine does not inflate the way it inflates wall time.
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
beforeAll(async () => {
  const t0 = Date.now();
  const c0 = process.cpuUsage();
  t = await startTestEmulator({ users: 100_000, groups: 5_000 });
  startMs = Date.now() - t0;
  startCpuMs = cpuMs(process.cpuUsage(c0));
});
afterAll(async () => { await t.stop(); });

describe("scale", () => {
  it("generates 100,000 users and 5,000 groups with about three memberships per user", () => {
    const c = t.emu.tenants.get(t.emu.tenantId).counts();
    expect(c.users).toBe(100_000);
    expect(c.groups).toBe(5_000);
    expect(c.memberships / c.users).toBeGreaterThan(2.5);
    expect(c.memberships / c.users).toBeLessThan(3.5);
    expect(startCpuMs).toBeLessThan(20_000);
  });

  it("pages through 100,000 users at 999 a page quickly", async () => {
    const token = await t.appToken();
    let url: string | undefined = `${t.emu.graphUrl}/v1.0/users?$top=999&$select=id,userPrincipalName,displayName,mail,accountEnabled,department,employeeId`;
    let n = 0;
    const t0 = Date.now();
    const c0 = process.cpuUsage();
    while (url) {
      const r = await t.graph(url, token);
      n += r.body.value.length;
      url = r.body["@odata.nextLink"];
    }
    const ms = Date.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    expect(n).toBe(100_000);
    expect(cpu).toBeLessThan(10_000);
    console.log(`scale: start ${startMs} ms (cpu ${Math.round(startCpuMs)} ms), paged 100,000 users in ${ms} ms (cpu ${Math.round(cpu)} ms)`);
  });
});
