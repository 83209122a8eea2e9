import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, createSession } from "../../src/core/accounts.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { runCli } from "../support/cli.ts";
import { databaseForCli, freshDataFolder, cliEngine, type TestStore } from "../support/db.ts";
import { openSignInHarness, type SignInHarness } from "../signin/support.ts";
import { seedThreeWorkspaces } from "../support/workspace-overview.ts";
import type { WorkspaceOverview } from "../../src/core/workspace-overview.ts";

/** `rollcall workspaces list --overview`: through a server, the workspaces the caller may use; on this machine, all of them. */
describe(`rollcall workspaces list --overview (${cliEngine})`, { timeout: 180_000 }, () => {
  let h: SignInHarness;
  let dir: string;
  let database: TestStore | undefined;
  const remote = (token: string, ...args: string[]) =>
    runCli(["workspaces", "list", "--overview", ...args], { ROLLCALL_SERVER: h.url, ROLLCALL_TOKEN: token, ROLLCALL_DATA_DIR: join(dir, "cli"), DATABASE_URL: undefined });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-overview-"));
    h = await openSignInHarness(cliEngine);
    await seedThreeWorkspaces(h.rt, h.emulator);
    database = await databaseForCli(cliEngine);
  }, 300_000);
  afterAll(async () => {
    await h?.close();
    await database?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("through a server: an owner sees the failed run and the expired secret first, with why; a token its workspace only", async () => {
    const { account } = await createAccount(h.store.db, { email: "owner@example.com", owner: true }, "test");
    const owner = (await createSession(h.store.db, account, 1, { prefix: "rcs_" })).id;
    const json = await remote(owner, "--json");
    expect(json.code, json.stderr).toBe(0);
    const list = json.json<WorkspaceOverview[]>();
    expect(list.map((w) => [w.name, w.attention.level])).toEqual([["acme", "critical"], ["beta", "critical"], ["calm", null], ["default", null]]);
    const text = await remote(owner);
    expect(text.stdout).toMatch(/^CRITICAL {2}acme \(admin\): 0 users, \d+ open notifications?\n {2}! corp: the last run failed \(\d{4}-\d\d-\d\d\)\n {4}corp: last run failed \d{4}-\d\d-\d\d \d\d:\d\d\n/);
    expect(text.stdout).toContain("  ! hr: the client secret expired on ");
    expect(text.stdout).toMatch(/\nOK {2}calm \(admin\): 11 users, 0 open notifications\n {4}main: last run succeeded /);
    const token = (await createApiToken(h.store.db, await resolveWorkspace(h.store.db, "calm"), { name: "report", role: "viewer" }, "test")).token;
    expect((await remote(token, "--json")).json<WorkspaceOverview[]>().map((w) => [w.name, w.role])).toEqual([["calm", "viewer"]]);
  });

  it("on this machine's database: every workspace, admin in each", async () => {
    const env = database ? { DATABASE_URL: database.url, ROLLCALL_DATA_DIR: join(dir, "local") } : { DATABASE_URL: undefined, ROLLCALL_DATA_DIR: freshDataFolder("rollcall-overview-local-") };
    expect((await runCli(["workspaces", "add", "lab"], { ...env, ROLLCALL_SERVER: undefined })).code).toBe(0);
    const listed = await runCli(["workspaces", "list", "--overview", "--json"], { ...env, ROLLCALL_SERVER: undefined });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json<WorkspaceOverview[]>().map((w) => [w.name, w.role, w.sources.length, w.attention.level])).toEqual([["default", "admin", 0, null], ["lab", "admin", 0, null]]);
    expect((await runCli(["workspaces", "list", "--overview"], { ...env, ROLLCALL_SERVER: undefined })).stdout).toBe("OK  default (admin): 0 users, 0 open notifications\n    no sources\nOK  lab (admin): 0 users, 0 open notifications\n    no sources\n");
  });
});
