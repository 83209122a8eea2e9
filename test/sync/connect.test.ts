import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator, TenantHandle } from "../../src/emulator/index.ts";
import { httpFetch } from "../../src/net/http.ts";
import { testConnection } from "../../src/sources/entra/connect.ts";
import { adviceFor } from "../../src/sources/entra/advice.ts";
import { entraConfigSchema, type EntraConfigInput } from "../../src/sources/entra/config.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

describe("advice naming the source", () => {
  it("puts the source's name, and a workspace other than the default, into the command to run, quoted for the shell", () => {
    const advice = "Wrong client secret. Then run `rollcall sources update NAME --client-secret-env VAR`.";
    expect(adviceFor(advice, { name: "contoso", workspace: "default" })).toBe("Wrong client secret. Then run `rollcall sources update contoso --client-secret-env VAR`.");
    expect(adviceFor(advice, { name: "HR's tenant", workspace: "acme" })).toContain("`rollcall sources update 'HR'\\''s tenant' --workspace acme --client-secret-env VAR`");
    expect(adviceFor(advice, undefined)).toBe(advice);
  });
});

describe("connect checks against the emulator", () => {
  let emulator: RunningEmulator;
  let tenant: TenantHandle;
  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 5, groups: 2 });
    tenant = emulator.tenants.get(emulator.tenantId);
  });
  afterAll(async () => emulator?.close());

  const check = (config: Partial<EntraConfigInput>, secret: string | null) =>
    testConnection(
      entraConfigSchema.parse({ tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, groupMode: "all", ...config }),
      secret === null ? null : { kind: "secret", secret },
      httpFetch,
    );
  const app = (permissions: string[]) => {
    const info = tenant.registerApp({ displayName: `probe ${permissions.join("+") || "none"}`, appPermissions: permissions });
    return { clientId: info.clientId, secret: info.secrets[0]!.secretText };
  };
  const failed = (r: Awaited<ReturnType<typeof check>>) => r.checks.filter((c) => !c.ok).map((c) => ({ name: c.name, code: c.code }));

  it("passes every check with a consented app", async () => {
    const result = await check({}, emulator.clientSecret);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.name)).toEqual(["token", "users", "delta", "groups"]);
  });

  it("finds the groups a source names, by display name without case or by object ID, and names those Entra ID lacks", async () => {
    const [one, two] = tenant.listGroups();
    const found = await check({ users: "groups", scopeGroups: [one!.displayName.toUpperCase()], groupMode: "selected", groups: [two!.id] }, emulator.clientSecret);
    expect(found.checks.map((c) => [c.name, c.ok])).toEqual([["token", true], ["users", true], ["delta", true], ["groups", true], ["scope", true]]);
    tenant.createGroup({ displayName: "O'Brien's team" });
    const quoted = await check({ groupMode: "selected", groups: ["o'brien's TEAM"] }, emulator.clientSecret);
    expect(quoted.ok).toBe(true);

    const missing = await check({ users: "groups", scopeGroups: [one!.displayName, "Nope Group"], groupMode: "selected", groups: [randomUUID()] }, emulator.clientSecret);
    expect(failed(missing)).toEqual([{ name: "scope", code: "group_not_found" }]);
    expect(missing.checks.at(-1)!.message).toMatch(/^Entra ID has no group "Nope Group", "[0-9a-f-]{36}" \(a display name, compared without case, or an object ID\)\. Check the name in Microsoft Entra admin center > Groups/);
    // Each list naming a missing group gets the flag that corrects it.
    expect(missing.checks.at(-1)!.message).toContain('--scope-groups "…" for the user scope, or --group-mode selected --groups "…" for the synced groups;');
  });

  it("reports an unknown tenant (AADSTS90002) with where to find the tenant ID", async () => {
    const result = await check({ tenantId: randomUUID() }, emulator.clientSecret);
    expect(result.ok).toBe(false);
    expect(failed(result)).toEqual([{ name: "token", code: "AADSTS90002" }]);
    expect(result.checks[0]!.message).toMatch(/Directory \(tenant\) ID/);
  });

  it("reports an unknown client ID (AADSTS700016)", async () => {
    const result = await check({ clientId: randomUUID() }, emulator.clientSecret);
    expect(failed(result)).toEqual([{ name: "token", code: "AADSTS700016" }]);
    expect(result.checks[0]!.message).toMatch(/Application \(client\) ID/);
  });

  it("reports a Graph URL of another cloud than the login URL's (AADSTS500011)", async () => {
    const result = await check({ graphUrl: "https://graph.microsoft.us" }, emulator.clientSecret);
    expect(failed(result)).toEqual([{ name: "token", code: "AADSTS500011" }]);
    expect(result.checks[0]!.message).toMatch(/login URL and the Graph URL must be of the same cloud/);
  });

  it("reports a wrong secret (AADSTS7000215), pointing at the Value versus the Secret ID", async () => {
    const result = await check({}, "not-the-secret");
    expect(failed(result)).toEqual([{ name: "token", code: "AADSTS7000215" }]);
    expect(result.checks[0]!.message).toMatch(/Value \(not its Secret ID\)/);
  });

  it("reports an expired secret (AADSTS7000222)", async () => {
    const { clientId, secret } = app(["User.Read.All", "Group.Read.All"]);
    tenant.expireSecret(clientId);
    const result = await check({ clientId }, secret);
    expect(failed(result)).toEqual([{ name: "token", code: "AADSTS7000222" }]);
    expect(result.checks[0]!.message).toMatch(/expired/);
  });

  it("reports missing admin consent when the token carries no permissions at all", async () => {
    const { clientId, secret } = app([]);
    const result = await check({ clientId }, secret);
    expect(failed(result)).toEqual([
      { name: "admin_consent", code: "no_admin_consent" },
      { name: "users", code: "Authorization_RequestDenied" },
      { name: "groups", code: "Authorization_RequestDenied" },
    ]);
    expect(result.checks.find((c) => c.name === "admin_consent")!.message).toMatch(/Grant admin consent/);
  });

  it("reports User.Read.All missing", async () => {
    const { clientId, secret } = app(["Group.Read.All"]);
    const result = await check({ clientId }, secret);
    expect(failed(result)).toEqual([{ name: "users", code: "Authorization_RequestDenied" }]);
    expect(result.checks.find((c) => c.name === "users")!.message).toMatch(/User\.Read\.All is missing/);
  });

  it("reports Group.Read.All missing only when the source uses groups", async () => {
    const { clientId, secret } = app(["User.Read.All"]);
    const result = await check({ clientId }, secret);
    expect(failed(result)).toEqual([{ name: "groups", code: "Authorization_RequestDenied" }]);
    expect(result.checks.find((c) => c.name === "groups")!.message).toMatch(/Group\.Read\.All is missing/);
    expect((await check({ clientId, groupMode: "attribute", groupAttribute: "department" }, secret)).ok).toBe(true);
  });

  it("a mapped property the listing serves but delta refuses (signInActivity) fails the delta check, not the first sync", async () => {
    const { clientId, secret } = app(["User.Read.All", "AuditLog.Read.All"]);
    const result = await check({ clientId, groupMode: "none", mapping: { "custom:lastSignIn": "signInActivity" } }, secret);
    expect(failed(result)).toEqual([{ name: "delta", code: "BadRequest" }]);
    expect(result.checks.find((c) => c.name === "delta")!.message).toMatch(/^Graph lists users with the source's properties but its delta query, which every sync reads, refuses signInActivity \(400 BadRequest\), so every sync would fail\. Fix the source: the mapping reads custom:lastSignIn from it/);
  });

  it("a 403 on the source's $select but not on $select=id: a selected property needs a permission of its own, not User.Read.All", async () => {
    const result = await check({ groupMode: "none", mapping: { "custom:lastSignIn": "signInActivity" } }, emulator.clientSecret);
    expect(failed(result)).toEqual([{ name: "users", code: "Authorization_RequestDenied" }]);
    const message = result.checks.find((c) => c.name === "users")!.message;
    expect(message).toMatch(/^Graph lets the application read users but refused the properties the source selects \(403 Authorization_RequestDenied\): a property the mapping or group attribute reads needs a permission of its own \(.*signInActivity.*\)/);
    expect(message).not.toMatch(/User\.Read\.All is missing/);
  });

  it("reports an unreachable login endpoint as such, not as a credential problem", async () => {
    const result = await check({ loginUrl: "https://127.0.0.1:1" }, emulator.clientSecret);
    expect(result.checks[0]).toMatchObject({ name: "token", ok: false, code: "source_unreachable" });
  });
});
