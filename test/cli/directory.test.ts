import { pretendHeld } from "../support/data-dir-lock.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { userInfo } from "node:os";
import { cliEngine, databaseForCli, freshDataFolder, engines, type TestStore } from "../support/db.ts";
import { runCli } from "../support/cli.ts";

/** The CLI's changes are by the operating-system account running it: "by alice (CLI)" where a pattern says "by cli". */
const me = userInfo().username;
const byMe = (pattern: RegExp) => new RegExp(pattern.source.replaceAll("by cli", `by ${me.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(CLI\\)`));

const userFields = [
  "id", "userPrincipalName", "email", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId",
  "mobilePhone", "businessPhones", "preferredLanguage", "enabled", "aliases", "cardNumbers", "customAttributes",
  "source", "tags", "groups", "manager", "createdAt", "updatedAt", "hasPhoto",
].sort();

/**
 * The cases of the CLI's own behaviour (its flags, output and exit codes) run on cliEngine: PostgreSQL when the run
 * has one, PGlite otherwise. What they store is tested on both engines in test/core and test/api, and a CLI process
 * opens PostgreSQL in a fraction of the seconds PGlite's start takes. Adding and listing users, erasing a deleted
 * user's history (tested nowhere else) and the embedded database's lock run on every engine.
 */

// Each case starts several CLI processes, each opening the database: under a full test run's load that
// can pass the default minute without anything being stuck.
describe.each(engines)("the rollcall CLI on %s", { timeout: 180_000 }, (engine) => {
  const cliCase = it.runIf(engine === cliEngine);
  let dataDir: string;
  let store: TestStore | undefined;
  let env: Record<string, string | undefined>;
  const cli = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    dataDir = freshDataFolder("rollcall-cli-");
    env = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined, HINTS_SECRET: "not-a-real-secret" };
    store = await databaseForCli(engine);
    if (store) env.DATABASE_URL = store.url;
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("adds a user from kebab-case flags and prints only JSON on stdout", async () => {
    await cli("workspaces", "add", "acme", "--default-country", "GB");
    const added = await cli(
      "users", "add", "--workspace", "acme", "--email", "ada@example.com", "--display-name", "Ada Lovelace",
      "--mobile-phone", "07911 123456", "--card-number", "0042", "--card-number", "0043", "--alias", "ada", "--pin", "2468",
      "--custom-attribute", "costCentre=R&D", "--json",
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.json()).toMatchObject({ email: "ada@example.com", mobilePhone: "+447911123456", cardNumbers: ["0042", "0043"], customAttributes: { costCentre: "R&D" } });
  });

  cliCase("takes create as another name for add", async () => {
    expect((await cli("workspaces", "create", "beta")).code).toBe(0);
    const created = await cli("groups", "create", "Crew", "--workspace", "beta", "--json");
    expect(created.code, created.stderr).toBe(0);
    expect(created.json()).toMatchObject({ name: "Crew" });
  });

  it("lists users with exactly the contract's field names, source as an object and group names", async () => {
    expect((await cli("groups", "add", "Pilots", "--workspace", "acme")).code).toBe(0);
    expect((await cli("groups", "members", "add", "Pilots", "ada@example.com", "--workspace", "acme")).code).toBe(0);
    const list = await cli("users", "list", "--workspace", "acme", "--json");
    const users = list.json<Record<string, unknown>[]>();
    expect(users).toHaveLength(1);
    expect(list.stdout).toBe(JSON.stringify(users, null, 2) + "\n"); // printed as it is read, as JSON.stringify printed it
    expect(Object.keys(users[0]!).sort()).toEqual(userFields);
    expect(users[0]).toMatchObject({ source: { type: "manual", name: "manual", externalId: null }, groups: ["Pilots"], tags: ["Manual"] });
    const groups = (await cli("groups", "list", "--workspace", "acme", "--json")).json<Record<string, unknown>[]>();
    expect(groups).toEqual([expect.objectContaining({ name: "Pilots", description: null, source: expect.objectContaining({ type: "manual" }), members: ["ada@example.com"] })]);
    // Read by a person: one member a line.
    expect((await cli("groups", "show", "Pilots", "--workspace", "acme")).stdout).toMatch(/\n {2}members \(1\):\n {4}ada@example\.com\n?$/);
  });

  cliCase("shows a user's history, newest first: who changed which field, the group joined, the creation", async () => {
    expect((await cli("users", "update", "ada@example.com", "--workspace", "acme", "--job-title", "Analyst")).code).toBe(0);
    const history = await cli("users", "history", "ada@example.com", "--workspace", "acme");
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(byMe(/^Ada Lovelace <ada@example\.com>: 3 change\(s\), newest first\n {2}\S+ {2}Updated by cli\n {6}Job title: \(empty\) → Analyst\n {2}\S+ {2}Added to group Pilots by cli\n {2}\S+ {2}Created by cli\n/));
    expect((await cli("users", "history", "ada@example.com", "--workspace", "acme", "--limit", "1", "--json")).json()).toMatchObject({ total: 3, changes: [{ action: "update" }] });
    // A deleted user's history is kept, and found by the address it had.
    expect((await cli("users", "add", "--email", "brief@example.com", "--display-name", "Brief", "--workspace", "acme")).code).toBe(0);
    expect((await cli("users", "remove", "brief@example.com", "--workspace", "acme")).code).toBe(0);
    expect((await cli("users", "history", "brief@example.com", "--workspace", "acme", "--json")).json()).toMatchObject({ user: null, total: 2, changes: [{ action: "delete" }, { action: "create" }] });
    const never = await cli("users", "history", "never@example.com", "--workspace", "acme");
    expect(never.code).not.toBe(0);
    expect(never.stderr).toMatch(/no user deleted from this workspace had that id, email or userPrincipalName/);
  });

  cliCase("shows a group's history, newest first: whom each entry is about", async () => {
    expect((await cli("groups", "members", "remove", "Pilots", "ada@example.com", "--workspace", "acme")).code).toBe(0);
    const history = await cli("groups", "history", "pilots", "--workspace", "acme");
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(byMe(/^Pilots: 3 change\(s\), newest first\n {2}\S+ {2}Removed from group Pilots: ada@example\.com by cli\n {2}\S+ {2}Added to group Pilots: ada@example\.com by cli\n {2}\S+ {2}Create group: Pilots by cli\n/));
    expect((await cli("groups", "history", "Pilots", "--workspace", "acme", "--limit", "1", "--json")).json()).toMatchObject({ group: { name: "Pilots" }, total: 3, changes: [{ action: "remove from group Pilots" }] });
    expect((await cli("groups", "members", "add", "Pilots", "ada@example.com", "--workspace", "acme")).code).toBe(0);
  });

  cliCase("shows the workspace's activity, newest first, a page at a time", async () => {
    const first = await cli("activity", "--workspace", "acme", "--limit", "2");
    expect(first.code, first.stderr).toBe(0);
    const next = /… older changes: --before (\d+)$/.exec(first.stdout.trim())?.[1];
    expect(first.stdout).toMatch(byMe(/^\S+ {2}Added to group Pilots: ada@example\.com by cli\n\S+ {2}Removed from group Pilots: ada@example\.com by cli\n/));
    const older = await cli("activity", "--workspace", "acme", "--before", next!, "--action", "update", "--json");
    expect(older.json()).toMatchObject({ items: [{ action: "update", subject: "ada@example.com", after: { jobTitle: "Analyst" } }], next: null });
    expect((await cli("activity", "--workspace", "acme", "--actor", "someone-else")).stdout).toBe("No changes recorded.\n");
    // The stored actor names the account; `--actor cli` finds every account's changes.
    for (const actor of [`cli:${me}`, "cli"]) {
      expect((await cli("activity", "--workspace", "acme", "--actor", actor, "--limit", "1", "--json")).json(), actor).toMatchObject({ items: [{ actor: `cli:${me}` }] });
    }
    const unknownKind = await cli("activity", "--workspace", "acme", "--action", "frobnicate");
    expect([unknownKind.code, unknownKind.stderr]).toEqual([2, expect.stringContaining("It must be a kind of change: create, update, delete,")]);
  });

  cliCase("acts on a user by email, and fails with a non-zero exit and nothing on stdout when it cannot", async () => {
    const disabled = await cli("users", "disable", "ada@example.com", "--workspace", "acme", "--json");
    expect(disabled.json()).toMatchObject({ enabled: false });
    const bad = await cli("users", "add", "--workspace", "acme", "--email", "not-an-email", "--display-name", "X", "--json");
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe("");
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: "invalid_input", details: { fields: [{ field: "email" }] } } });
    const dup = await cli("users", "add", "--workspace", "acme", "--email", "ADA@example.com", "--display-name", "Twin");
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain("Ada Lovelace");
    const unknown = await cli("users", "list", "--workspace", "nowhere");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("rollcall workspaces add nowhere");
    const removed = await cli("users", "remove", "ada@example.com", "--workspace", "acme", "--json");
    expect(removed.code).toBe(0);
    expect((await cli("users", "list", "--workspace", "acme", "--json")).json()).toEqual([]);
  });

  cliCase("disables, enables and removes several users at once, all or nothing", async () => {
    for (const name of ["kim", "lee", "max"]) expect((await cli("users", "add", "--workspace", "acme", "--email", `${name}@example.com`, "--display-name", name)).code).toBe(0);
    const disabled = await cli("users", "disable", "kim@example.com", "LEE@example.com", "--workspace", "acme");
    expect([disabled.code, disabled.stdout], disabled.stderr).toEqual([0, "disabled 2 user(s)\n"]);
    const again = await cli("users", "disable", "kim@example.com", "max@example.com", "--workspace", "acme", "--json");
    expect(again.json()).toMatchObject({ action: "disable", changed: 1, unchanged: 1, users: [{ subject: "kim@example.com", changed: false }, { subject: "max@example.com", changed: true }] });
    expect((await cli("users", "enable", "kim@example.com", "lee@example.com", "max@example.com", "--workspace", "acme")).stdout).toBe("enabled 3 user(s)\n");
    expect((await cli("users", "enable", "kim@example.com", "--workspace", "acme")).stdout).toBe("kim <kim@example.com> was already enabled; nothing changed\n");
    expect((await cli("users", "disable", "kim@example.com", "--workspace", "acme")).stdout).toBe("disabled kim <kim@example.com>\n");

    const matching = await cli("users", "disable", "--matching", "--search", "LEE@", "--workspace", "acme", "--json");
    expect(matching.json()).toMatchObject({ action: "disable", changed: 1, users: [{ subject: "lee@example.com" }] });
    for (const args of [["users", "disable"], ["users", "disable", "kim@example.com", "--matching"]]) {
      const unclear = await cli(...args, "--workspace", "acme");
      expect([unclear.code, unclear.stderr]).toEqual([2, expect.stringContaining("name the users, or give --matching")]);
    }

    const refused = await cli("users", "remove", "kim@example.com", "nobody@example.com", "--workspace", "acme");
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('No user "nobody@example.com" in workspace acme; nothing was changed');
    const removed = await cli("users", "remove", "kim@example.com", "lee@example.com", "max@example.com", "--workspace", "acme", "--json");
    expect(removed.json()).toMatchObject({ action: "delete", changed: 3 });
    expect((await cli("users", "list", "--workspace", "acme", "--search", "@example.com", "--json")).json()).toEqual([]);
  });

  cliCase("adds a tag to users and removes it (named, or --matching the filters), all or nothing; a source's tag or no tag is refused", async () => {
    await cli("workspaces", "add", "tags");
    for (const name of ["ann", "ben", "cat"]) expect((await cli("users", "add", "--workspace", "tags", "--email", `${name}@example.com`, "--display-name", name)).code).toBe(0);
    expect((await cli("users", "update", "cat@example.com", "--tag", "night", "--workspace", "tags")).code).toBe(0);
    const added = await cli("users", "tag", "ann@example.com", "cat@example.com", "--add", "Night", "--workspace", "tags");
    expect([added.code, added.stdout], added.stderr).toEqual([0, 'added tag "Night" to 1 user(s); 1 had it already\n']);
    // One tag whatever its case: the filter finds cat's "night" too.
    const listed = (await cli("users", "list", "--tag", "Night", "--workspace", "tags", "--json")).json<{ email: string; tags: string[] }[]>();
    expect(listed.map((u) => [u.email, u.tags])).toEqual([["ann@example.com", ["Manual", "Night"]], ["cat@example.com", ["Manual", "night"]]]);
    const history = (await cli("users", "history", "ann@example.com", "--workspace", "tags", "--json")).json<{ changes: object[] }>();
    expect(history.changes[0]).toMatchObject({ action: "update", before: { tags: ["Manual"] }, after: { tags: ["Manual", "Night"] } });

    const removed = await cli("users", "tag", "--matching", "--search", "@example.com", "--remove", "NIGHT", "--workspace", "tags", "--json");
    expect(removed.json()).toMatchObject({ action: "removeTag", tag: "NIGHT", changed: 2, unchanged: 1, more: 0 });
    expect((await cli("users", "tag", "--matching", "--remove", "night", "--workspace", "tags")).stdout).toBe('removed tag "night" from 0 user(s); 3 did not have it\n');
    expect((await cli("users", "list", "--search", "@example.com", "--workspace", "tags", "--json")).json<{ tags: string[] }[]>().map((u) => u.tags)).toEqual([["Manual"], ["Manual"], ["Manual"]]);

    for (const [args, message] of [
      [["ann@example.com"], "give the tag to add (--add TAG) or to remove (--remove TAG)"],
      [["ann@example.com", "--add", "a", "--remove", "b"], "give the tag to add (--add TAG) or to remove (--remove TAG)"],
      [["--add", "a"], "name the users, or give --matching"],
      [["ann@example.com", "--remove", "manual"], '"manual" is a source\'s tag'],
      [["ann@example.com", "--add", "x".repeat(65)], "tag: must be at most 64 characters long"],
    ] as const) {
      const refused = await cli("users", "tag", ...args, "--workspace", "tags");
      expect([refused.code, refused.stdout, refused.stderr]).toEqual([2, "", expect.stringContaining(message)]);
    }
    const json = await cli("users", "tag", "ann@example.com", "--add", "ID synced", "--workspace", "tags", "--json");
    expect([json.code, json.stdout]).toEqual([2, ""]);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "invalid_input", details: { fields: [{ field: "tag" }] } } });
    const missing = await cli("users", "tag", "ann@example.com", "nobody@example.com", "--add", "vip", "--workspace", "tags");
    expect([missing.code, missing.stderr]).toEqual([3, expect.stringContaining('No user "nobody@example.com" in workspace tags; nothing was changed')]);
    expect((await cli("users", "list", "--tag", "vip", "--workspace", "tags", "--json")).json()).toEqual([]);
  });

  cliCase("lists the workspace's tags with how many users hold each (users tags), one whatever its case, sources' own marked", async () => {
    await cli("workspaces", "add", "tagged");
    expect((await cli("users", "tags", "--workspace", "tagged")).stdout).toBe("No users yet, so no tags.\n");
    for (const [name, tags] of [["ann", "VIP;Night"], ["ben", "vip"], ["cat", "vip"], ["dan", ""]] as const) {
      const added = await cli("users", "add", "--workspace", "tagged", "--email", `${name}@example.com`, "--display-name", name, ...(tags ? tags.split(";").flatMap((tag) => ["--tag", tag]) : []));
      expect(added.code, added.stderr).toBe(0);
    }
    const tags = await cli("users", "tags", "--workspace", "tagged", "--json");
    expect(tags.json()).toEqual({ items: [
      { tag: "Manual", users: 4, source: true },
      { tag: "Night", users: 1, source: false },
      { tag: "vip", users: 3, source: false },
    ] });
    const shown = await cli("users", "tags", "--workspace", "tagged");
    expect(shown.stdout.split("\n").slice(2).map((line) => line.replace(/\s+/g, " ").trim())).toEqual(["Manual 4 source's", "Night 1", "vip 3", ""]);
    const listed = await cli("users", "list", "--tag", "VIP", "--workspace", "tagged", "--json");
    expect(listed.json<{ email: string }[]>().map((u) => u.email)).toEqual(["ann@example.com", "ben@example.com", "cat@example.com"]);
  });

  cliCase("lists, exports and acts on the users of one department (--department, any case); an unknown one is refused with the names", async () => {
    await cli("workspaces", "add", "depts");
    for (const [name, department] of [["fin1", "Finance"], ["fin2", "finance"], ["eng1", "Engineering"]] as const) {
      const added = await cli("users", "add", "--workspace", "depts", "--email", `${name}@example.com`, "--display-name", name, "--department", department);
      expect(added.code, added.stderr).toBe(0);
    }
    expect((await cli("users", "add", "--workspace", "depts", "--email", "nodept@example.com", "--display-name", "nodept")).code).toBe(0);
    const departments = await cli("users", "departments", "--workspace", "depts", "--json");
    expect(departments.json()).toEqual({ items: [{ department: "Engineering", users: 1 }, { department: "Finance", users: 2 }], withoutDepartment: 1 });
    const shown = await cli("users", "departments", "--workspace", "depts");
    expect(shown.stdout.split("\n").slice(2).map((line) => line.replace(/\s+/g, " ").trim())).toEqual(["Engineering 1", "Finance 2", "(none: --has-department false) 1", ""]);
    const without = await cli("users", "list", "--has-department", "false", "--workspace", "depts", "--json");
    expect(without.json<{ email: string }[]>().map((u) => u.email)).toEqual(["nodept@example.com"]);
    const listed = await cli("users", "list", "--department", "FINANCE", "--workspace", "depts", "--json");
    expect(listed.json<{ email: string }[]>().map((u) => u.email)).toEqual(["fin1@example.com", "fin2@example.com"]);
    const unknown = await cli("users", "list", "--department", "Accounts", "--workspace", "depts");
    expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([2, "", expect.stringContaining('no department is named "Accounts" in workspace "depts"; its departments are "Engineering", "Finance"')]);
    const exported = await cli("export", "--out", "-", "--department", "engineering", "--workspace", "depts");
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain("eng1@example.com");
    expect(exported.stdout).not.toContain("fin1@example.com");
    const disabled = await cli("users", "disable", "--matching", "--department", "finance", "--workspace", "depts", "--json");
    expect(disabled.json()).toMatchObject({ action: "disable", changed: 2 });
    expect((await cli("users", "list", "--enabled", "false", "--workspace", "depts", "--json")).json<{ email: string }[]>().map((u) => u.email)).toEqual(["fin1@example.com", "fin2@example.com"]);
  });

  it("lists, exports and acts on the members of a group's nested groups with --nested; direct members without it; --nested alone is refused", async () => {
    await cli("workspaces", "add", "nest");
    const inNest = (...args: string[]) => cli(...args, "--workspace", "nest");
    for (const name of ["ada", "bob", "cy", "eve"]) expect((await inNest("users", "add", "--email", `${name}@example.com`, "--display-name", name)).code).toBe(0);
    for (const group of ["All staff", "Night shift", "Night leads"]) expect((await inNest("groups", "add", group)).code).toBe(0);
    for (const [group, member] of [["Night leads", "cy@example.com"], ["Night shift", "ada@example.com"], ["Night shift", "Night leads"], ["All staff", "Night shift"], ["All staff", "eve@example.com"]]) {
      const added = await inNest("groups", "members", "add", group!, member!);
      expect(added.code, added.stderr).toBe(0);
    }
    const emails = (result: { json<T>(): T }) => result.json<{ email: string }[]>().map((u) => u.email);
    expect(emails(await inNest("users", "list", "--group", "All staff", "--json"))).toEqual(["eve@example.com"]);
    expect(emails(await inNest("users", "list", "--group", "all staff", "--nested", "--json"))).toEqual(["ada@example.com", "cy@example.com", "eve@example.com"]);
    const exported = await inNest("export", "--out", "-", "--group", "All staff", "--nested");
    expect(exported.code, exported.stderr).toBe(0);
    expect(["ada", "bob", "cy", "eve"].filter((name) => exported.stdout.includes(`${name}@example.com`))).toEqual(["ada", "cy", "eve"]);
    const disabled = await inNest("users", "disable", "--matching", "--group", "All staff", "--nested", "--json");
    expect(disabled.json()).toMatchObject({ action: "disable", changed: 3 });
    expect(emails(await inNest("users", "list", "--enabled", "true", "--json"))).toEqual(["bob@example.com"]);
    const alone = await inNest("users", "list", "--nested");
    expect([alone.code, alone.stdout, alone.stderr]).toEqual([2, "", expect.stringContaining("nested needs a group: it adds the members of that group's member groups")]);
    // A user's groups through nesting, each with the direct group it comes through; a group's users at any depth.
    const cy = await inNest("users", "show", "cy@example.com");
    expect(cy.stdout).toContain("\n  groups:      Night leads\n  nested in:   All staff (through Night leads), Night shift (through Night leads)\n");
    expect((await inNest("users", "show", "cy@example.com", "--json")).json()).toMatchObject({ groups: ["Night leads"], nestedGroups: [{ name: "All staff", through: ["Night leads"] }, { name: "Night shift", through: ["Night leads"] }] });
    const all = await inNest("groups", "show", "All staff");
    expect(all.stdout).toContain("\n  users at any depth: 3 (its own and its nested groups', each once: users list --group NAME --nested)\n  members (2):\n");
    expect((await inNest("groups", "show", "All staff", "--json")).json()).toMatchObject({ memberCount: 2, nestedUserCount: 3 });
  });

  cliCase("says on standard error that a phone number's extension was dropped, and in --json as warnings; the history keeps it", async () => {
    const dropped = (raw: string, ext: string, e164: string) => `"${raw}" has the extension ${ext}, which a phone number in E.164 cannot hold: kept ${e164} without it`;
    const added = await cli("users", "add", "--workspace", "acme", "--email", "ext@example.com", "--display-name", "Ext", "--mobile-phone", "+1 425 555 0100 ext. 123");
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^added Ext <ext@example\.com>/);
    expect(added.stdout).toContain("mobile:      +14255550100");
    expect(added.stderr).toBe(`warning: mobilePhone: ${dropped("+1 425 555 0100 ext. 123", "123", "+14255550100")}\n`);

    const updated = await cli("users", "update", "ext@example.com", "--workspace", "acme", "--business-phone", "+1 425 555 0199 x77", "--json");
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.json()).toMatchObject({ businessPhones: ["+14255550199"], warnings: [`businessPhones[0]: ${dropped("+1 425 555 0199 x77", "77", "+14255550199")}`] });
    expect(updated.stderr).toBe("");
    const quiet = await cli("users", "update", "ext@example.com", "--workspace", "acme", "--department", "Ops", "--json");
    expect([quiet.json<{ warnings: string[] }>().warnings, quiet.stderr]).toEqual([[], ""]);

    const history = await cli("users", "history", "ext@example.com", "--workspace", "acme", "--json");
    expect(history.json<{ changes: { action: string }[] }>().changes.map((c) => c.action)).toEqual(["update", "warning", "update", "warning", "create"]);
    expect((await cli("users", "history", "ext@example.com", "--workspace", "acme")).stdout).toContain(dropped("+1 425 555 0100 ext. 123", "123", "+14255550100"));
    expect((await cli("users", "remove", "ext@example.com", "--workspace", "acme")).code).toBe(0);
  });

  cliCase("sets one custom attribute with --custom-attribute k=v and removes one with k=, keeping the others", async () => {
    const added = await cli("users", "add", "--workspace", "acme", "--email", "cc@example.com", "--display-name", "Cc", "--custom-attribute", "costCentre=4711", "--custom-attribute", "site=HQ", "--custom-attribute", "none=", "--json");
    expect(added.json()).toMatchObject({ customAttributes: { costCentre: "4711", site: "HQ" } });
    const office = await cli("users", "update", "cc@example.com", "--workspace", "acme", "--custom-attribute", "office=London", "--json");
    expect(office.code, office.stderr).toBe(0);
    expect(office.json<{ customAttributes: unknown }>().customAttributes).toEqual({ costCentre: "4711", site: "HQ", office: "London" });
    const removed = await cli("users", "update", "cc@example.com", "--workspace", "acme", "--custom-attribute", "site=", "--json");
    expect(removed.json<{ customAttributes: unknown }>().customAttributes).toEqual({ costCentre: "4711", office: "London" });
    const history = await cli("users", "history", "cc@example.com", "--workspace", "acme", "--limit", "2");
    expect(history.stdout).toMatch(byMe(/Updated by cli\n {6}Custom attribute “site”: HQ → \(empty\)\n {2}\S+ {2}Updated by cli\n {6}Custom attribute “office”: \(empty\) → London\n/));
    expect((await cli("users", "update", "--help")).stdout).toMatch(/key=\s+removes it/);
  });

  cliCase('replaces a list field with --alias A --alias B and empties it with --alias ""', async () => {
    const added = await cli("users", "add", "--email", "lists@example.com", "--display-name", "Lists", "--alias", "a1", "--card-number", "7001", "--json");
    expect(added.code, added.stderr).toBe(0);
    const replaced = await cli("users", "update", "lists@example.com", "--alias", "a2", "--alias", "a3", "--json");
    expect(replaced.json()).toMatchObject({ aliases: ["a2", "a3"], cardNumbers: ["7001"] });
    const emptied = await cli("users", "update", "lists@example.com", "--alias", "", "--json");
    expect(emptied.code, emptied.stderr).toBe(0);
    expect(emptied.json()).toMatchObject({ aliases: [], cardNumbers: ["7001"] });
  });

  cliCase("suggests next commands ready to paste: in the same workspace, a name with spaces quoted", async () => {
    expect((await cli("workspaces", "add", "hints")).code).toBe(0);
    const added = await cli(
      "sources", "add", "entra", "--workspace", "hints", "--name", "Contoso EU", "--tenant-id", "11111111-1111-1111-1111-111111111111",
      "--client-id", "22222222-2222-2222-2222-222222222222", "--client-secret-env", "HINTS_SECRET",
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("Next: `rollcall sources test 'Contoso EU' --workspace hints`, then `rollcall sync 'Contoso EU' --workspace hints`");
  });

  cliCase("renames a group and changes its description; with neither, says what to give", async () => {
    expect((await cli("groups", "add", "Night Shift", "--workspace", "acme")).code).toBe(0);
    const renamed = await cli("groups", "update", "night shift", "--name", "Night Crew", "--description", "After 22:00", "--workspace", "acme", "--json");
    expect(renamed.json()).toMatchObject({ name: "Night Crew", description: "After 22:00", source: { type: "manual" } });
    expect((await cli("groups", "update", "Night Crew", "--description", "", "--workspace", "acme", "--json")).json()).toMatchObject({ description: null });
    const nothing = await cli("groups", "update", "Night Crew", "--workspace", "acme");
    expect([nothing.code, nothing.stderr]).toEqual([2, expect.stringContaining('Nothing to change: give at least one setting, e.g. --name "New name" or --description TEXT')]);
    expect((await cli("groups", "remove", "Night Crew", "--workspace", "acme")).code).toBe(0);
  });

  cliCase("adds several users to a group at once, or every user the filters match, all or nothing", async () => {
    for (const [email, department] of [["crew1@example.com", "Crew"], ["crew2@example.com", "crew"], ["office@example.com", "Office"]]) {
      expect((await cli("users", "add", "--email", email!, "--display-name", email!, "--department", department!, "--workspace", "acme")).code).toBe(0);
    }
    expect((await cli("groups", "add", "Night shift", "--workspace", "acme")).code).toBe(0);
    const members = async () => (await cli("groups", "show", "Night shift", "--workspace", "acme", "--json")).json<{ members: string[] }>().members;
    // One unknown user adds none.
    const refused = await cli("groups", "members", "add", "Night shift", "crew1@example.com", "nobody@example.com", "--workspace", "acme");
    expect([refused.code, refused.stderr]).toEqual([3, expect.stringContaining('No user "nobody@example.com" in workspace acme; nothing was changed')]);
    expect(await members()).toEqual([]);
    const named = await cli("groups", "members", "add", "Night shift", "crew1@example.com", "office@example.com", "--workspace", "acme");
    expect([named.code, named.stdout.trim()]).toEqual([0, "added 2 user(s) to Night shift"]);
    const matching = await cli("groups", "members", "add", "Night shift", "--matching", "--department", "crew", "--workspace", "acme");
    expect([matching.code, matching.stdout.trim()]).toEqual([0, "added 1 user(s) to Night shift; 1 were members already"]);
    expect(await members()).toEqual(["crew1@example.com", "crew2@example.com", "office@example.com"]);
    const removed = await cli("groups", "members", "remove", "Night shift", "--matching", "--department", "Crew", "--workspace", "acme", "--json");
    expect(removed.json()).toMatchObject({ action: "removeFromGroup", group: "Night shift", changed: 2, unchanged: 0 });
    expect(await members()).toEqual(["office@example.com"]);
    // The groups one can change here, by kind of source.
    expect((await cli("groups", "list", "--source-type", "manual,import", "--workspace", "acme", "--json")).json<{ name: string }[]>().map((g) => g.name)).toContain("Night shift");
    expect((await cli("groups", "list", "--source-type", "entra", "--workspace", "acme")).stdout.trim()).toBe("No groups in workspace acme match these filters.");
    const unknownType = await cli("groups", "list", "--source-type", "manual,synced", "--workspace", "acme");
    expect([unknownType.code, unknownType.stderr]).toEqual([2, expect.stringContaining('"synced" is not a source type; use manual, import, entra, scim, or several comma-separated')]);
    const neither = await cli("groups", "members", "add", "Night shift", "--workspace", "acme");
    expect([neither.code, neither.stderr]).toEqual([2, expect.stringContaining("name the members, or give --matching with the filters that select the users (not both)")]);
    expect((await cli("groups", "remove", "Night shift", "--workspace", "acme")).code).toBe(0);
  });

  cliCase("shows the groups a group is in, and which it left when it is removed", async () => {
    for (const name of ["Contractors", "Printer room 3", "Visitors"]) expect((await cli("groups", "add", name, "--workspace", "acme")).code).toBe(0);
    for (const parent of ["Visitors", "Printer room 3"]) expect((await cli("groups", "members", "add", parent, "Contractors", "--workspace", "acme")).code).toBe(0);
    expect((await cli("groups", "show", "Contractors", "--workspace", "acme")).stdout).toContain("\n  member of: Printer room 3, Visitors\n");
    expect((await cli("groups", "show", "Visitors", "--workspace", "acme")).stdout).not.toContain("member of");
    const removed = await cli("groups", "remove", "Contractors", "--workspace", "acme");
    expect([removed.code, removed.stdout.trim()]).toEqual([0, "removed group Contractors; it left Printer room 3, Visitors"]);
    const history = (await cli("groups", "history", "Visitors", "--workspace", "acme", "--limit", "1", "--json")).json<{ changes: { action: string; subject: string }[] }>();
    expect(history.changes.map((c) => [c.action, c.subject])).toEqual([["remove from group Visitors", "Contractors"]]);
    // A deleted group's history is kept, read by the name it had, headed as deleted.
    const gone = await cli("groups", "history", "contractors", "--workspace", "acme");
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(byMe(/^Contractors \(deleted \S+ by cli, group [0-9a-f-]{36}\): 6 change\(s\), newest first\n/));
    expect(gone.stdout).toMatch(byMe(/\n {2}\S+ {2}Delete group: Contractors by cli\n/));
    const never = await cli("groups", "history", "Nobody's group", "--workspace", "acme");
    expect([never.code, never.stderr]).toEqual([3, expect.stringContaining("no group deleted from this workspace had that id or name")]);
    for (const name of ["Printer room 3", "Visitors"]) expect((await cli("groups", "remove", name, "--workspace", "acme")).code).toBe(0);
  });

  it("erases a deleted user's history on request, and refuses while the user exists", async () => {
    expect((await cli("users", "add", "--email", "forget.me@example.com", "--display-name", "Forget Me", "--workspace", "acme")).code).toBe(0);
    expect((await cli("users", "update", "forget.me@example.com", "--job-title", "Temp", "--workspace", "acme")).code).toBe(0);
    const exists = await cli("users", "forget", "forget.me@example.com", "--workspace", "acme");
    expect([exists.code, exists.stderr]).toEqual([4, expect.stringContaining("forget.me@example.com is still a user of this workspace: delete them first")]);
    expect((await cli("users", "remove", "forget.me@example.com", "--workspace", "acme")).code).toBe(0);
    const forgotten = await cli("users", "forget", "forget.me@example.com", "--workspace", "acme", "--json");
    expect(forgotten.json()).toMatchObject({ entries: 3 });
    expect((await cli("users", "history", "forget.me@example.com", "--workspace", "acme")).code).toBe(3);
    const activity = (await cli("activity", "--workspace", "acme", "--json")).json<{ items: { action: string; subject: string; after: unknown }[] }>();
    expect(activity.items[0]).toMatchObject({ action: "forget user", after: { entries: 3 } });
    expect(JSON.stringify(activity.items)).not.toContain("forget.me@example.com");
  });

  cliCase("creates an API token for a workspace", async () => {
    const created = await cli("tokens", "create", "--workspace", "acme", "--role", "viewer", "--json");
    expect(created.json<{ token: string; role: string }>()).toMatchObject({ token: expect.stringMatching(/^rc_/), role: "viewer" });
  });

  it.runIf(engine === "pglite")("says clearly when another process holds the embedded database", async () => {
    // The test runner itself is a live process: pretend it is a server holding the folder.
    const free = pretendHeld(dataDir, { pid: process.ppid, command: "serve", url: "http://127.0.0.1:3999", startedAt: new Date().toISOString() });
    const locked = await cli("users", "list");
    free();
    expect(locked.code).not.toBe(0);
    expect(locked.stderr).toContain("in use by `rollcall serve`");
    expect(locked.stderr).toContain("http://127.0.0.1:3999/api/v1");
  });
});
