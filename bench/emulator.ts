// Emulator throughput: users per second served to a client paging /v1.0/users ($top=999, $select)
// and /v1.0/users/delta (default page size and Prefer: odata.maxpagesize=999), over real HTTPS.
// Run: node bin/run-ts.js bench/emulator.ts [users]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch } from "undici";
import { startEmulator } from "../src/emulator/index.ts";

const USERS = Number(process.argv[2] ?? 100_000);
const GROUPS = Math.max(1, Math.round(USERS / 20));
const dataDir = mkdtempSync(join(tmpdir(), "rollcall-emu-bench-"));

const t0 = performance.now();
const emu = await startEmulator({ port: 0, dataDir, users: USERS, groups: GROUPS, quiet: true });
const startMs = performance.now() - t0;
const agent = new Agent({ connect: { ca: emu.caPem }, pipelining: 1 });

async function token(): Promise<string> {
  const res = await fetch(`${emu.loginUrl}/${emu.tenantId}/oauth2/v2.0/token`, {
    method: "POST", dispatcher: agent,
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: emu.clientId, client_secret: emu.clientSecret, scope: "https://graph.microsoft.com/.default" }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function pageAll(start: string, headers: Record<string, string>): Promise<{ items: number; pages: number; ms: number; cpuMs: number; bytes: number }> {
  let url: string | undefined = start;
  let items = 0, pages = 0, bytes = 0;
  const t = performance.now();
  const c = process.cpuUsage();
  while (url) {
    const res = await fetch(url, { dispatcher: agent, headers });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${res.status} ${text.slice(0, 200)}`);
    bytes += text.length;
    const body = JSON.parse(text) as { value: unknown[]; "@odata.nextLink"?: string };
    items += body.value.length;
    pages++;
    url = body["@odata.nextLink"];
  }
  const cpu = process.cpuUsage(c);
  return { items, pages, ms: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000, bytes };
}

const auth = { authorization: `Bearer ${await token()}` };
const select = "id,userPrincipalName,displayName,givenName,surname,mail,accountEnabled,department,jobTitle,employeeId,userType";
const runs: Array<[string, string, Record<string, string>]> = [
  ["GET /users $top=999 $select", `${emu.graphUrl}/v1.0/users?$top=999&$select=${select}`, auth],
  ["GET /users $top=999 (default props)", `${emu.graphUrl}/v1.0/users?$top=999`, auth],
  ["GET /users/delta (200/page)", `${emu.graphUrl}/v1.0/users/delta?$select=${select}`, auth],
  ["GET /users/delta maxpagesize=999", `${emu.graphUrl}/v1.0/users/delta?$select=${select}`, { ...auth, prefer: "odata.maxpagesize=999" }],
  ["GET /groups/delta +members", `${emu.graphUrl}/v1.0/groups/delta?$select=displayName,members`, auth],
];

console.log(`emulator: ${USERS.toLocaleString("en-US")} users, ${GROUPS.toLocaleString("en-US")} groups; started in ${(startMs / 1000).toFixed(2)} s`);
// CPU time covers this whole process (client and emulator): on a busy shared machine it is steadier than wall time.
console.log("| endpoint | items | pages | wall s | items/s (wall) | CPU s | items/CPU s | MB |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const [name, url, headers] of runs) {
  await pageAll(url, headers); // warm-up
  const r = await pageAll(url, headers);
  const rate = (ms: number): string => Math.round(r.items / (ms / 1000)).toLocaleString("en-US");
  console.log(`| ${name} | ${r.items.toLocaleString("en-US")} | ${r.pages} | ${(r.ms / 1000).toFixed(2)} | ${rate(r.ms)} | ${(r.cpuMs / 1000).toFixed(2)} | ${rate(r.cpuMs)} | ${(r.bytes / 1e6).toFixed(1)} |`);
}
await agent.close();
await emu.close();
rmSync(dataDir, { recursive: true, force: true });
