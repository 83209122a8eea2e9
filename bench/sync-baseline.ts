// The sync benchmark's baseline, in a process of its own (bench/sync.ts starts it): a minimal client paging
// `/users/delta` and `/groups/delta` and COPYing each page into plain tables of the same database. Run on
// its own, it also creates the data folder, so the syncing process opens an existing one, as `rollcall
// sync` does, and its memory holds neither the creation nor the baseline.
// Input: one JSON argument {target, emu, emulatorPid, select}. Output: one JSON line {baselineMs, pageChains, cpu}:
// CPU seconds of this process, of the PostgreSQL server (null for PGlite: it runs in this process) and of the emulator.
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { openStore, type StoreTarget } from "../src/storage/database.ts";
import { httpFetch, trustExtraCa } from "../src/net/http.ts";
import { cpuClock, cpuSince, pidCpuSeconds } from "./cpu.ts";

const { target, emu, emulatorPid, select } = JSON.parse(process.argv[2]!) as {
  target: StoreTarget;
  emulatorPid: number;
  emu: { loginUrl: string; graphUrl: string; tenantId: string; clientId: string; clientSecret: string; caFile: string };
  select: string;
};
trustExtraCa(readFileSync(emu.caFile, "utf8"));
const store = await openStore(target, { command: "bench" });
await sql`create table bench_users (id text, data jsonb); create table bench_groups (id text, data jsonb); create table bench_members (group_id text, member_id text, kind text)`.execute(store.db);

// Pages per chain (users, groups): each chain is sequential (every page names the next), the chains are not.
const pageChains: number[] = [];
const clock = await cpuClock(store);
const cpuStart = clock();
const emulatorStart = pidCpuSeconds(emulatorPid) ?? 0;
const t = performance.now();
const tokenRes = await httpFetch(`${emu.loginUrl}/${emu.tenantId}/oauth2/v2.0/token`, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ grant_type: "client_credentials", client_id: emu.clientId, client_secret: emu.clientSecret, scope: `${emu.graphUrl}/.default` }).toString(),
});
const token = ((await tokenRes.json()) as { access_token: string }).access_token;
const headers = { authorization: `Bearer ${token}`, prefer: "odata.maxpagesize=999" };
async function page(start: string, onPage: (value: Record<string, unknown>[]) => Promise<void>) {
  let url: string | undefined = start;
  pageChains.push(0);
  while (url) {
    pageChains[pageChains.length - 1]!++;
    const body = (await (await httpFetch(url, { headers })).json()) as { value: Record<string, unknown>[]; "@odata.nextLink"?: string };
    await onPage(body.value);
    url = body["@odata.nextLink"];
  }
}
await page(`${emu.graphUrl}/v1.0/users/delta?$select=${select}`, (value) => store.copyRows("bench_users", ["id", "data"], value.map((u) => [String(u.id), JSON.stringify(u)])));
await page(`${emu.graphUrl}/v1.0/groups/delta?$select=displayName,description,members`, async (value) => {
  await store.copyRows("bench_groups", ["id", "data"], value.map((g) => [String(g.id), JSON.stringify({ displayName: g.displayName, description: g.description })]));
  const members = value.flatMap((g) => ((g["members@delta"] as Record<string, unknown>[] | undefined) ?? []).map((m) => [String(g.id), String(m.id), String(m["@odata.type"])]));
  if (members.length) await store.copyRows("bench_members", ["group_id", "member_id", "kind"], members);
});
const baselineMs = performance.now() - t;
const cpu = { ...cpuSince(clock, cpuStart), emulatorCpu: (pidCpuSeconds(emulatorPid) ?? 0) - emulatorStart };
await store.close();
process.stdout.write(JSON.stringify({ baselineMs, pageChains, cpu }) + "\n");
