import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator, type TenantHandle } from "../../src/emulator/index.ts";
import { killStarted, runCli, startCli } from "../support/cli.ts";
import { testCertificate } from "../emulator/helpers.ts";
import { cliEngine, databaseForCli, seedDataFolder, type TestStore } from "../support/db.ts";
import { seedEmulatorFolder } from "../support/emulator.ts";

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !done(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error("timed out");
  }
}

/**
 * The engine these cases run on: PostgreSQL when the run has one, PGlite otherwise. They check what the CLI and the
 * source's settings and checks do, over storage and syncs tested on both engines in test/core, test/api and test/sync;
 * a CLI process opens PostgreSQL in a fraction of the seconds PGlite's start takes. Ctrl-C mid-sync runs on the embedded
 * database whatever the engine: stopping the process is where PGlite, the process's own, differs.
 */
const engine = cliEngine;

/** `rollcall sources` / `sync` / `runs` against the emulator, as an admin runs them. */
describe(`rollcall with an Entra ID source (${engine})`, { timeout: 180_000 }, () => {
  let emulator: RunningEmulator;
  let tenant: TenantHandle;
  let dir: string;
  let store: TestStore | undefined;
  /** The engine's database; `embedded`: the data folder's own, whatever the engine. */
  let env: Record<string, string | undefined>;
  let embedded: Record<string, string | undefined>;
  const cli = (...args: string[]) => runCli(args, env);
  const source = (...extra: string[]) => [
    "--tenant-id", emulator.tenantId, "--client-id", emulator.clientId, "--client-secret-env", "EMU_SECRET",
    "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl, ...extra,
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-cli-entra-"));
    emulator = await startEmulator({ port: 0, dataDir: seedEmulatorFolder(join(dir, "emu")), users: 30, groups: 3, quiet: true });
    tenant = emulator.tenants.get(emulator.tenantId);
    embedded = { ROLLCALL_DATA_DIR: seedDataFolder(join(dir, "data")), DATABASE_URL: undefined, NODE_EXTRA_CA_CERTS: emulator.caFile, EMU_SECRET: emulator.clientSecret };
    store = await databaseForCli(engine);
    env = store ? { ...embedded, DATABASE_URL: store.url } : embedded; // the data folder keeps the secret key
  });
  afterAll(async () => {
    await killStarted();
    await store?.dispose();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sources test fails on a group attribute or mapping Graph does not have, naming it and the flag to fix", async () => {
    expect((await cli("sources", "add", "entra", "--name", "attr", ...source("--group-mode", "attribute", "--group-attribute", "costCenter"))).code).toBe(0);
    const attr = await cli("sources", "test", "attr", "--json");
    expect(attr.code).toBe(1);
    const users = attr.json<{ ok: boolean; checks: { name: string; ok: boolean; message: string }[] }>().checks.find((c) => c.name === "users")!;
    expect(users.ok).toBe(false);
    expect(users.message).toContain("'costCenter'");
    expect(users.message).toContain("rollcall sources update attr --group-attribute");

    expect((await cli("sources", "add", "entra", "--name", "mapped", ...source("--map", "jobTitle=costCentre"))).code).toBe(0);
    const mapped = await cli("sources", "test", "mapped");
    expect(mapped.code).toBe(1);
    expect(mapped.stdout).toMatch(/FAIL users .*'costCentre'.*--map jobTitle=PROPERTY/);

    expect((await cli("sources", "update", "mapped", "--map", "jobTitle=department")).code).toBe(0);
    expect((await cli("sources", "test", "mapped")).code).toBe(0);
  });

  it("--groups changes only the list the command, or else the source, names; --scope-groups keeps the two apart", async () => {
    const config = async (name: string) => (await cli("sources", "show", name, "--json")).json<{ config: { users: string; scopeGroups: string[]; groupMode: string; groups: string[] } }>().config;
    expect((await cli("sources", "add", "entra", "--name", "scoped", ...source("--users", "groups", "--groups", "Sales"))).code).toBe(0);
    expect(await config("scoped")).toMatchObject({ users: "groups", scopeGroups: ["Sales"], groupMode: "none", groups: [] });
    // Syncing a group as well leaves the user scope alone.
    expect((await cli("sources", "update", "scoped", "--group-mode", "selected", "--groups", "IT")).code).toBe(0);
    expect(await config("scoped")).toMatchObject({ users: "groups", scopeGroups: ["Sales"], groupMode: "selected", groups: ["IT"] });
    // Now the source uses both lists: a bare --groups is refused, naming the flags that say which.
    const ambiguous = await cli("sources", "update", "scoped", "--groups", "Ops");
    expect([ambiguous.code, ambiguous.stderr]).toEqual([2, expect.stringContaining("--scope-groups")]);
    expect((await cli("sources", "update", "scoped", "--users", "groups", "--groups", "Sales,Ops")).code).toBe(0);
    expect(await config("scoped")).toMatchObject({ scopeGroups: ["Sales", "Ops"], groups: ["IT"] });
    expect((await cli("sources", "update", "scoped", "--scope-groups", "Finance", "--groups", "IT,HR")).code).toBe(0);
    expect(await config("scoped")).toMatchObject({ users: "groups", scopeGroups: ["Finance"], groupMode: "selected", groups: ["IT", "HR"] });
    // One command naming both modes sets both lists, as `sources add` documents.
    expect((await cli("sources", "add", "entra", "--name", "both", ...source("--users", "groups", "--group-mode", "selected", "--groups", "Staff"))).code).toBe(0);
    expect(await config("both")).toMatchObject({ scopeGroups: ["Staff"], groups: ["Staff"] });
    // A source syncing all groups: --groups alone would do nothing, and says so.
    expect((await cli("sources", "add", "entra", "--name", "every", ...source("--group-mode", "all"))).code).toBe(0);
    const useless = await cli("sources", "update", "every", "--groups", "IT");
    expect([useless.code, useless.stderr]).toEqual([2, expect.stringContaining("has no effect: this source syncs all groups")]);
  });

  it("names the missing permission when Graph refuses a sync", async () => {
    for (const [granted, missing] of [["User.Read.All", "Group.Read.All"], ["Group.Read.All", "User.Read.All"]] as const) {
      const app = tenant.registerApp({ displayName: `only ${granted}`, appPermissions: [granted] });
      const name = `only-${granted}`.toLowerCase();
      const add = await runCli(["sources", "add", "entra", "--name", name, ...source("--group-mode", "all"), "--client-id", app.clientId, "--client-secret-env", "APP_SECRET"], { ...env, APP_SECRET: app.secrets[0]!.secretText });
      expect(add.code, add.stderr).toBe(0);
      const sync = await cli("sync", name, "--json");
      expect(sync.code).toBe(1);
      expect(sync.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: "source_permission_missing", message: expect.stringContaining(`permission ${missing} and click`) });
    }
  });

  it("marks dry runs in the JSON summary and the runs table, and says when a real run would stop at the deletion threshold", async () => {
    expect((await cli("sources", "add", "entra", "--name", "dry", ...source("--deletion-threshold-count", "2"))).code).toBe(0);
    const first = await cli("sync", "dry", "--json");
    expect(first.json()).toMatchObject({ status: "succeeded", dryRun: false });
    for (const u of tenant.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled).slice(0, 6)) tenant.deleteUser(u.id);

    const dry = await cli("sync", "dry", "--dry-run", "--json");
    expect(dry.code, dry.stderr).toBe(0);
    const summary = dry.json<{ runId: string; dryRun: boolean; counts: Record<string, number> }>();
    expect(summary).toMatchObject({ status: "succeeded", dryRun: true, counts: { removals: 6, wouldStopAtThreshold: 1 } });
    const human = await cli("sync", "dry", "--dry-run");
    expect(human.stdout).toMatch(/^Dry run .*\n(.*\n)*  a real run would stop at the deletion threshold: it would disable or delete 6 of the \d+ users/);
    expect((await cli("runs", "show", summary.runId)).stdout).toContain("a real run would stop at the deletion threshold");

    const list = (await cli("runs", "list", "--source", "dry")).stdout.split("\n");
    expect(list.filter((line) => line.includes(summary.runId))[0]).toContain("succeeded (dry run)");
    expect(list.filter((line) => line.includes(first.json<{ runId: string }>().runId))[0]).not.toContain("dry run");

    // Nothing waits for a decision after a dry run: rejecting it is refused.
    const reject = await cli("runs", "reject", summary.runId, "--json");
    expect(reject.code).toBe(4);
    expect(JSON.parse(reject.stderr)).toMatchObject({ error: { code: "conflict", message: expect.stringContaining("not waiting for a decision") } });
  });

  it("users history of a synced user deleted and recreated by the next sync names the deleted user, whose history it is", async () => {
    expect((await cli("workspaces", "add", "again")).code).toBe(0);
    expect((await cli("sources", "add", "entra", "--name", "again", "--workspace", "again", ...source())).code).toBe(0);
    expect((await cli("sync", "again", "--workspace", "again", "--json")).json()).toMatchObject({ status: "succeeded" });
    const member = tenant.listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.mail)!;
    const deleted = (await cli("users", "show", member.mail!, "--workspace", "again", "--json")).json<{ id: string }>();
    expect((await cli("users", "remove", member.mail!, "--workspace", "again")).code).toBe(0);
    const second = await cli("sync", "again", "--workspace", "again", "--json");
    expect(second.json(), second.stdout + second.stderr).toMatchObject({ status: "succeeded", counts: { created: 1 } });

    const history = await cli("users", "history", member.mail!, "--workspace", "again");
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(new RegExp(`: 1 change\\(s\\), newest first\\n {2}\\S+ {2}Created by the sync of \\S+, started by (\\S+ \\(CLI\\)|CLI) \\(run [0-9a-f-]+\\)\\n {6}replaces deleted user ${deleted.id}, deleted \\S+Z by (\\S+ \\(CLI\\)|CLI); their history: rollcall users history ${deleted.id}\\n`));
    const json = (await cli("users", "history", member.mail!, "--workspace", "again", "--json")).json<{ changes: { after: { replaces: unknown } }[] }>();
    expect(json.changes[0]!.after.replaces).toMatchObject({ id: deleted.id, source: "again" });
    // The id it names finds the deleted user's history.
    expect((await cli("users", "history", deleted.id, "--workspace", "again", "--json")).json()).toMatchObject({ user: null, changes: [{ action: "delete" }, { action: "create" }] });
  });

  it("Ctrl-C during a sync on the embedded database ends the run as failed, rolled back, with the source free for the next run", async () => {
    const embeddedCli = (...args: string[]) => runCli(args, embedded);
    expect((await embeddedCli("sources", "add", "entra", "--name", "ctrlc", ...source())).code).toBe(0);
    emulator.resetStats();
    emulator.setKnobs({ latencyMs: 4000 });
    try {
      const sync = startCli(["sync", "ctrlc", "--json"], embedded);
      // Interrupted while Graph is slowly answering its first listing, after the token. Its answers are then held a
      // minute (the ones already waiting too): the bound below tells "did not wait" from a loaded machine's slow exit.
      await until(() => emulator.stats().requests.some((r) => r.method === "POST" && r.status === 200), 60_000);
      emulator.setKnobs({ latencyMs: 60_000 });
      await new Promise((r) => setTimeout(r, 500));
      const sent = Date.now();
      sync.child.kill("SIGINT");
      expect(await sync.exited).toBe(130);
      expect(Date.now() - sent).toBeLessThan(30_000); // it did not wait for Graph's answer
      const summary = JSON.parse(sync.stdout()) as { runId: string; status: string; error: { code: string; message: string } };
      expect(summary).toMatchObject({ status: "failed", error: { code: "sync_failed", message: expect.stringContaining("Interrupted (SIGINT)") } });
      expect(sync.stderr()).toContain("SIGINT: stopping the run");
    } finally {
      emulator.setKnobs({ latencyMs: 0 });
    }
    const runs = (await embeddedCli("runs", "list", "--source", "ctrlc", "--json")).json<{ status: string; error: { message: string } | null }[]>();
    expect(runs).toMatchObject([{ status: "failed", error: { message: expect.stringContaining("Interrupted") } }]);
    expect((await embeddedCli("users", "list", "--source", "ctrlc", "--json")).json()).toEqual([]);
    const again = await embeddedCli("sync", "ctrlc", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ status: "succeeded", mode: "full" });
  });

  it("reverts settings from the CLI: link by email, country, login and Graph URLs; says a login URL must be https", async () => {
    const http = await cli("sources", "add", "entra", "--name", "plain", ...source("--login-url", "http://login.example.com"));
    expect(http.code).toBe(2);
    expect(http.stderr).toContain("--login-url: must be an https:// URL");
    // Every missing setting in one answer; a field mapped twice is refused rather than the last one winning.
    const bare = await cli("sources", "add", "entra", "--name", "bare", "--json");
    expect([bare.code, JSON.parse(bare.stderr).error.details.fields.map((f: { field: string }) => f.field)]).toEqual([2, ["tenantId", "clientId", "clientSecret"]]);
    const twice = await cli("sources", "add", "entra", "--name", "twice", ...source("--map", "email=mail", "--map", "email=userPrincipalName"));
    expect([twice.code, twice.stderr]).toEqual([2, expect.stringContaining('mapping: email is mapped twice ("email=mail" and "email=userPrincipalName"); give each field once')]);

    expect((await cli("sources", "add", "entra", "--name", "revert", ...source("--country", "GB", "--no-link-by-email"))).code).toBe(0);
    const config = async () => (await cli("sources", "show", "revert", "--json")).json<{ config: Record<string, unknown> }>().config;
    expect(await config()).toMatchObject({ country: "GB", linkByEmail: false, loginUrl: emulator.loginUrl });
    expect((await cli("sources", "update", "revert", "--link-by-email", "--country", "")).code).toBe(0);
    expect(await config()).toMatchObject({ country: null, linkByEmail: true });
    expect((await cli("sources", "update", "revert", "--country", "fr")).code).toBe(0);
    expect(await config()).toMatchObject({ country: "FR", linkByEmail: true });
    const cleared = await cli("sources", "update", "revert", "--no-country", "--no-login-url", "--no-graph-url");
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain("endpoints:   login https://login.microsoftonline.com, Graph https://graph.microsoft.com (global cloud)");
    expect(await config()).toMatchObject({ country: null, loginUrl: null, graphUrl: null });

    // A mapping into a property Graph does not have is refused; FIELD= removes a mapping.
    const bad = await cli("sources", "update", "revert", "--map", "cardNumbers=onPremisesExtensionAttributes.extensionAttribute99", "--map", "jobTitle=department.name");
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining("onPremisesExtensionAttributes has extensionAttribute1 to extensionAttribute15, not extensionAttribute99")]);
    expect(bad.stderr).toContain('department is a single value: map it without ".name"');
    expect((await cli("sources", "update", "revert", "--map", "cardNumbers=onPremisesExtensionAttributes.extensionAttribute15", "--map", "jobTitle=companyName")).code).toBe(0);
    expect((await cli("sources", "update", "revert", "--map", "cardNumbers=")).code).toBe(0);
    expect((await config()).mapping).toEqual({ jobTitle: "companyName" });
  });

  it("turns sync on change on and off: refused without ROLLCALL_PUBLIC_URL, Graph's refusal shown by sources show", async () => {
    const refused = await cli("sources", "add", "entra", "--name", "onchange", ...source("--sync-on-change"));
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining("error [invalid_input]: --sync-on-change: sync on change needs ROLLCALL_PUBLIC_URL: the https:// address")]);
    expect((await cli("sources", "add", "entra", "--name", "onchange", ...source())).code).toBe(0);
    // Nothing answers Graph's validation request there: the source is saved, with Graph's code and what to do.
    const on = await runCli(["sources", "update", "onchange", "--sync-on-change"], { ...env, ROLLCALL_PUBLIC_URL: "http://127.0.0.1:1" });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toMatch(/\n {2}on change: {3}on; users NOT subscribed: \[ValidationError\] Microsoft Graph could not validate the notification URL http:\/\/127\.0\.0\.1:1\/api\/v1\/graph\/notifications .*ROLLCALL_PUBLIC_URL/);
    const off = await cli("sources", "update", "onchange", "--no-sync-on-change", "--json");
    expect(off.json<{ config: { syncOnChange: boolean }; status: { subscriptions: unknown[] } }>()).toMatchObject({ config: { syncOnChange: false }, status: { subscriptions: [] } });
  });

  it("checks a certificate and its private key when the source is added or updated", async () => {
    const one = testCertificate("rollcall-cli-one");
    const other = testCertificate("rollcall-cli-other");
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const withCertificate = (cert: string, key: string, ...extra: string[]) =>
      cli("sources", "add", "entra", "--name", "by-cert", "--tenant-id", emulator.tenantId, "--client-id", emulator.clientId, "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl, "--certificate-file", cert, "--private-key-file", key, ...extra);
    const refused = async (result: Awaited<ReturnType<typeof cli>>, field: string, text: string) => {
      expect(result.code).toBe(2);
      expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: "invalid_input", details: { fields: [{ field, message: expect.stringContaining(text) }] } } });
    };
    await refused(await withCertificate(file("garbage.pem", "not a certificate\n"), file("key.pem", one.privateKeyPem), "--json"), "certificatePem", "is not a PEM certificate");
    await refused(await withCertificate(file("cert.pem", one.certificatePem), file("garbage-key.pem", "nope"), "--json"), "privateKeyPem", "is not an unencrypted PEM private key");
    await refused(await withCertificate(file("cert.pem", one.certificatePem), file("other-key.pem", other.privateKeyPem), "--json"), "privateKeyPem", "is not the certificate's private key");
    await refused(await withCertificate(join(dir, "missing.pem"), file("key.pem", one.privateKeyPem), "--json"), "certificateFile", "(no such file): give the path of a PEM file");

    tenant.addCertificate(emulator.clientId, { certificatePem: one.certificatePem });
    expect((await withCertificate(file("cert.pem", one.certificatePem), file("key.pem", one.privateKeyPem))).code).toBe(0);
    expect((await cli("sources", "test", "by-cert")).code).toBe(0);
    const update = await cli("sources", "update", "by-cert", "--certificate-file", file("cert.pem", one.certificatePem), "--private-key-file", file("other-key.pem", other.privateKeyPem));
    expect(update.code).toBe(2);
    expect(update.stderr).toContain("privateKeyPem: is not the certificate's private key");
  });
  it("schedules by cron in a time zone, kept when only the expression changes; a zone without a cron schedule is refused", async () => {
    const added = await cli("sources", "add", "entra", "--name", "nightly", ...source("--schedule", "0 6 * * 1-5", "--time-zone", "Europe/Berlin", "--json"));
    expect(added.code, added.stderr).toBe(0);
    expect(added.json()).toMatchObject({ config: { schedule: { cron: "0 6 * * 1-5", timeZone: "Europe/Berlin" } } });
    const moved = await cli("sources", "update", "nightly", "--schedule", "30 5 * * *");
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain("  schedule:    30 5 * * * (Europe/Berlin) (next ");
    const unknown = await cli("sources", "update", "nightly", "--time-zone", "Berlin");
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('--time-zone: "Berlin" is not a time zone: give an IANA name such as Europe/Berlin')]);
    expect((await cli("sources", "update", "nightly", "--time-zone", "America/New_York")).code).toBe(0);
    expect((await cli("sources", "show", "nightly", "--json")).json()).toMatchObject({ config: { schedule: { cron: "30 5 * * *", timeZone: "America/New_York" } } });
    const interval = await cli("sources", "update", "nightly", "--schedule", "12h", "--time-zone", "UTC");
    expect([interval.code, interval.stderr]).toEqual([2, expect.stringContaining('--time-zone: a time zone applies to a cron schedule, not to "12h"')]);
    expect((await cli("sources", "update", "nightly", "--schedule", "off")).code).toBe(0);
    const alone = await cli("sources", "update", "nightly", "--time-zone", "UTC");
    expect([alone.code, alone.stderr]).toEqual([2, expect.stringContaining("--time-zone: a time zone applies to a cron schedule: give one with it")]);
  });
});
