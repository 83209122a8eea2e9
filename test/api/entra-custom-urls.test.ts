import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { buildApp } from "../../src/api/server.ts";
import { isMicrosoftUrl } from "../../src/sources/entra/custom-urls.ts";
import { engines } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { until } from "../notifications/support.ts";
import { Browser, openSignInHarness, signInEngine } from "../signin/support.ts";
import { caller, expectError, runtimeOver, testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";

/**
 * A source's login and Graph URLs are workspace settings. Unless the operator sets ROLLCALL_ENTRA_CUSTOM_URLS, only
 * Microsoft's clouds' hosts are accepted when a source is saved, and reached when it is used: a workspace admin
 * cannot make Rollcall send requests (and show the answers) to a host of their choosing.
 */
describe("Entra ID URLs other than Microsoft's", () => {
  it("are off unless the operator turns them on", () => {
    expect(loadConfig({}).entraCustomUrls).toBe(false);
    expect(loadConfig({ ROLLCALL_ENTRA_CUSTOM_URLS: "true" }).entraCustomUrls).toBe(true);
    expect(() => loadConfig({ ROLLCALL_ENTRA_CUSTOM_URLS: "yes" })).toThrow(/ROLLCALL_ENTRA_CUSTOM_URLS/);
  });

  it("are told from Microsoft's by origin: scheme, host and port", () => {
    for (const url of ["https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0/users", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us", "https://login.chinacloudapi.cn/x", "https://microsoftgraph.chinacloudapi.cn"]) {
      expect(isMicrosoftUrl(url), url).toBe(true);
    }
    for (const url of ["http://login.microsoftonline.com", "https://login.microsoftonline.com:8443", "https://graph.microsoft.com.attacker.example", "https://127.0.0.1:4010", "https://169.254.169.254", "not a url"]) {
      expect(isMicrosoftUrl(url), url).toBe(false);
    }
  });
});

describe.each(engines)("an Entra ID source's URLs, custom ones not allowed (%s)", (engine) => {
  let emulator: RunningEmulator;
  let allowing: TestApi;
  let as: Caller & { token: string };
  let refusing: Caller;
  const ws = "workspaces/default";

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 8, groups: 2, seed: 5 });
    allowing = await testApi(engine);
    as = await tokenCaller(allowing, "default", "admin");
    // Another server on the same database whose operator does not allow them (or the same one, restarted so).
    const rt = { ...runtimeOver(allowing.store, { entraCustomUrls: false }), secrets: allowing.rt.secrets };
    const app = await buildApp(rt);
    refusing = caller(app, { token: as.token });
    const saved = await as("POST", `${ws}/sources`, { name: "corp", tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, clientSecret: emulator.clientSecret, groupMode: "all" });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    return async () => app.close();
  });
  afterAll(async () => {
    await allowing?.close();
    await emulator?.close();
  });

  it("refuses them when a source is saved, naming each field and the setting that allows them", async () => {
    const settings = { tenantId: emulator.tenantId, clientId: emulator.clientId, clientSecret: "a-secret-value" };
    const both = await refusing("POST", `${ws}/sources`, { ...settings, name: "other", loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl });
    expectError(both, 400, "invalid_input", ["loginUrl", "graphUrl"]);
    expect(both.body.error.details.fields[0].message).toBe(`${emulator.loginUrl} is not a login or Graph host of Microsoft's clouds; other hosts (such as the Entra emulator's) are allowed only when whoever runs Rollcall sets ROLLCALL_ENTRA_CUSTOM_URLS=true`);
    expectError(await refusing("POST", `${ws}/sources`, { ...settings, name: "other", graphUrl: "https://graph.microsoft.com.attacker.example" }), 400, "invalid_input", ["graphUrl"]);
    // Microsoft's own, in any cloud, are fine.
    const usgov = await refusing("POST", `${ws}/sources`, { ...settings, name: "gov", cloud: "usgov" });
    expect(usgov.status, JSON.stringify(usgov.body)).toBe(201);
    const named = await refusing("POST", `${ws}/sources`, { ...settings, name: "named", loginUrl: "https://login.microsoftonline.com/", graphUrl: "https://graph.microsoft.com/v1.0" });
    expect(named.status, JSON.stringify(named.body)).toBe(201);
    expectError(await refusing("PATCH", `${ws}/sources/gov`, { loginUrl: emulator.loginUrl, clientSecret: "another-secret" }), 400, "invalid_input", ["loginUrl"]);
    expect((await refusing("GET", `${ws}/sources`)).body.items.map((s: { name: string }) => s.name)).toEqual(["corp", "gov", "named"]);
  });

  it("reaches none of a source saved while they were allowed: its test and group search fail, its sync fails with the reason; other settings still change", async () => {
    emulator.resetStats();
    const test = await refusing("POST", `${ws}/sources/corp/test`);
    expect(test.status).toBe(200);
    expect(test.body.ok).toBe(false);
    expect(test.body.checks[0]).toMatchObject({ ok: false, code: "config_invalid", message: expect.stringContaining("ROLLCALL_ENTRA_CUSTOM_URLS=true") });
    expectError(await refusing("POST", `${ws}/sources/corp/find-groups`, { q: "" }), 500, "config_invalid");

    const started = await refusing("POST", `${ws}/sources/corp/sync`);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    let run: { status: string; error?: { code: string; message: string } } = { status: "running" };
    await until(async () => (run = (await refusing("GET", `${ws}/runs/${started.body.id}`)).body).status !== "running", 30_000, "the run to end");
    expect(run).toMatchObject({ status: "failed", error: { code: "config_invalid", message: expect.stringContaining(`${emulator.loginUrl} is not a login or Graph host of Microsoft's clouds`) } });
    expect(emulator.stats().total).toBe(0);

    const renamed = await refusing("PATCH", `${ws}/sources/corp`, { country: "GB" });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    // Where they are allowed, the same source works.
    const allowed = await as("POST", `${ws}/sources/corp/test`);
    expect(allowed.body.ok, JSON.stringify(allowed.body)).toBe(true);
    expect(emulator.stats().total).toBeGreaterThan(0);
  });
});

describe(`Sign in with Microsoft through a source with custom URLs, not allowed (${signInEngine})`, () => {
  it("never reaches the source's login host", async () => {
    const h = await openSignInHarness(signInEngine, { ROLLCALL_ENTRA_CUSTOM_URLS: "false" });
    try {
      await h.addSource("contoso");
      h.emulator.resetStats();
      const start = await new Browser(h.emulator.caPem).request(`${h.url}/api/v1/auth/microsoft/start`);
      expect(start.status).not.toBe(302);
      expect(start.text).toContain("ROLLCALL_ENTRA_CUSTOM_URLS=true");
      expect(h.emulator.stats().total).toBe(0);
    } finally {
      await h.close();
    }
  });
});
