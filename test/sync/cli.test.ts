import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { testCertificate } from "../emulator/helpers.ts";
import { cliEngine, databaseForCli, seedDataFolder, type TestStore } from "../support/db.ts";
import { seedEmulatorFolder } from "../support/emulator.ts";

const run = promisify(execFile);

/**
 * The engine the first case runs on: PostgreSQL when the run has one, PGlite otherwise. It checks the CLI's commands and
 * JSON contracts over storage and syncs tested on both engines in test/core, test/api and test/sync, and a CLI process
 * opens PostgreSQL in a fraction of the seconds PGlite's start takes. The second case (a sync stopped at the deletion
 * threshold, then approved by another process) runs on the embedded database whatever the engine.
 */
const engine = cliEngine;

/** The CLI's JSON contracts, driven as scripts drive them: a real process, the emulator's CA via NODE_EXTRA_CA_CERTS. */
describe(`rollcall sources / sync / runs (CLI, ${engine})`, () => {
  let emulator: RunningEmulator;
  let dir: string;
  let store: TestStore | undefined;
  /** Runs rollcall on the PostgreSQL database at `databaseUrl`, or without one on the data folder's PGlite; the data folder keeps the secret key either way. */
  const rollcall = async (databaseUrl: string | undefined, args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ROLLCALL_DATA_DIR: join(dir, "data"), NODE_EXTRA_CA_CERTS: emulator.caFile, EMU_SECRET: emulator.clientSecret, BAD_SECRET: "nope", ROLLCALL_LOG_LEVEL: "silent" };
    if (databaseUrl) env.DATABASE_URL = databaseUrl;
    else delete env.DATABASE_URL;
    try {
      const { stdout, stderr } = await run(process.execPath, ["bin/rollcall.js", ...args], { env, timeout: 200_000, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, json: /^[[{]/.test(stdout.trim()) ? JSON.parse(stdout) : undefined, stdout, stderr };
    } catch (error) {
      const e = error as { code: number | string; stdout?: string; stderr?: string };
      if (typeof e.code !== "number") throw new Error(`rollcall ${args.join(" ")} did not finish: ${e.code} ${e.stderr ?? ""}`);
      const out = e.stdout ?? "";
      return { code: e.code, json: out.trim().startsWith("{") ? JSON.parse(out) : undefined, stdout: out, stderr: e.stderr ?? "" };
    }
  };
  const cli = (...args: string[]) => rollcall(store?.url, args);
  const embeddedCli = (...args: string[]) => rollcall(undefined, args);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-cli-sync-"));
    seedDataFolder(join(dir, "data"));
    emulator = await startEmulator({ port: 0, dataDir: seedEmulatorFolder(join(dir, "emu")), users: 40, groups: 4, quiet: true });
    store = await databaseForCli(engine);
  });
  afterAll(async () => {
    await store?.dispose();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("adds a source, tests it, syncs it and reports the run as JSON with the right exit codes", async () => {
    const base = ["--tenant-id", emulator.tenantId, "--client-id", emulator.clientId, "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl, "--group-mode", "all"];
    expect((await cli("sources", "add", "entra", "--name", "corp", "--client-secret-env", "EMU_SECRET", ...base, "--json")).code).toBe(0);
    // Where it connects, as given: the emulator's URLs in place of Microsoft's.
    expect((await cli("sources", "show", "corp")).stdout).toContain(`endpoints:   login ${emulator.loginUrl}, Graph ${emulator.graphUrl}\n`);
    const ok = await cli("sources", "test", "corp", "--json");
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({ ok: true, checks: [{ name: "token", ok: true }, { name: "users", ok: true }, { name: "delta", ok: true }, { name: "groups", ok: true }] });

    const sync = await cli("sync", "corp", "--json");
    expect(sync.code).toBe(0);
    expect(Object.keys(sync.json).sort()).toEqual(["counts", "dryRun", "mode", "runId", "status"]);
    expect(sync.json).toMatchObject({ mode: "full", status: "succeeded" });
    const shown = await cli("runs", "show", sync.json.runId, "--json");
    expect(shown.json).toMatchObject({ id: sync.json.runId, status: "succeeded", mode: "full" });
    const users = await cli("users", "list", "--source", "corp", "--json");
    expect(users.code).toBe(0);
    // Disabling a synced user here lasts until the next run: the command says so.
    const someone = (users.json as { email: string; enabled: boolean }[]).find((u) => u.enabled && u.email)!.email;
    const disabled = await cli("users", "disable", someone);
    expect([disabled.code, disabled.stderr]).toEqual([0, 'warning: synced from Entra ID source "corp": its next sync sets their status back to what Entra ID reports; change it there to make it last\n']);
    expect((await cli("users", "enable", someone)).code).toBe(0);
    const misspelt = await cli("users", "list", "--source", "crop", "--json");
    expect(misspelt.code).toBe(2);
    expect(JSON.parse(misspelt.stderr)).toMatchObject({ error: { code: "invalid_input", message: expect.stringMatching(/no source is named "crop" .*"corp"/) } });

    // Membership entries name their group; browsed by kind, every group's count as one "add to group".
    const tenant = emulator.tenants.get(emulator.tenantId);
    const [one, two] = tenant.listGroups().sort((a, b) => tenant.listMembers(a.id).length - tenant.listMembers(b.id).length);
    const members = tenant.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    const joining = [one!, two!].map((g) => members.filter((u) => !tenant.listMemberOf(u.id).includes(g.id)).slice(0, 2));
    expect(joining.flat()).toHaveLength(4);
    joining.forEach((users, i) => users.forEach((u) => tenant.addMember([one!, two!][i]!.id, u.id)));
    const delta = await cli("sync", "corp", "--json");
    expect(delta.json).toMatchObject({ mode: "delta", status: "succeeded" });
    const added = await cli("runs", "show", delta.json.runId, "--action", "add to group", "--json");
    expect(added.json.changesTotal).toBe(4);
    expect(added.json.changesByAction).toMatchObject({ "add to group": 4 });
    expect(added.json.changes.map((c: { action: string }) => c.action).sort()).toEqual([one, one, two, two].map((g) => `add to group ${g!.displayName}`).sort());
    const oneGroup = await cli("runs", "show", delta.json.runId, "--action", `add to group ${one!.displayName}`, "--json");
    expect(oneGroup.json.changesTotal).toBe(2);
    const shownDelta = await cli("runs", "show", delta.json.runId);
    expect(shownDelta.stdout).toContain(`    add to group ${one!.displayName}: ${joining[0]![0]!.mail ?? joining[0]![0]!.userPrincipalName}\n`);
    const none = await cli("runs", "show", delta.json.runId, "--action", "disable");
    expect(none.stdout).toContain('  no "disable" changes; this run has (--action KIND): add to group 4');

    expect((await cli("sources", "add", "entra", "--name", "wrong", "--client-secret-env", "BAD_SECRET", ...base)).code).toBe(0);
    const bad = await cli("sources", "test", "wrong", "--json");
    expect(bad.code).not.toBe(0);
    expect(bad.json).toMatchObject({ ok: false, checks: [{ name: "token", ok: false, code: "AADSTS7000215" }] });
    // The code once, then what to do.
    const badHuman = (await cli("sources", "test", "wrong")).stdout;
    expect(badHuman).toMatch(/^FAIL token {9}AADSTS7000215: Wrong client secret\. In App registrations > your app > Certificates & secrets/m);
    // The command to run names this source, ready to copy.
    expect(badHuman).toContain("then run `rollcall sources update wrong --client-secret-env VAR`.");
    const failed = await cli("sync", "wrong", "--json");
    expect(failed.code).not.toBe(0);
    expect(failed.json).toMatchObject({ status: "failed", error: { code: "source_auth_failed", message: expect.stringContaining("`rollcall sources update wrong --client-secret-env VAR`") } });
    // A failed run counted nothing: its row leaves the counts blank rather than claiming 0 removed.
    expect((await cli("runs", "list", "--source", "wrong")).stdout).toMatch(/ failed +full +manual +\S+\n/);
    // A misspelt source is not a source never synced.
    // Both sources read the emulator's tenant for all its users: each one's settings say so.
    expect((await cli("sources", "show", "wrong")).stdout).toMatch(/\n {2}overlaps: {4}"corp" reads tenant \S+ for some of the same users: a user both sources claim is a conflict/);
    const unknownRuns = await cli("runs", "list", "--source", "wrnog", "--json");
    expect(unknownRuns.code).toBe(2);
    expect(JSON.parse(unknownRuns.stderr).error.message).toMatch(/^source: no Entra ID source is named "wrnog" in workspace "\S+"; its Entra ID sources are .*"wrong"/);
  }, 400_000);

  it("on the embedded database, adds a source with a certificate, and `runs show` lists a stopped run's planned changes", async () => {
    const other = emulator.tenants.add({ users: 12, groups: 0 });
    const cert = testCertificate("rollcall-cli");
    other.addCertificate(other.defaultApp.clientId, { certificatePem: cert.certificatePem });
    writeFileSync(join(dir, "cert.pem"), cert.certificatePem);
    writeFileSync(join(dir, "key.pem"), cert.privateKeyPem, { mode: 0o600 });
    const added = await embeddedCli("sources", "add", "entra", "--name", "by-cert", "--tenant-id", other.id, "--client-id", other.defaultApp.clientId,
      "--certificate-file", join(dir, "cert.pem"), "--private-key-file", join(dir, "key.pem"), "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl,
      "--deletion-threshold-percent", "0", "--deletion-threshold-count", "1", "--json");
    expect(added.code).toBe(0);
    expect(JSON.stringify(added.json)).not.toContain("PRIVATE KEY");
    expect((await embeddedCli("sources", "test", "by-cert", "--json")).json).toMatchObject({ ok: true });
    expect((await embeddedCli("sync", "by-cert", "--json")).json).toMatchObject({ status: "succeeded" });

    const members = other.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    const leaving = members.slice(0, 2);
    for (const u of leaving) other.deleteUser(u.id);
    const moved = { ...members[2]! };
    other.updateUser(moved.id, { department: "Moved Department" });
    const stopped = await embeddedCli("sync", "by-cert", "--json");
    expect(stopped.code).not.toBe(0);
    expect(stopped.json).toMatchObject({ status: "stopped", error: { code: "sync_threshold_exceeded" } });
    const shown = await embeddedCli("runs", "show", stopped.json.runId);
    expect(shown.stdout).toMatch(/changes \(\d+, planned, not applied\):/);
    const escape = (text: string) => text.replace(/[.+()]/g, "\\$&");
    // Each planned change says what it would do: the reason for a disable, the fields of an update.
    // (soft-deleted in Entra ID, so restorable: the reason says so)
    for (const u of leaving) expect(shown.stdout).toMatch(new RegExp(`disable\\s+${escape(u.mail ?? u.userPrincipalName)}\\n\\s+deleted in Entra ID, restorable \\(for 30 days\\)`));
    expect(shown.stdout).toMatch(new RegExp(`update\\s+${escape(moved.mail ?? moved.userPrincipalName)}\\n\\s+Department: ${escape(moved.department ?? "(empty)")} → Moved Department`));
    expect(shown.stdout).toMatch(/^  users: +0 created, 1 updated, 0 linked, 2 disabled/m);
    const disables = await embeddedCli("runs", "show", stopped.json.runId, "--action", "disable", "--json");
    expect(disables.json).toMatchObject({ changesTotal: 2, changesByAction: { disable: 2, update: 1 } });
    expect(disables.json.changes.map((c: { action: string }) => c.action)).toEqual(["disable", "disable"]);
    const first = await embeddedCli("runs", "show", stopped.json.runId, "--limit", "1");
    expect(first.stdout).toMatch(/… 2 more: --limit 3 lists them all\n {4}by kind \(--action KIND\): disable 2, update 1/);
    expect((await embeddedCli("runs", "show", stopped.json.runId, "--limit", "0")).code).not.toBe(0);
    const approved = await embeddedCli("runs", "approve", stopped.json.runId, "--json");
    expect(approved.json).toMatchObject({ status: "succeeded", counts: { disabled: 2 } });

    const kept = (await embeddedCli("users", "list", "--source", "by-cert", "--json")).json as { enabled: boolean }[];
    const removed = await embeddedCli("sources", "remove", "by-cert", "--users", "disable");
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`removed source by-cert; its ${kept.length} users and 0 groups stay (users disabled), managed in Rollcall from now on.\n` +
      "A source added later for the same tenant takes them back by their Entra object ID.\n");
    const after = (await embeddedCli("users", "list", "--source", "by-cert", "--json")).json as { enabled: boolean; source: { type: string } }[];
    expect(after).toHaveLength(kept.length);
    expect(after.every((u) => !u.enabled && u.source.type === "manual")).toBe(true);
    expect((await embeddedCli("users", "list", "--source", "by-cert")).stdout).toMatch(/false +kept from by-cert +Manual/);
    const refused = await embeddedCli("sources", "remove", "by-cert", "--users", "archive");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Allowed choices are keep, disable, delete/);
  }, 400_000);
});
