import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { cliEngine, databaseForCli, freshDataFolder, type TestStore } from "../support/db.ts";
import { runCli } from "../support/cli.ts";

/** `users update --manager`, `users show` and `users list --manager`, in a real CLI process (what they store: test/api/managers.test.ts). */
describe("the CLI and users' managers", { timeout: 180_000 }, () => {
  let dataDir: string;
  let store: TestStore | undefined;
  let env: Record<string, string | undefined>;
  const cli = (...args: string[]) => runCli([...args, "--workspace", "acme"], env);

  beforeAll(async () => {
    dataDir = freshDataFolder("rollcall-cli-managers-");
    env = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined };
    store = await databaseForCli(cliEngine);
    if (store) env.DATABASE_URL = store.url;
    expect((await runCli(["workspaces", "add", "acme"], env)).code).toBe(0);
    for (const name of ["Boss", "Ada", "Bob"]) expect((await cli("users", "add", "--email", `${name.toLowerCase()}@example.com`, "--display-name", name)).code).toBe(0);
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("sets a manager by email, shows it and the manager's reports, lists the reports, and clears it with an empty value", async () => {
    const set = await cli("users", "update", "ada@example.com", "--manager", "boss@example.com");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("  manager:     Boss <boss@example.com>");
    expect((await cli("users", "update", "bob@example.com", "--manager", "boss@example.com")).code).toBe(0);
    const boss = await cli("users", "show", "boss@example.com");
    expect(boss.stdout).toContain("  reports:     Ada <ada@example.com>, Bob <bob@example.com>");
    const listed = await cli("users", "list", "--manager", "boss@example.com", "--json");
    expect(listed.json<{ email: string }[]>().map((u) => u.email).sort()).toEqual(["ada@example.com", "bob@example.com"]);
    const unknown = await cli("users", "list", "--manager", "nobody@example.com");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('"nobody@example.com"');
    const cleared = await cli("users", "update", "ada@example.com", "--manager", "", "--json");
    expect(cleared.json<{ manager: unknown }>().manager).toBeNull();
    const loop = await cli("users", "update", "boss@example.com", "--manager", "bob@example.com");
    expect(loop.code).not.toBe(0);
    expect(loop.stderr).toContain("would make a loop");
  });

  it("adds a user with a manager; an unknown one is refused, naming it, and nothing is added", async () => {
    const added = await cli("users", "add", "--email", "cy@example.com", "--display-name", "Cy", "--manager", "boss@example.com");
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("  manager:     Boss <boss@example.com>");
    const unknown = await cli("users", "add", "--email", "dee@example.com", "--display-name", "Dee", "--manager", "nobody@example.com");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('manager: no user of workspace "acme" is "nobody@example.com"');
    expect((await cli("users", "show", "dee@example.com")).code).not.toBe(0);
    expect((await cli("users", "add", "--help")).stdout).toContain("--manager <user>");
  });
});
