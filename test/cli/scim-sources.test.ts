import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { cliEngine, databaseForCli, freshDataFolder, type TestStore } from "../support/db.ts";
import { openStore } from "../../src/storage/database.ts";

/** `rollcall sources add scim`, `show`, `list`, `update --new-scim-token` and `--rename`, `remove`: the Tenant URL and a token shown once. */
describe(`rollcall sources … scim (${cliEngine})`, { timeout: 120_000 }, () => {
  const dataDir = freshDataFolder("rollcall-scim-");
  let store: TestStore | undefined;
  const env: Record<string, string | undefined> = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined, ROLLCALL_PUBLIC_URL: "https://rollcall.example.com" };
  const cli = (...args: string[]) => runCli(args, env);
  beforeAll(async () => {
    store = await databaseForCli(cliEngine);
    if (store) env.DATABASE_URL = store.url;
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("adds a SCIM source, printing its Tenant URL and Secret Token once; a new token replaces it; remove keeps its users", async () => {
    const added = await cli("sources", "add", "scim", "--name", "Entra push", "--on-remove", "keep");
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("  Tenant URL:    https://rollcall.example.com/scim/v2\n");
    const token = /Secret Token: {2}(rcscim_\S+)/.exec(added.stdout)?.[1];
    expect(token).toBeDefined();
    expect(added.stdout).toContain("on removal:   keep");

    const shown = await cli("sources", "show", "Entra push");
    expect(shown.stdout).toContain("Entra push (SCIM, pushed by Entra ID's provisioning service)");
    expect(shown.stdout).not.toContain(token!);
    const listed = await cli("sources", "list", "--json");
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: "Entra push", type: "scim", tenantUrl: "https://rollcall.example.com/scim/v2" }]);

    const renewed = await cli("sources", "update", "Entra push", "--new-scim-token");
    expect(renewed.code, renewed.stderr).toBe(0);
    const next = /Secret Token: {2}(rcscim_\S+)/.exec(renewed.stdout)?.[1];
    expect(next).toBeDefined();
    expect(next).not.toBe(token);

    const refused = await cli("sources", "update", "Entra push", "--include-guests");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--include-guests: is an Entra ID source\'s setting; "Entra push" is a SCIM source');

    // Sign-in with Microsoft through the enterprise application's app registration: every missing setting named at once.
    const incomplete = await cli("sources", "update", "Entra push", "--sign-in");
    expect(incomplete.code).not.toBe(0);
    expect(incomplete.stderr).toMatch(/--tenant-id: is required[\s\S]*--client-id: is required[\s\S]*clientSecret: is required.*--client-secret-env VAR/);
    const secret = "Q~signin.secret.value";
    const signIn = await runCli(["sources", "update", "Entra push", "--sign-in", "--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47", "--client-id", "0f8fad5b-d9cb-469f-a165-70867728950e", "--client-secret-env", "PUSH_SECRET"], { ...env, PUSH_SECRET: secret });
    expect(signIn.code, signIn.stderr).toBe(0);
    expect(signIn.stdout).toContain("sign-in:      with Microsoft (tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, client 0f8fad5b-d9cb-469f-a165-70867728950e, secret set)");
    expect(signIn.stdout + signIn.stderr).not.toContain(secret);
    expect((await cli("sources", "update", "Entra push", "--no-sign-in")).stdout).toContain("sign-in:      off (tenant 72f988bf");

    const twoNames = await cli("sources", "update", "Entra push", "--rename", "Entra sync", "--name", "Other");
    expect(twoNames.code).not.toBe(0);
    expect(twoNames.stderr).toContain('--rename "Entra sync" and --name "Other" say two names: give one');
    const renamed = await cli("sources", "update", "Entra push", "--name", "Entra sync", "--country", "de");
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(renamed.stdout).toContain("updated SCIM source Entra sync\nEntra sync (SCIM, pushed by Entra ID's provisioning service)");
    expect(renamed.stdout).toContain("local numbers read as DE");
    expect((await cli("sources", "show", "Entra push")).stderr).toContain('error [not_found]: no source is named "Entra push" in workspace "default"; it has no Entra ID sources and its SCIM sources are "Entra sync"');
    for (const args of [["update", "Entra push", "--country", "DE"], ["remove", "Entra push", "--yes"]]) {
      expect((await cli("sources", ...args)).stderr, args[0]).toContain('no source is named "Entra push" in workspace "default"; it has no Entra ID sources and its SCIM sources are "Entra sync"');
    }
    const sync = await cli("sync", "entra SYNC");
    expect(sync.code).not.toBe(0);
    expect(sync.stderr).toContain(`error [not_found]: "Entra sync" is a SCIM source: Entra ID's provisioning service pushes it; there is nothing to sync`);
    const activity = JSON.parse((await cli("activity", "--action", "update source", "--json")).stdout);
    expect(activity.items[0]).toMatchObject({ subject: "Entra sync", before: { name: "Entra push" }, after: { name: "Entra sync", config: { country: "DE" } } });
    const nothing = await cli("sources", "update", "Entra sync");
    expect(nothing.stderr).toContain("nothing to change: give --rename, --new-scim-token, --on-remove, --country, --sign-in");

    const removed = await cli("sources", "remove", "Entra sync", "--yes");
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain("removed source Entra sync");
    expect((await cli("sources", "show", "Entra sync")).stderr).toContain('no source is named "Entra sync" in workspace "default"; it has no sources (add one with `rollcall sources add entra` or `rollcall sources add scim --name NAME`)');
  });

  it("adds a SCIM source with sign-in with Microsoft at once, the flags checked as an update checks them", async () => {
    const incomplete = await cli("sources", "add", "scim", "--name", "Early push", "--sign-in", "--tenant-id", "common");
    expect(incomplete.code).not.toBe(0);
    expect(incomplete.stderr).toMatch(/--tenant-id: .*common[\s\S]*--client-id: is required[\s\S]*clientSecret: is required.*--client-secret-env VAR/);
    expect((await cli("sources", "show", "Early push")).code).not.toBe(0);
    const missingEnv = await cli("sources", "add", "scim", "--name", "Early push", "--sign-in", "--client-secret-env", "NOT_SET_ANYWHERE");
    expect(missingEnv.stderr).toContain("environment variable NOT_SET_ANYWHERE is not set");

    const secret = "Q~early.signin.secret";
    const added = await runCli(["sources", "add", "scim", "--name", "Early push", "--sign-in", "--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47", "--client-id", "0f8fad5b-d9cb-469f-a165-70867728950e", "--client-secret-env", "EARLY_SECRET"], { ...env, EARLY_SECRET: secret });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("sign-in:      with Microsoft (tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, client 0f8fad5b-d9cb-469f-a165-70867728950e, secret set)");
    expect(added.stdout + added.stderr).not.toContain(secret);
    expect(JSON.parse((await cli("sources", "show", "Early push", "--json")).stdout)).toMatchObject({ config: { signIn: true }, secret: { set: true } });

    // The secret's expiry date: checked, shown, and dropped with the secret it was given for.
    expect((await cli("sources", "update", "Early push", "--secret-expires-on", "30.06.2027")).stderr).toContain("--secret-expires-on: must be a date as YYYY-MM-DD");
    const dated = await cli("sources", "update", "Early push", "--secret-expires-on", "2099-06-30");
    expect(dated.code, dated.stderr).toBe(0);
    expect(dated.stdout).toContain("secret set, expires on 2099-06-30)");
    const replaced = await runCli(["sources", "update", "Early push", "--client-secret-env", "NEXT_SECRET"], { ...env, NEXT_SECRET: "Q~next.signin.secret" });
    expect(replaced.stdout).toContain(", secret set)");
    const addedDated = await runCli(["sources", "add", "scim", "--name", "Dated push", "--sign-in", "--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47", "--client-id", "0f8fad5b-d9cb-469f-a165-70867728950e", "--client-secret-env", "EARLY_SECRET", "--secret-expires-on", "2099-01-31"], { ...env, EARLY_SECRET: secret });
    expect(addedDated.code, addedDated.stderr).toBe(0);
    expect(JSON.parse((await cli("sources", "show", "Dated push", "--json")).stdout)).toMatchObject({ config: { secretExpiresOn: "2099-01-31" }, secret: { expiresOn: "2099-01-31" } });
  });

  it("says every problem of a SCIM source's sign-in flags at once, each at its flag, and adds nothing", async () => {
    const refused = await cli("sources", "add", "scim", "--name", "Bad push", "--sign-in", "--tenant-id", "not a tenant!", "--client-id", "nope", "--secret-expires-on", "soon");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("error [invalid_input]: 4 problems:");
    for (const line of ["--tenant-id: must be a directory (tenant) ID", "--client-id: must be the application (client) ID", "--secret-expires-on: must be a date as YYYY-MM-DD", "clientSecret: is required to sign the source's users in"]) expect(refused.stderr).toContain(`  - ${line}`);
    expect((await cli("sources", "show", "Bad push")).code).not.toBe(0);
  });

  it("users microsoft-link shows the Microsoft account a SCIM sign-in pinned to a user, and users unlink-microsoft unpins it, keeping the user", async () => {
    expect((await cli("users", "add", "--email", "grace@north.example", "--user-principal-name", "grace@north.example", "--display-name", "Grace Pilot")).code).toBe(0);
    expect((await cli("users", "microsoft-link", "grace@north.example")).stdout).toContain("No Microsoft account is linked to grace@north.example");
    const nothing = await cli("users", "unlink-microsoft", "grace@north.example", "--yes");
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain('user "grace@north.example" has no Microsoft account pinned');

    // As a first sign-in with Microsoft through a SCIM source leaves it (src/auth/signin-account.ts).
    const oid = "5f2c0c7e-3a4b-4c5d-8e9f-0a1b2c3d4e5f";
    const db = await openStore(store?.url ? { kind: "postgres", url: store.url } : { kind: "pglite", dataDir });
    try {
      const [user, source] = await Promise.all([
        db.db.selectFrom("users").select("id").where("email", "=", "grace@north.example").executeTakeFirstOrThrow(),
        db.db.selectFrom("sources").select("id").where("type", "=", "scim").executeTakeFirstOrThrow(),
      ]);
      await db.db.insertInto("scim_signin_links").values({ user_id: user.id, source_id: source.id, object_id: oid }).execute();
    } finally {
      await db.close();
    }
    expect((await cli("users", "microsoft-link", "grace@north.example")).stdout).toMatch(new RegExp(`^Microsoft account ${oid} \\(linked .* by signing in through SCIM source Early push\\)`));
    const unlinked = await cli("users", "unlink-microsoft", "grace@north.example", "--yes", "--json");
    expect(unlinked.code, unlinked.stderr).toBe(0);
    expect(JSON.parse(unlinked.stdout)).toMatchObject({ unlinked: { objectId: oid, source: "Early push" } });
    const history = JSON.parse((await cli("users", "history", "grace@north.example", "--json")).stdout);
    expect(JSON.stringify(history)).toContain(`"microsoftAccount":"${oid}"`);
    expect((await cli("users", "show", "grace@north.example")).code).toBe(0);
  });
});
