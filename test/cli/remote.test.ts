import "../support/no-network.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { createApiToken, listApiTokens } from "../../src/core/tokens.ts";
import { createAccount, createSession } from "../../src/core/accounts.ts";
import { raiseImportFailed } from "../../src/core/notifications.ts";
import { getNotificationSettings } from "../../src/core/notification-settings.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { pageOfChanges } from "../../src/core/change-log.ts";
import { runWithChanges } from "../../src/core/runs.ts";
import { addMember, createGroup, getGroup, listGroupsWithMembers } from "../../src/core/groups.ts";
import { getUser, listDepartments, listTags, listUsers, showUser } from "../../src/core/users.ts";
import type { GraphUser } from "../../src/emulator/directory-types.ts";
import { importProgressFrames, runCli, underTerminal } from "../support/cli.ts";
import { until } from "../notifications/support.ts";
import { updateEntraSource } from "../../src/core/sources.ts";
import { loginWithCli, openSignInHarness, type SignInHarness } from "../signin/support.ts";

/**
 * The CLI working through a Rollcall server: `rollcall login` against the server (its real HTTP stack
 * over a fresh database, Microsoft sign-in through the emulator), then directory commands run as
 * separate processes with ROLLCALL_SERVER set and no database of their own. What they print is what
 * the server holds; what they change lands in the server's database.
 * Runs on PostgreSQL when ROLLCALL_TEST_DATABASE_URL is set (PGlite otherwise).
 */
const engine = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";
const json = <T>(value: unknown) => JSON.parse(JSON.stringify(value)) as T;

describe(`rollcall CLI through a server (${engine})`, () => {
  let h: SignInHarness;
  let dir: string;
  let person: GraphUser;
  let adminToken: string;
  let viewerToken: string;
  /** No database for the CLI: an empty data dir and no DATABASE_URL, so anything not going through the API would see nothing. */
  const env = (extra: Record<string, string | undefined> = {}) => ({
    ROLLCALL_SERVER: h.url,
    ROLLCALL_SESSION_FILE: join(dir, "session.json"),
    ROLLCALL_DATA_DIR: join(dir, "cli-data"),
    DATABASE_URL: undefined,
    ROLLCALL_TOKEN: undefined,
    ...extra,
  });
  const cli = (args: string[], extra: Record<string, string | undefined> = {}) => runCli(args, env(extra));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-cli-remote-"));
    h = await openSignInHarness(engine);
    await h.addSource("contoso", { groupMode: "all" });
    await h.sync("contoso");
    person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest")[2]!;
    adminToken = (await createApiToken(h.store.db, h.ctx.workspace, { name: "ops", role: "admin" }, "test")).token;
    viewerToken = (await createApiToken(h.store.db, h.ctx.workspace, { name: "report", role: "viewer" }, "test")).token;
    const login = await loginWithCli(h, { tenantId: h.emulator.tenantId, userId: person.id }, { ROLLCALL_SESSION_FILE: join(dir, "session.json") });
    if (login.code !== 0) throw new Error(`rollcall login failed: ${login.stderr}`);
  }, 300_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("after rollcall login, reads the server's directory through the API, as the signed-in viewer", async () => {
    const [users, groups, sources, runs, whoami] = await Promise.all([
      cli(["users", "list", "--json"]),
      cli(["groups", "list", "--json"]),
      cli(["sources", "list", "--json"]),
      cli(["runs", "list", "--json"]),
      cli(["whoami", "--json"]),
    ]);
    expect(users.code, users.stderr).toBe(0);
    const held = await listUsers(h.ctx, {}, { limit: 1000, offset: 0, sort: "displayName", order: "asc" });
    expect(held.items.length).toBeGreaterThan(5);
    expect(users.stdout).toBe(JSON.stringify(held.items, null, 2) + "\n"); // as the local CLI prints it, read a page at a time
    // Issue #4: each group with its direct members, as the local CLI prints them (the API lists them only when asked).
    const heldGroups = (await listGroupsWithMembers(h.ctx, {}, { limit: null, offset: 0 })).items;
    expect(heldGroups.some((g) => g.members.length > 0)).toBe(true);
    expect(groups.stdout.trim()).toBe(JSON.stringify(heldGroups, null, 2)); // as the local CLI prints it, key order too
    const biggest = [...heldGroups].sort((a, b) => b.memberCount - a.memberCount)[0]!;
    expect((await cli(["groups", "show", biggest.name, "--json"])).json()).toEqual(json(await getGroup(h.ctx, biggest.name)));
    expect(sources.json<{ name: string; status: { syncedUsers: number } }[]>().map((s) => [s.name, s.status.syncedUsers])).toEqual([["contoso", held.items.length]]);
    expect(runs.json<{ source: string; status: string }[]>()).toEqual([expect.objectContaining({ source: "contoso", status: "succeeded" })]);
    // The first sync's change log, as the local CLI prints it, byte for byte, though it is read a page at a time.
    const [firstRun] = runs.json<{ id: string }[]>();
    const shownRun = await cli(["runs", "show", firstRun!.id, "--limit", "5000", "--json"]);
    expect(shownRun.json<{ changes: unknown[] }>().changes.length).toBeGreaterThan(5);
    expect(shownRun.stdout).toBe(JSON.stringify(await runWithChanges(h.ctx, firstRun!.id, { limit: 5000 }), null, 2) + "\n");
    expect(whoami.json()).toMatchObject({ account: { displayName: person.displayName }, signInMethod: "microsoft", workspaces: [{ name: "default", role: "viewer" }] });

    const departments = await cli(["users", "departments", "--json"]);
    expect(departments.json()).toEqual(await listDepartments(h.ctx));
    expect(departments.json<{ items: unknown[] }>().items.length).toBeGreaterThan(0);
    const tags = await cli(["users", "tags", "--json"]);
    expect(tags.json()).toEqual(await listTags(h.ctx));
    expect(tags.json()).toEqual({ items: [{ tag: "ID synced", users: held.items.length, source: true }] });
    expect((await cli(["users", "tags"])).stdout.split("\n")[2]!.replace(/\s+/g, " ").trim()).toBe(`ID synced ${held.items.length} source's`);

    const shown = await cli(["users", "show", person.userPrincipalName, "--json"]);
    expect(shown.json()).toEqual(json(await showUser(h.ctx, person.userPrincipalName)));
    expect(shown.json<{ statusChange: { action: string; syncSource: string } }>().statusChange).toMatchObject({ action: "create", syncSource: expect.any(String) });
    const missing = await cli(["users", "show", "nobody@example.com", "--json"]);
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe("");
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: "not_found" } });
  }, 600_000);

  it("lists the users of one department through the server (--department, any case; --has-department), as the local CLI does, and refuses an unknown one with the names", async () => {
    const { items: departments, withoutDepartment } = await listDepartments(h.ctx);
    const biggest = [...departments].sort((a, b) => b.users - a.users)[0]!;
    const listed = await cli(["users", "list", "--department", biggest.department.toUpperCase(), "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const held = await listUsers(h.ctx, { department: biggest.department }, { limit: 1000, offset: 0, sort: "displayName", order: "asc" });
    expect(held.items.length).toBe(biggest.users);
    expect(listed.stdout).toBe(JSON.stringify(held.items, null, 2) + "\n");

    const without = await cli(["users", "list", "--has-department", "false", "--json"]);
    expect(without.code, without.stderr).toBe(0);
    expect(without.json<unknown[]>().length).toBe(withoutDepartment);

    const unknown = await cli(["users", "list", "--department", "Nowhere Dept", "--json"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe("");
    const { error } = JSON.parse(unknown.stderr) as { error: { code: string; details: { fields: { field: string; message: string }[] } } };
    expect(error.code).toBe("invalid_input");
    expect(error.details.fields[0]).toMatchObject({ field: "department", message: expect.stringContaining(`"${departments[0]!.department}"`) });
  });

  it("lists a group's nested groups' members through the server with --nested (sent as nested=true), as the local CLI does", async () => {
    const synced = (await listGroupsWithMembers(h.ctx, {}, { limit: null, offset: 0 })).items.filter((g) => g.memberCount > 0).slice(0, 2);
    expect(synced).toHaveLength(2);
    await createGroup(h.ctx, { name: "Both teams" });
    for (const group of synced) await addMember(h.ctx, "Both teams", group.id);
    const held = await listUsers(h.ctx, { group: "Both teams", nested: true }, { limit: 1000, offset: 0, sort: "displayName", order: "asc" });
    expect(held.items.length).toBeGreaterThan(0);
    const nested = await cli(["users", "list", "--group", "Both teams", "--nested", "--json"]);
    expect(nested.code, nested.stderr).toBe(0);
    expect(nested.stdout).toBe(JSON.stringify(held.items, null, 2) + "\n");
    expect((await cli(["users", "list", "--group", "Both teams", "--json"])).json()).toEqual([]);
    // A user's groups through nesting and a group's users at any depth, as the local CLI shows them.
    const someone = held.items[0]!.id;
    expect((await cli(["users", "show", someone, "--json"])).json()).toEqual(JSON.parse(JSON.stringify(await showUser(h.ctx, someone))));
    expect((await cli(["groups", "show", "Both teams", "--json"])).json()).toMatchObject({ memberCount: 2, nestedUserCount: held.items.length });
    const alone = await cli(["users", "list", "--nested", "--json"]);
    expect([alone.code, JSON.parse(alone.stderr).error.details.fields[0].field]).toEqual([2, "nested"]);
  });

  it("refuses a viewer's changes with a clear message, and changes nothing", async () => {
    const [add, sync] = await Promise.all([
      cli(["users", "add", "--email", "nope@example.com", "--display-name", "Nope"]),
      cli(["sync", "contoso", "--json"]),
    ]);
    expect(add.code).toBe(1);
    expect(add.stderr).toContain('error [forbidden]: You have the viewer role in workspace "default": you can read but not change it');
    expect(sync.code).toBe(1);
    expect(JSON.parse(sync.stderr)).toMatchObject({ error: { code: "forbidden" } });
    expect(sync.stdout).toBe("");
    await expect(getUser(h.ctx, "nope@example.com")).rejects.toMatchObject({ code: "not_found" });
    const viewerTokenAdd = await cli(["groups", "add", "Nope"], { ROLLCALL_TOKEN: viewerToken });
    expect(viewerTokenAdd.code).toBe(1);
    expect(viewerTokenAdd.stderr).toContain("[forbidden]");
  }, 600_000);

  it("once made an admin (through the API with an admin token), the session changes users, groups, syncs, imports and exports on the server", async () => {
    const promoted = await cli(["user-role", person.userPrincipalName, "--role", "admin", "--json"], { ROLLCALL_TOKEN: adminToken });
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.json()).toMatchObject({ displayName: person.displayName, role: "admin" });
    const [granted] = (await pageOfChanges(h.store.db, h.ctx.workspace.id, { userId: promoted.json<{ userId: string }>().userId }, { limit: 1 })).items;
    // Signing in with Microsoft made them a viewer; the token promotes them.
    expect(granted).toMatchObject({ action: "change access", actor: "token:ops", before: { role: "viewer" }, after: { role: "admin", signIn: "microsoft" } });

    const added = await cli(["users", "add", "--email", "ada@example.com", "--display-name", "Ada Lovelace", "--tag", "pilot", "--json"]);
    expect(added.code, added.stderr).toBe(0);
    expect((await getUser(h.ctx, "ada@example.com")).tags).toContain("pilot");
    const invalid = await cli(["users", "add", "--email", "not-an-email", "--display-name", "X"]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("[invalid_input]");
    expect((await cli(["users", "update", "ada@example.com", "--department", "Engines"])).code).toBe(0);
    expect((await getUser(h.ctx, "ada@example.com")).department).toBe("Engines");
    const history = (await cli(["users", "history", "ada@example.com", "--json"])).json();
    expect(history).toMatchObject({ user: { email: "ada@example.com" }, total: 2, changes: [{ action: "update", after: { department: "Engines" } }, { action: "create" }] });
    // A deleted user's history is kept, and found by the address it had.
    expect((await cli(["users", "add", "--email", "brief@example.com", "--display-name", "Brief"])).code).toBe(0);
    expect((await cli(["users", "remove", "brief@example.com"])).code).toBe(0);
    const gone = await cli(["users", "history", "brief@example.com"]);
    expect(gone.stdout).toMatch(/^brief@example\.com \(deleted\): 2 change\(s\), newest first\n {2}\S+ {2}Deleted by .*\n {2}\S+ {2}Created by /);
    const extension = await cli(["users", "update", "ada@example.com", "--mobile-phone", "+1 425 555 0100 ext. 9"]);
    expect(extension.code, extension.stderr).toBe(0);
    expect(extension.stderr).toMatch(/^warning: mobilePhone: "\+1 425 555 0100 ext\. 9" has the extension 9, .* kept \+14255550100 without it\n$/);
    expect((await cli(["users", "disable", "ada@example.com"])).code).toBe(0);
    expect((await getUser(h.ctx, "ada@example.com")).enabled).toBe(false);
    expect((await cli(["users", "enable", "ada@example.com"])).code).toBe(0);
    expect((await getUser(h.ctx, "ada@example.com")).enabled).toBe(true);
    expect((await cli(["groups", "add", "Pilots"])).code).toBe(0);
    expect((await cli(["groups", "members", "add", "Pilots", "ada@example.com"])).code).toBe(0);
    expect((await cli(["groups", "members", "list", "Pilots", "--json"])).json()).toEqual(["ada@example.com"]);
    expect((await cli(["groups", "history", "Pilots", "--json"])).json()).toMatchObject({ group: { name: "Pilots" }, total: 2, changes: [{ action: "add to group Pilots", subject: "ada@example.com" }, { action: "create group" }] });
    expect((await cli(["activity", "--action", "add to group", "--limit", "1", "--json"])).json()).toMatchObject({ items: [{ action: "add to group Pilots", subject: "ada@example.com" }] });
    // A deleted group's history over the API, by the name it had.
    expect((await cli(["groups", "add", "Temp crew"])).code).toBe(0);
    expect((await cli(["groups", "remove", "Temp crew"])).code).toBe(0);
    const goneGroup = await cli(["groups", "history", "Temp crew"]);
    expect(goneGroup.stdout, goneGroup.stderr).toMatch(/^Temp crew \(deleted \S+ by .+, group [0-9a-f-]{36}\): 2 change\(s\), newest first\n/);
    expect((await cli(["groups", "history", "Temp crew", "--json"])).json()).toMatchObject({ group: null, deleted: { name: "Temp crew" }, total: 2 });
    expect((await cli(["users", "add", "--email", "bob@example.com", "--display-name", "Bob"])).code).toBe(0);
    const both = await cli(["users", "disable", "ada@example.com", "bob@example.com", "--json"]);
    expect(both.json()).toMatchObject({ action: "disable", changed: 2, unchanged: 0 });
    expect((await getUser(h.ctx, "bob@example.com")).enabled).toBe(false);
    const tagged = await cli(["users", "tag", "ada@example.com", "bob@example.com", "--add", "Remote"]);
    expect([tagged.code, tagged.stdout], tagged.stderr).toEqual([0, 'added tag "Remote" to 2 user(s)\n']);
    expect((await getUser(h.ctx, "bob@example.com")).tags).toEqual(["Manual", "Remote"]);
    const untagged = await cli(["users", "tag", "--matching", "--tag", "Remote", "--remove", "remote", "--json"]);
    expect(untagged.json()).toMatchObject({ action: "removeTag", tag: "remote", changed: 2, unchanged: 0 });
    expect((await getUser(h.ctx, "ada@example.com")).tags).toEqual(["Manual", "pilot"]);
    const systemTag = await cli(["users", "tag", "ada@example.com", "--remove", "ID synced"]);
    expect([systemTag.code, systemTag.stderr]).toEqual([2, expect.stringContaining('tag: "ID synced" is a source\'s tag')]);
    const notBoth = await cli(["users", "remove", "ada@example.com", "bob@example.com", "nobody@example.com"]);
    expect([notBoth.code, notBoth.stderr]).toEqual([3, expect.stringContaining('No user "nobody@example.com"')]);
    expect((await cli(["users", "remove", "ada@example.com", "bob@example.com"])).code).toBe(0);
    await expect(getUser(h.ctx, "ada@example.com")).rejects.toMatchObject({ code: "not_found" });

    const [tested, sync] = await Promise.all([cli(["sources", "test", "contoso", "--json"]), cli(["sync", "contoso", "--full", "--json"])]);
    expect(tested.json()).toMatchObject({ ok: true, checks: [{ name: "token", ok: true }, { name: "users", ok: true }, { name: "delta", ok: true }, { name: "groups", ok: true }] });
    expect(sync.code, sync.stderr).toBe(0);
    const summary = sync.json<{ runId: string; mode: string; status: string; counts: Record<string, number> }>();
    // The same document a local `rollcall sync --json` prints.
    expect(Object.keys(summary).sort()).toEqual(["counts", "dryRun", "mode", "runId", "status"]);
    expect(summary).toMatchObject({ mode: "full", status: "succeeded" });
    const { rows } = await sql<{ counts: Record<string, number>; status: string }>`select counts, status from sync_runs where id = ${summary.runId}`.execute(h.store.db);
    expect(rows[0]).toEqual({ counts: summary.counts, status: "succeeded" });
    const shown = (await cli(["runs", "show", summary.runId, "--json"])).json<{ requestedBy: string }>();
    expect(shown).toMatchObject({ id: summary.runId, status: "succeeded", mode: "full", trigger: "api", requestedBy: expect.stringContaining("@") });
    expect((await cli(["runs", "show", summary.runId])).stdout).toContain(`  full, api by ${shown.requestedBy}, `);

    // A source added and changed through the server: the secret travels once, from an environment variable.
    const emu = h.emulator;
    const added2 = await cli(
      ["sources", "add", "entra", "--name", "second", "--tenant-id", emu.tenantId, "--client-id", emu.clientId, "--client-secret-env", "EMU_SECRET", "--login-url", emu.loginUrl, "--graph-url", emu.graphUrl, "--schedule", "12h", "--json"],
      { EMU_SECRET: emu.clientSecret },
    );
    expect(added2.code, added2.stderr).toBe(0);
    expect(added2.json()).toMatchObject({ name: "second", secret: { set: true }, config: { tenantId: emu.tenantId, schedule: { everyMs: 12 * 3_600_000 } } });
    const updated2 = await cli(["sources", "update", "second", "--deletion-threshold-count", "5", "--json"]);
    expect(updated2.code, updated2.stderr).toBe(0);
    expect(updated2.json()).toMatchObject({ config: { deletionThreshold: { percent: 10, count: 5 }, schedule: { everyMs: 12 * 3_600_000 } } });
    // Switched on without an interval, a schedule syncs once a day.
    expect((await cli(["sources", "update", "second", "--schedule", "on", "--json"])).json()).toMatchObject({ config: { schedule: { everyMs: 24 * 3_600_000 } } });
    const renamed2 = await cli(["sources", "update", "second", "--rename", "Second Tenant", "--json"]);
    expect(renamed2.code, renamed2.stderr).toBe(0);
    expect(renamed2.json()).toMatchObject({ name: "Second Tenant", config: { deletionThreshold: { count: 5 } } });
    const removed2 = await cli(["sources", "remove", "Second Tenant", "--users", "delete", "--json"]);
    expect(removed2.code, removed2.stderr).toBe(0);
    expect(removed2.json()).toMatchObject({ name: "Second Tenant", removal: { users: "delete", usersAffected: 0, groupsAffected: 0 } });

    const csv = join(dir, "staff.csv");
    writeFileSync(csv, "email,displayName,department\ngrace@example.com,Grace Hopper,Navy\nbad-email,Nobody,\n");
    const preview = await cli(["import", csv, "--dry-run", "--json"]);
    expect(preview.code).toBe(1);
    expect(preview.json()).toMatchObject({ dryRun: true, applied: false, source: "staff.csv", counts: { rows: 2, created: 1, invalid: 1 }, problems: [{ row: 3, field: "email" }] });
    const refused = await cli(["import", csv, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ applied: false, counts: { invalid: 1 } });
    await expect(getUser(h.ctx, "grace@example.com")).rejects.toMatchObject({ code: "not_found" });
    const partial = await cli(["import", csv, "--partial", "--json"]);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.json()).toMatchObject({ applied: true, partial: true, counts: { created: 1 } });
    expect((await getUser(h.ctx, "grace@example.com")).source).toMatchObject({ type: "import", name: "staff.csv" });
    // Columns it cannot place: the server keeps such a file for the console; the CLI, which maps with --mapping, discards it.
    const french = join(dir, "personnel.csv");
    writeFileSync(french, "Mél,Nom affiché\nines@example.com,Inès Durand\n");
    // A missing file is the same error, with the same exit code, as locally.
    const missing = await cli(["import", join(dir, "nope.csv"), "--dry-run", "--json"]);
    expect([missing.code, JSON.parse(missing.stderr).error.code]).toEqual([3, "not_found"]);
    const unplaced = await cli(["import", french, "--dry-run"]);
    expect(unplaced.code).not.toBe(0);
    expect(unplaced.stderr).toContain('Not recognised: "Mél".');
    expect((await sql<{ n: number }>`select count(*)::int as n from import_uploads where committed is null`.execute(h.store.db)).rows[0]!.n).toBe(0);
    const mapping = join(dir, "columns.json");
    writeFileSync(mapping, "\uFEFF" + JSON.stringify({ Mél: "email" })); // as Notepad saves it, with a BOM
    const mapped = await cli(["import", french, "--mapping", mapping, "--json"]);
    expect(mapped.json()).toMatchObject({ applied: true, counts: { created: 1 }, columns: { mapped: [{ column: "Mél", field: "email" }, { column: "Nom affiché", field: "displayName" }] } });

    const out = join(dir, "export.csv");
    const exported = await cli(["export", "--out", out, "--source", "staff.csv", "--json"]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.json()).toMatchObject({ format: "csv", out, users: 1, columns: expect.arrayContaining(["email", "displayName"]) });
    expect(readFileSync(out, "utf8")).toContain("grace@example.com");
    const piped = await cli(["export", "--out", "-", "--source", "staff.csv"]);
    expect([piped.code, piped.stdout, piped.stderr]).toEqual([0, readFileSync(out, "utf8"), expect.stringContaining("exported 1 user(s) to standard output (csv,")]);
  }, 900_000);

  it("`rollcall sync --json` through the server follows the run through its photo step (phase photos, the source busy) and prints photosChanged", async () => {
    await updateEntraSource(h.ctx, "contoso", { config: { photos: true } });
    // Its photo batches held from the start (set once the step is seen, it could already be over on a loaded machine),
    // released once the run has been seen there.
    h.emulator.setKnobs({ batchLatencyMs: 600_000 });
    try {
      const syncing = cli(["sync", "contoso", "--full", "--json"], { ROLLCALL_TOKEN: adminToken });
      let runId: string | undefined;
      await until(async () => {
        const { rows } = await sql<{ id: string }>`select id from sync_runs where status = 'running' and progress->>'phase' = 'photos'`.execute(h.store.db);
        runId = rows[0]?.id;
        return !!runId;
      }, 120_000, "the run's photo step");
      const shown = await cli(["runs", "show", runId!, "--json"]);
      expect(shown.json()).toMatchObject({ id: runId, status: "running", progress: { phase: "photos" } });
      const second = await cli(["sync", "contoso", "--json"], { ROLLCALL_TOKEN: adminToken });
      expect(second.code).not.toBe(0);
      expect(JSON.parse(second.stderr.trim().split("\n").at(-1)!).error).toMatchObject({ code: "sync_running", details: { runId } });
      h.emulator.setKnobs({ batchLatencyMs: 0 });
      const sync = await syncing;
      expect(sync.code, sync.stderr).toBe(0);
      const summary = sync.json<{ runId: string; status: string; counts: Record<string, number> }>();
      expect(summary).toMatchObject({ runId, status: "succeeded" });
      const pictured = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.userType !== "Guest" && h.emulator.tenants.get(h.emulator.tenantId).getUserPhoto(u.id));
      expect(summary.counts.photosChanged).toBe(pictured.length);
    } finally {
      h.emulator.setKnobs({ batchLatencyMs: 0 });
      await updateEntraSource(h.ctx, "contoso", { config: { photos: false } });
    }
  }, 300_000);

  it("draws the import's progress bar on a terminal while the server commits the file", async () => {
    // 300 PINs (about 17 ms of scrypt each) keep the server's commit going long enough to be polled part-way.
    const lines = ["email,displayName,groups,pin", ...Array.from({ length: 1000 }, (_, i) => `watch${i}@example.com,Watch ${i},Watchers,${i < 300 ? 1000 + i : ""}`)];
    const file = join(dir, "watched.csv");
    writeFileSync(file, lines.join("\n") + "\n");
    const onTerminal = await underTerminal(["import", file], env({ ROLLCALL_TOKEN: adminToken, ROLLCALL_LOG_LEVEL: "silent" }));
    expect(onTerminal.code, onTerminal.output).toBe(0);
    expect(onTerminal.output).toContain("applied: 1000 created");
    const frames = importProgressFrames(onTerminal.output);
    const hashing = frames.filter((f) => f.phase === "hashing").map((f) => f.percent);
    expect(hashing.some((p) => p > 0 && p < 100), onTerminal.output).toBe(true);
    expect(frames.every((f) => f.rows === 1000 || f.phase === "reading")).toBe(true);
    expect((await getUser(h.ctx, "watch999@example.com")).groups).toEqual(["Watchers"]);
  }, 300_000);

  it("makes, lists and revokes API tokens through the server as the signed-in admin; a token may not make one", async () => {
    const created = await cli(["tokens", "create", "--name", "ci", "--role", "viewer", "--expires-in-days", "30", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.json<{ id: string; token: string }>();
    expect(token).toMatchObject({ name: "ci", role: "viewer", workspace: "default", expiresAt: expect.any(String), token: expect.stringMatching(/^rc_/) });
    // One after the other: a call with a token sets its lastUsedAt, which the list is compared on.
    const works = await cli(["users", "list", "--limit", "1", "--json"], { ROLLCALL_TOKEN: token.token });
    expect(works.code, works.stderr).toBe(0);
    const listed = await cli(["tokens", "list", "--json"]);
    expect(listed.json()).toEqual(json(await listApiTokens(h.store.db, h.ctx.workspace)));
    const [byToken, badDays] = await Promise.all([cli(["tokens", "create", "--json"], { ROLLCALL_TOKEN: adminToken }), cli(["tokens", "create", "--expires-in-days", "soon"])]);
    expect([byToken.code, JSON.parse(byToken.stderr).error.code]).toEqual([1, "forbidden"]);
    expect([badDays.code, badDays.stderr]).toEqual([2, expect.stringContaining("--expires-in-days")]);

    const revoked = await cli(["tokens", "revoke", token.id]);
    expect([revoked.code, revoked.stdout]).toEqual([0, "revoked token ci\n"]);
    const refused = await cli(["users", "list", "--json"], { ROLLCALL_TOKEN: token.token });
    expect([refused.code, JSON.parse(refused.stderr).error.code]).toEqual([1, "unauthenticated"]);
  }, 300_000);

  it("reads and changes notifications through the server", async () => {
    const set = await cli(["notifications", "settings", "--email", "ops@example.com", "--json"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json()).toEqual({ emailTo: ["ops@example.com"], webhookUrl: null, webhookSecretSet: false, webhookSecret: null, smtpConfigured: false });
    expect(await getNotificationSettings(h.store.db, h.ctx.workspace)).toMatchObject({ emailTo: ["ops@example.com"] });

    const raised = (await raiseImportFailed(h.store.db, { workspace: h.ctx.workspace, importId: "remote-import", fileName: "staff.csv", message: "Row 2: email is missing." }))!;
    const [shown, active, deliveries] = await Promise.all([
      cli(["notifications", "settings"]),
      cli(["notifications", "list", "--active", "--json"]),
      cli(["notifications", "deliveries", "--json"]),
    ]);
    expect(shown.stdout).toBe("e-mail:  ops@example.com (ROLLCALL_SMTP_URL is not set: nothing can be sent)\nwebhook: none\n");
    // Earlier tests' runs may have raised others: this one is the newest.
    expect(active.json<{ id: string }[]>()[0]).toMatchObject({ id: raised.id, title: "Import of staff.csv failed", deliveries: [expect.objectContaining({ channel: "email", target: "ops@example.com" })] });
    expect(deliveries.json<{ notificationId: string }[]>().filter((d) => d.notificationId === raised.id)).toEqual([expect.objectContaining({ channel: "email", target: "ops@example.com" })]);

    const dismissed = await cli(["notifications", "dismiss", raised.id]);
    expect([dismissed.code, dismissed.stdout]).toEqual([0, "dismissed: Import of staff.csv failed\n"]);
    const ids = async (args: string[]) => (await cli(["notifications", "list", ...args, "--json"])).json<{ id: string; dismissedBy: string }[]>();
    const [stillActive, all, missing] = await Promise.all([ids(["--active"]), ids([]), cli(["notifications", "dismiss", "00000000-0000-0000-0000-000000000000"]), cli(["notifications", "settings", "--email", ""])]);
    expect(stillActive.map((n) => n.id)).not.toContain(raised.id);
    expect(all.find((n) => n.id === raised.id)).toMatchObject({ dismissedBy: expect.stringContaining("@") });
    expect(missing.code).toBe(3);
  }, 300_000);

  it("lists, shows and changes workspaces through the server; only an owner adds or removes one", async () => {
    const [listed, updated, notOwner] = await Promise.all([
      cli(["workspaces", "list", "--json"]),
      cli(["workspaces", "update", "default", "--default-country", "GB", "--json"]),
      cli(["workspaces", "add", "branch", "--json"]),
    ]);
    expect(listed.json()).toEqual([expect.objectContaining({ name: "default", role: "admin" })]);
    expect(updated.json()).toMatchObject({ name: "default", defaultCountry: "GB" });
    expect((await resolveWorkspace(h.store.db, "default")).defaultCountry).toBe("GB");
    expect([notOwner.code, JSON.parse(notOwner.stderr).error.code]).toEqual([1, "forbidden"]);

    const { account } = await createAccount(h.store.db, { email: "owner@example.com", owner: true }, "test");
    const owner = { ROLLCALL_TOKEN: (await createSession(h.store.db, account, 1, { prefix: "rcs_" })).id };
    const [added] = await Promise.all([cli(["workspaces", "add", "branch", "--default-country", "FR"], owner), cli(["workspaces", "update", "default", "--default-country", ""])]);
    expect([added.code, added.stdout]).toEqual([0, "added workspace branch\n"]);
    const [all, shown, byAdmin] = await Promise.all([cli(["workspaces", "list", "--json"], owner), cli(["workspaces", "show", "branch"], owner), cli(["workspaces", "remove", "branch"])]);
    expect(all.json<{ name: string }[]>().map((w) => w.name)).toEqual(expect.arrayContaining(["default", "branch"]));
    expect(shown.stdout).toBe("branch (default country FR)\n");
    // The signed-in admin holds no role in the new workspace: not found for them, as for anyone outside it.
    expect(byAdmin.code).not.toBe(0);
    const removed = await cli(["workspaces", "remove", "branch", "--yes"], owner);
    expect([removed.code, removed.stdout]).toEqual([0, "removed workspace branch\n"]);
    await expect(resolveWorkspace(h.store.db, "branch")).rejects.toMatchObject({ code: "not_found" });
    const defaultStays = await cli(["workspaces", "remove", "default", "--yes", "--json"], owner);
    expect([defaultStays.code, JSON.parse(defaultStays.stderr).error.message]).toEqual([2, 'The "default" workspace cannot be removed']);
  }, 300_000);

  it("says which commands only work locally when a server is set", async () => {
    const [migrate, admins] = await Promise.all([cli(["migrate"]), cli(["admins", "list", "--json"])]);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain("`rollcall migrate` works on this machine's database only");
    expect(migrate.stderr).toContain(h.url);
    expect(admins.code).toBe(2);
    expect(admins.stdout).toBe("");
    expect(JSON.parse(admins.stderr).error.message).toContain("`rollcall admins list` works on this machine's database only");
  }, 300_000);

  it("refuses a server address that is no http(s) URL, and names an unreachable server as such", async () => {
    const [flag, variable, unreachable] = await Promise.all([
      cli(["users", "list", "--server", "not-a-url", "--json"], { ROLLCALL_TOKEN: adminToken }),
      cli(["users", "list"], { ROLLCALL_SERVER: "rollcall.example.com", ROLLCALL_TOKEN: adminToken }),
      cli(["users", "list", "--json"], { ROLLCALL_SERVER: "http://127.0.0.1:9", ROLLCALL_TOKEN: adminToken }),
    ]);
    expect(flag.code).toBe(2);
    expect(JSON.parse(flag.stderr).error).toMatchObject({ code: "invalid_input", details: { fields: [{ field: "server", value: "not-a-url" }] } });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toBe("error [invalid_input]: ROLLCALL_SERVER: must be the address of a Rollcall server, e.g. https://rollcall.example.com\n");
    expect(unreachable.code).toBe(1);
    expect(JSON.parse(unreachable.stderr).error).toMatchObject({ code: "server_unreachable", message: expect.stringContaining("Could not reach the Rollcall server at http://127.0.0.1:9") });
  }, 300_000);

  it("an expired or revoked session, or a server it was not saved for, gets the rollcall login hint", async () => {
    const other = await cli(["users", "list"], { ROLLCALL_SERVER: "http://127.0.0.1:9" });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("error [unauthenticated]: You are not signed in to http://127.0.0.1:9; run `rollcall login --server http://127.0.0.1:9`");

    await sql`update sessions set expires_at = now() - interval '1 minute'`.execute(h.store.db);
    const expired = await cli(["users", "list", "--json"]);
    expect(expired.code).toBe(1);
    expect(expired.stdout).toBe("");
    const error = JSON.parse(expired.stderr).error;
    expect(error.code).toBe("unauthenticated");
    expect(error.message).toContain(`run \`rollcall login --server ${h.url}\``);

    await sql`delete from sessions`.execute(h.store.db);
    const revoked = await cli(["groups", "list"]);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/\[unauthenticated\].*rollcall login --server/);
  }, 300_000);
});
