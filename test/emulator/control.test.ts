import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startEmulator } from "../../src/emulator/index.ts";
import { emulatorCommand } from "../../src/emulator/cli.ts";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
beforeAll(async () => { t = await startTestEmulator({ users: 20, groups: 3 }); });
afterAll(async () => { await t.stop(); });

async function ctl(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await t.call(`${t.emu.loginUrl}/_emulator${path}`, {
    method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe("control API", () => {
  it("changes users, groups and memberships between syncs", async () => {
    const tid = t.emu.tenantId;
    const list = await ctl("GET", "/tenants");
    expect(list.body[0]).toMatchObject({ id: tid, counts: { users: 20, groups: 3 } });
    const created = await ctl("POST", `/tenants/${tid}/users`, { displayName: "Ctl User", userPrincipalName: "ctl.user@rollcalldev.onmicrosoft.com", department: "QA" });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await ctl("PATCH", `/tenants/${tid}/users/${id}`, { department: "Ops" })).body.department).toBe("Ops");
    const g = (await ctl("POST", `/tenants/${tid}/groups`, { displayName: "Ctl Group" })).body;
    expect((await ctl("POST", `/tenants/${tid}/groups/${g.id}/members`, { id })).status).toBe(204);
    expect((await ctl("GET", `/tenants/${tid}/groups/${g.id}/members`)).body).toEqual([{ id, kind: "user" }]);
    expect((await ctl("DELETE", `/tenants/${tid}/groups/${g.id}/members/${id}`)).status).toBe(204);
    expect((await ctl("DELETE", `/tenants/${tid}/users/${id}`)).status).toBe(204);
    expect((await ctl("GET", `/tenants/${tid}/users/${id}`)).status).toBe(404);
    expect((await ctl("POST", `/tenants/${tid}/users/${id}/restore`)).status).toBe(200);
    expect((await ctl("DELETE", `/tenants/${tid}/groups/${g.id}`)).status).toBe(204);
    expect((await ctl("POST", `/tenants/${tid}/groups/${g.id}/restore`)).body).toMatchObject({ id: g.id, displayName: "Ctl Group" });
    expect((await ctl("DELETE", `/tenants/${tid}/users/nope`)).status).toBe(404);
    const state = await ctl("GET", `/tenants/${tid}`);
    expect(state.body.users).toHaveLength(21);
    expect(state.body.apps[0].appPermissions.map((p: any) => p.permission)).toContain("User.Read.All");
    expect((await ctl("POST", `/tenants/${tid}/delta/expire`)).status).toBe(204);
  });

  it("manages apps, secrets, permissions; sets knobs; reads stats", async () => {
    const tid = t.emu.tenantId;
    const app = (await ctl("POST", `/tenants/${tid}/apps`, { displayName: "Ctl App", appPermissions: ["User.Read.All"] })).body;
    expect(app.secrets[0].secretText).toMatch(/^.{3}8Q~.{34}$/);
    const secret = (await ctl("POST", `/tenants/${tid}/apps/${app.clientId}/secrets`, { expiresInDays: 1 })).body;
    expect(await t.appToken({ clientId: app.clientId, clientSecret: secret.secretText })).toBeTruthy();
    await ctl("POST", `/tenants/${tid}/apps/${app.clientId}/secrets/expire`, { keyId: secret.keyId });
    await expect(t.appToken({ clientId: app.clientId, clientSecret: secret.secretText })).rejects.toThrow(/7000222/);
    const sp = (await ctl("POST", `/tenants/${tid}/apps/${app.clientId}/permissions`, { permission: "Group.Read.All" })).body;
    expect(sp.appPermissions.map((p: any) => p.permission)).toEqual(["User.Read.All", "Group.Read.All"]);
    expect((await ctl("DELETE", `/tenants/${tid}/apps/${app.clientId}/permissions/Group.Read.All`)).body.appPermissions).toHaveLength(1);
    expect((await ctl("PUT", "/knobs", { latencyMs: 5, throttleBudget: { unitsPer10s: 100 } })).body).toMatchObject({ latencyMs: 5, throttleBudget: { unitsPer10s: 100 } });
    await ctl("PUT", "/knobs", { latencyMs: 0, throttleBudget: null });
    const stats = await ctl("GET", "/stats");
    expect(stats.body.total).toBeGreaterThan(0);
    expect(stats.body.byEndpoint["POST /{tenant}/oauth2/v2.0/token"]).toBeGreaterThan(0);
  });

  it("is absent when disabled", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rollcall-emu-"));
    const emu = await startEmulator({ port: 0, dataDir, users: 1, groups: 1, controlApi: false });
    const agent = new Agent({ connect: { ca: emu.caPem } });
    try {
      const res = await fetch(`${emu.loginUrl}/_emulator/tenants`, { dispatcher: agent });
      expect(res.status).toBe(404);
    } finally {
      await agent.close();
      await emu.close();
    }
    // The CA is created once per data directory and reused.
    const again = await startEmulator({ port: 0, dataDir, users: 1, groups: 1 });
    expect(again.caPem).toBe(emu.caPem);
    await again.close();
  });
});

describe("data folder", () => {
  it("a restart keeps the server certificate and the signing keys, rotated ones too: tokens issued before stay valid", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rollcall-emu-"));
    const files = () => Object.fromEntries(["server.pem", "server-key.pem", "signing-keys.json"].map((name) => [name, readFileSync(join(dataDir, name), "utf8")]));
    const first = await startEmulator({ port: 0, dataDir, users: 3, groups: 1 });
    const agent = new Agent({ connect: { ca: first.caPem } });
    const get = (url: string, token?: string) => fetch(url, { dispatcher: agent, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const keys = async (emu: typeof first) => ((await (await get(`${emu.loginUrl}/${emu.tenantId}/discovery/v2.0/keys`)).json()) as any).keys.map((k: any) => k.kid);
    const token = async (emu: typeof first) => {
      const res = await fetch(`${emu.loginUrl}/${emu.tenantId}/oauth2/v2.0/token`, { method: "POST", dispatcher: agent, body: new URLSearchParams({ grant_type: "client_credentials", client_id: emu.clientId, client_secret: emu.clientSecret, scope: "https://graph.microsoft.com/.default" }) });
      return ((await res.json()) as any).access_token as string;
    };
    let running = first;
    try {
      const kept = files();
      const before = await token(first);
      const kids = await keys(first);
      await first.close();
      running = await startEmulator({ port: 0, dataDir, users: 3, groups: 1 });
      expect(files()).toEqual(kept);
      expect(await keys(running)).toEqual(kids);
      expect((await get(`${running.graphUrl}/v1.0/users`, before)).status).toBe(200);
      await running.rotateSigningKeys({ emergency: true });
      expect(files()["signing-keys.json"]).not.toBe(kept["signing-keys.json"]);
      const rotated = await keys(running);
      expect(rotated).not.toEqual(kids);
      const after = await token(running);
      await running.close();
      running = await startEmulator({ port: 0, dataDir, users: 3, groups: 1 });
      expect(await keys(running)).toEqual(rotated);
      expect((await get(`${running.graphUrl}/v1.0/users`, after)).status).toBe(200);
      expect((await get(`${running.graphUrl}/v1.0/users`, before)).status).toBe(401); // its key went in the emergency rollover
    } finally {
      await running.close();
      await agent.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("names a signing keys file it cannot read, and what deleting it does", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rollcall-emu-"));
    writeFileSync(join(dataDir, "signing-keys.json"), "{}");
    await expect(startEmulator({ port: 0, dataDir, users: 1, groups: 1 })).rejects.toThrow(`${join(dataDir, "signing-keys.json")} does not hold the emulator's token signing keys (fewer than two keys): delete it`);
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe("rollcall emulator command", () => {
  it("prints one JSON line once listening and stops on SIGINT", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string) => { lines.push(String(chunk)); return true; }) as typeof process.stdout.write);
    try {
      const dataDir = mkdtempSync(join(tmpdir(), "rollcall-emu-"));
      const done = emulatorCommand().parseAsync(["--port", "0", "--users", "5", "--groups", "2", "--seed", "7", "--data-dir", dataDir], { from: "user" });
      for (const deadline = Date.now() + 30_000; lines.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 25));
      expect(lines).toHaveLength(1);
      const info = JSON.parse(lines[0]!);
      expect(Object.keys(info).sort()).toEqual(["caFile", "clientId", "clientSecret", "graphUrl", "loginUrl", "tenantId"]);
      expect(info.caFile).toBe(join(dataDir, "ca.pem"));
      const agent = new Agent({ connect: { ca: readFileSync(info.caFile, "utf8") } });
      const res = await fetch(`${info.loginUrl}/${info.tenantId}/v2.0/.well-known/openid-configuration`, { dispatcher: agent });
      expect(res.status).toBe(200);
      await agent.close();
      process.emit("SIGINT");
      await done;
    } finally {
      spy.mockRestore();
    }
  });
});

describe("determinism", () => {
  it("the same seed gives the same tenant, users, app and secret; delta tokens of an earlier process ask for a resync", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rollcall-emu-"));
    const a = await startEmulator({ port: 0, dataDir: dir, users: 30, groups: 4, seed: 99 });
    const agent = new Agent({ connect: { ca: a.caPem } });
    try {
      const b = await startEmulator({ port: 0, dataDir: dir, users: 30, groups: 4, seed: 99 });
      try {
        expect([b.tenantId, b.clientId, b.clientSecret]).toEqual([a.tenantId, a.clientId, a.clientSecret]);
        expect(b.tenants.get(b.tenantId).listUsers()).toEqual(a.tenants.get(a.tenantId).listUsers());
        expect(b.tenants.get(b.tenantId).state().memberships).toEqual(a.tenants.get(a.tenantId).state().memberships);
        const token = async (emu: typeof a) => {
          const res = await fetch(`${emu.loginUrl}/${emu.tenantId}/oauth2/v2.0/token`, { method: "POST", dispatcher: agent, body: new URLSearchParams({ grant_type: "client_credentials", client_id: emu.clientId, client_secret: emu.clientSecret, scope: "https://graph.microsoft.com/.default" }) });
          return ((await res.json()) as any).access_token as string;
        };
        const first = (await (await fetch(`${a.graphUrl}/v1.0/users/delta?$deltatoken=latest`, { dispatcher: agent, headers: { authorization: `Bearer ${await token(a)}` } })).json()) as any;
        const moved = first["@odata.deltaLink"].replace(new URL(a.graphUrl).host, new URL(b.graphUrl).host);
        const res = await fetch(moved, { dispatcher: agent, headers: { authorization: `Bearer ${await token(b)}` } });
        expect(res.status).toBe(410);
        expect(((await res.json()) as any).error.code).toBe("resyncRequired");
      } finally {
        await b.close();
      }
    } finally {
      await agent.close();
      await a.close();
    }
  });
});
