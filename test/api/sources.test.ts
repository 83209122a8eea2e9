import { X509Certificate } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { until } from "../notifications/support.ts";
import { testCertificate } from "../emulator/helpers.ts";
import { expectError, testApi, tokenCaller, type Caller, type Reply, type TestApi } from "./support.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { isRunAction } from "../../src/domain/change.ts";

/**
 * The sources and runs routes over the real HTTP stack (fastify inject) and a real sync against the emulator:
 * the secret is write-only, a sync answers with the running run whose progress can be followed, a second sync
 * meets 409, and a run stopped at the deletion threshold keeps its planned changes for review.
 */
describe.each(engines)("sources and runs API (%s)", (engine) => {
  let api: TestApi;
  let emulator: RunningEmulator;
  let as: Caller;
  const ws = "workspaces/default";
  const tenant = () => emulator.tenants.get(emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType !== "Guest");
  const enabledMembers = () => members().filter((u) => u.accountEnabled);
  const finished = async (id: string) => {
    let run: Reply["body"];
    await until(async () => (run = (await as("GET", `${ws}/runs/${id}?changes=1000`)).body).status !== "running", 60_000, `run ${id} to finish`);
    return run;
  };
  const enabledSynced = async () => (await as("GET", `${ws}/users?source=corp&enabled=true&limit=1`)).body.total as number;

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 60, groups: 5, seed: 21 });
    api = await testApi(engine);
    as = await tokenCaller(api, "default", "admin");
  });
  afterAll(async () => {
    await api?.close();
    await emulator?.close();
  });

  const settings = () => ({ tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, groupMode: "all" });

  it("validates a new source field by field and adds nothing on bad input", async () => {
    expectError(await as("POST", `${ws}/sources`, { ...settings(), clientSecret: emulator.clientSecret }), 400, "invalid_input", ["name"]);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "corp" }), 400, "invalid_input", ["clientSecret"]);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: "x", clientId: "not-a-guid" }), 400, "invalid_input", ["clientId"]);
    const tenantAndClient = await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: "x", tenantId: "https://login.microsoftonline.com/contoso", clientId: "not-a-guid" });
    expectError(tenantAndClient, 400, "invalid_input", ["tenantId", "clientId"]);
    expect(tenantAndClient.body.error.details.fields[0].message).toMatch(/^must be the directory \(tenant\) ID, a GUID .*Azure portal › Microsoft Entra ID › Overview/);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: "x", tenantId: "xyz" }), 400, "invalid_input", ["tenantId"]);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: "x", users: "groups" }), 400, "invalid_input", ["scopeGroups"]);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: "x", groupMode: "attribute" }), 400, "invalid_input", ["groupAttribute"]);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: "x", loginUrl: "http://insecure.example" }), 400, "invalid_input", ["loginUrl"]);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: "x", colour: "blue" }), 400, "invalid_input");
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "manual", clientSecret: "x" }), 400, "invalid_input", ["name"]);
    expect((await as("GET", `${ws}/sources`)).body).toMatchObject({ items: [], total: 0 });
  });

  it("creates, lists, shows and updates a source, never returning its secret", async () => {
    const created = await as("POST", `${ws}/sources`, { ...settings(), name: "corp", clientSecret: emulator.clientSecret, secretExpiresOn: "2099-01-31" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: "corp", type: "entra", secret: { set: true, expiresOn: "2099-01-31", description: "set, expires on 2099-01-31" }, status: { syncedUsers: 0, lastRun: null, running: null } });
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "CORP", clientSecret: "x" }), 409, "conflict", undefined);
    // The secret's ID pasted for its value is refused at once, saying which column to copy.
    const secretId = await as("POST", `${ws}/sources`, { ...settings(), name: "by-id", clientSecret: "3f2b9c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60" });
    expectError(secretId, 400, "invalid_input", ["clientSecret"]);
    expect(secretId.body.error.details.fields[0].message).toMatch(/^is a GUID: that is the secret's ID, not the secret\. .* copy the secret's Value/);

    const list = await as("GET", `${ws}/sources`);
    expect(list.body.items.map((s: { name: string }) => s.name)).toEqual(["corp"]);
    expect((await as("GET", `${ws}/sources/${created.body.id}`)).body.name).toBe("corp");
    expectError(await as("GET", `${ws}/sources/nope`), 404, "not_found");

    const updated = await as("PATCH", `${ws}/sources/corp`, { onRemove: "keep", deletionThreshold: { percent: 10, count: 5 } });
    expect(updated.body.config).toMatchObject({ onRemove: "keep", deletionThreshold: { percent: 10, count: 5 }, groupMode: "all" });
    expectError(await as("PATCH", `${ws}/sources/corp`, { onRemove: "shred" }), 400, "invalid_input", ["onRemove"]);
    // A cron expression is checked when saved, at its field: not five fields, out of range, or a date that never comes.
    for (const [cron, message] of [["every tuesday", /^must be a cron expression of five fields/], ["61 * * * *", /^is not a cron expression \(Invalid value for minute: 61\)/], ["* * * * * *", /five fields/], ["0 0 30 2 *", /^never runs/]] as const) {
      const refused = await as("PATCH", `${ws}/sources/corp`, { schedule: { cron } });
      expectError(refused, 400, "invalid_input", ["schedule.cron"]);
      expect(refused.body.error.details.fields[0].message, cron).toMatch(message);
    }
    expect((await as("PATCH", `${ws}/sources/corp`, { schedule: { cron: "0 6 * * 1-5" } })).body.status.nextRunAt).toMatch(/T06:00:00/);
    // Its hours are in the zone it names (UTC when it names none): 06:00 in India is 00:30 UTC.
    const kolkata = await as("PATCH", `${ws}/sources/corp`, { schedule: { cron: "0 6 * * 1-5", timeZone: "Asia/Kolkata" } });
    expect([kolkata.body.config.schedule, kolkata.body.status.nextRunAt]).toEqual([{ cron: "0 6 * * 1-5", timeZone: "Asia/Kolkata" }, expect.stringMatching(/T00:30:00/)]);
    const unknownZone = await as("PATCH", `${ws}/sources/corp`, { schedule: { cron: "0 6 * * 1-5", timeZone: "Mars/Olympus" } });
    expectError(unknownZone, 400, "invalid_input", ["schedule.timeZone"]);
    expect(unknownZone.body.error.details.fields[0].message).toBe('"Mars/Olympus" is not a time zone: give an IANA name such as Europe/Berlin, America/New_York or UTC');
    await as("PATCH", `${ws}/sources/corp`, { schedule: null });
    const threshold = await as("PATCH", `${ws}/sources/corp`, { deletionThreshold: { percent: 150, count: 2.5 } });
    expectError(threshold, 400, "invalid_input", ["deletionThreshold.percent", "deletionThreshold.count"]);
    expect(threshold.body.error.details.fields.map((f: { message: string }) => f.message)).toEqual(["must be a number from 0 to 100 (the share of the source's users)", "must be a whole number of users, 0 or more"]);
    expect((await as("GET", `${ws}/sources/corp`)).body.config.onRemove).toBe("keep");
    // A tenant ID saved before it was checked this strictly keeps the source usable; a new one given is checked.
    await sql`update sources set config = jsonb_set(config, '{tenantId}', '"legacy"') where id = ${created.body.id}`.execute(api.store.db);
    expect((await as("PATCH", `${ws}/sources/corp`, { onRemove: "disable" })).body.config).toMatchObject({ tenantId: "legacy", onRemove: "disable" });
    expectError(await as("PATCH", `${ws}/sources/corp`, { tenantId: "legacy2" }), 400, "invalid_input", ["tenantId"]);
    expect((await as("PATCH", `${ws}/sources/corp`, { tenantId: emulator.tenantId, onRemove: "keep" })).body.config.tenantId).toBe(emulator.tenantId);
    await as("PATCH", `${ws}/sources/corp`, { onRemove: "disable" });
    // Renamed (by name or id), and back; a bad or reserved name is refused at the field.
    expect((await as("PATCH", `${ws}/sources/corp`, { name: "Corp HQ" })).body).toMatchObject({ id: created.body.id, name: "Corp HQ", config: { onRemove: "disable" } });
    expectError(await as("GET", `${ws}/sources/corp`), 404, "not_found");
    expectError(await as("PATCH", `${ws}/sources/${created.body.id}`, { name: "import" }), 400, "invalid_input", ["name"]);
    expectError(await as("PATCH", `${ws}/sources/${created.body.id}`, { name: "-bad" }), 400, "invalid_input", ["name"]);
    expect((await as("PATCH", `${ws}/sources/${created.body.id}`, { name: "corp" })).body.name).toBe("corp");
    // If-Match: a change made on the version read applies; one made on an older version is a 412, nothing changed.
    const read = await as("GET", `${ws}/sources/corp`);
    const version = read.headers.etag as string;
    expect((await as("GET", `${ws}/sources/${created.body.id}`)).headers.etag, "the same version by id").toBe(version);
    const theirs = await as("PATCH", `${ws}/sources/corp`, { onRemove: "keep" }, { "if-match": version });
    expect([theirs.status, theirs.headers.etag === version]).toEqual([200, false]);
    expectError(await as("PATCH", `${ws}/sources/corp`, { onRemove: "delete" }, { "if-match": version }), 412, "precondition_failed");
    expect((await as("GET", `${ws}/sources/corp`)).body.config.onRemove).toBe("keep");
    expect((await as("PATCH", `${ws}/sources/corp`, { onRemove: "disable" }, { "if-match": theirs.headers.etag as string })).status).toBe(200);

    // A wrong secret written through the API is used (the connection test fails) but never shown.
    await as("PATCH", `${ws}/sources/corp`, { clientSecret: "wrong-secret-value" });
    const refused = await as("POST", `${ws}/sources/corp/test`);
    expect(refused.body).toMatchObject({ ok: false, checks: [{ name: "token", ok: false, code: "AADSTS7000215" }] });
    // Searching its groups fails the same way, with the command to run for this source, as the connection test says it.
    const search = await as("POST", `${ws}/sources/corp/find-groups`, { q: "" });
    expectError(search, 502, "source_auth_failed");
    expect(search.body.error.message).toContain("rollcall sources update corp --client-secret-env VAR");
    // A secret pasted with a line end or spaces around it is the secret; a blank one keeps the stored secret.
    expect((await as("PATCH", `${ws}/sources/corp`, { clientSecret: ` ${emulator.clientSecret}\n` })).status).toBe(200);
    const blank = await as("PATCH", `${ws}/sources/corp`, { clientSecret: "   " });
    expectError(blank, 400, "invalid_input", ["clientSecret"]);
    expect(blank.body.error.details.fields[0].message).toMatch(/^is blank: paste the secret's Value/);
    const connected = await as("POST", `${ws}/sources/corp/test`);
    expect(connected.body.ok, JSON.stringify(connected.body)).toBe(true);
    expect(connected.body.checks.map((c: { name: string }) => c.name)).toEqual(["token", "users", "delta", "groups"]);

    const log = await api.store.db.selectFrom("change_log").select(["action", "before", "after"]).execute();
    expect(log.map((c) => c.action)).toContain("update source");
    for (const body of [created.body, list.body, updated.body, (await as("GET", `${ws}/sources/corp`)).body, log]) {
      expect(JSON.stringify(body)).not.toContain(emulator.clientSecret);
      expect(JSON.stringify(body)).not.toContain("wrong-secret-value");
    }
    // Groups to name in the settings, found in the tenant with the stored secret: names starting with the text, without case.
    const group = tenant().listGroups()[0]!;
    const found = await as("POST", `${ws}/sources/corp/find-groups`, { q: group.displayName.slice(0, 3).toLowerCase() });
    expect(found.body.items).toContainEqual({ id: group.id, displayName: group.displayName, description: group.description ?? null });
    expect(found.body.items.every((g: { displayName: string }) => g.displayName.toLowerCase().startsWith(group.displayName.slice(0, 3).toLowerCase()))).toBe(true);
    expect((await as("POST", `${ws}/sources/corp/find-groups`, {})).body.items).toHaveLength(tenant().listGroups().length);
    expect((await as("POST", `${ws}/sources/corp/find-groups`, { q: "no group starts like this" })).body.items).toEqual([]);

    // The write-only secret cannot be sent elsewhere by pointing the source at another host: the credential is asked for again.
    for (const moved of [{ loginUrl: "https://login.attacker.example" }, { graphUrl: "https://graph.attacker.example" }, { loginUrl: null, graphUrl: "https://graph.attacker.example" }]) {
      const refusedMove = await as("PATCH", `${ws}/sources/corp`, moved);
      expectError(refusedMove, 400, "invalid_input", ["clientSecret"]);
      expect(refusedMove.body.error.details.fields[0].message).toMatch(/^must be given again when the (login|Graph) URL/);
    }
    expect((await as("GET", `${ws}/sources/corp`)).body.config).toMatchObject({ loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl });
    expect((await as("PATCH", `${ws}/sources/corp`, { loginUrl: `${emulator.loginUrl}/`, onRemove: "disable" })).status).toBe(200);
    expect((await as("PATCH", `${ws}/sources/corp`, { graphUrl: emulator.graphUrl, clientSecret: emulator.clientSecret })).status).toBe(200);

    const viewer = await tokenCaller(api, "default", "viewer");
    expectError(await viewer("POST", `${ws}/sources/corp/find-groups`, { q: "" }), 403, "forbidden");
    expect((await viewer("GET", `${ws}/sources/corp`)).status).toBe(200);
    expectError(await viewer("PATCH", `${ws}/sources/corp`, { onRemove: "keep" }), 403, "forbidden");
    expectError(await viewer("POST", `${ws}/sources/corp/sync`, {}), 403, "forbidden");
  });

  it("a dry run answers with the running run, lists every change and applies none", async () => {
    expectError(await as("POST", `${ws}/sources/corp/sync`, { dryRun: "yes" }), 400, "invalid_input", ["dryRun"]);
    const started = await as("POST", `${ws}/sources/corp/sync`, { dryRun: true });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ source: "corp", status: "running", dryRun: true, trigger: "api", requestedBy: "token:admin token" });
    const run = await finished(started.body.id);
    expect(run).toMatchObject({ status: "succeeded", dryRun: true, counts: { created: members().length } });
    expect((await as("GET", `${ws}/sources/corp`)).body.status.lastRun).toEqual({
      id: run.id, status: "succeeded", mode: "full", dryRun: true, counts: run.counts, startedAt: run.startedAt, finishedAt: run.finishedAt,
    });
    const changes = await as("GET", `${ws}/runs/${run.id}/changes?limit=5000`);
    const creates = changes.body.items.filter((c: { action: string }) => c.action === "create");
    // The run's log as a CSV download: one line per entry in the run's order, or per entry of one kind.
    const csvLines = async (query = "") => ((await as("GET", `${ws}/runs/${run.id}/changes.csv${query}`)).body as string).replace(/^\uFEFF/, "").trim().split("\r\n");
    const all = await csvLines();
    expect(all[0]).toBe("time,by,change,subject,fields,notes,run");
    expect(all.slice(1).map((line) => line.split(",")[3])).toEqual(changes.body.items.map((c: { subject: string }) => (/[",\r\n;]|^\s|\s$/.test(c.subject) ? expect.any(String) : c.subject)));
    const created = await csvLines("?action=create");
    expect(created).toHaveLength(creates.length + 1);
    expect(created.slice(1).every((line) => line.includes(`,Created,`) && line.endsWith(`,${run.id}`))).toBe(true);
    expectError(await as("GET", `${ws}/runs/00000000-0000-4000-8000-000000000000/changes.csv`), 404, "not_found");
    expect(creates.map((c: { subject: string }) => c.subject).sort()).toEqual(members().map((u) => u.mail ?? u.userPrincipalName).sort());
    expect(changes.body.items.some((c: { action: string }) => c.action === "create group")).toBe(true);
    expect(await enabledSynced()).toBe(0);
  });

  it("shows progress while a run goes, answers 409 to a second sync and to removing the source, then lists the runs", async () => {
    // Slow answers until the run is seen fetching, then held (the ones waiting too), so it is still going through the
    // five calls below however long a loaded machine takes over them; released once they are made.
    emulator.setKnobs({ latencyMs: 3000 });
    try {
      const first = await as("POST", `${ws}/sources/corp/sync`, {});
      expect(first.status).toBe(202);
      let seen: Reply["body"];
      await until(async () => (seen = (await as("GET", `${ws}/runs/${first.body.id}`)).body).progress.phase === "fetching", 30_000, "the fetching phase");
      emulator.setKnobs({ latencyMs: 600_000 });
      expect(seen.status).toBe("running");
      expect((await as("GET", `${ws}/sources/corp`)).body.status.running).toBe(first.body.id);

      const second = await as("POST", `${ws}/sources/corp/sync`, { full: true });
      expectError(second, 409, "sync_running");
      expect(second.body.error.details.runId).toBe(first.body.id);
      expect(second.body.error.message).toContain(first.body.id);
      expectError(await as("DELETE", `${ws}/sources/corp`), 409, "sync_running");
      // The run goes on with the settings it started with: a new mapping waits for its end; a secret's expiry date does not.
      const remap = await as("PATCH", `${ws}/sources/corp`, { mapping: { "custom:city": "city" } });
      expectError(remap, 409, "sync_running");
      expect(remap.body.error.message).toBe(`Source "corp" is syncing (run ${first.body.id}); a run uses the settings it started with, so change them once it ends (or stop it)`);
      expect((await as("PATCH", `${ws}/sources/corp`, { secretExpiresOn: "2030-06-30" })).status).toBe(200);
      emulator.setKnobs({ latencyMs: 0 });

      const run = await finished(first.body.id);
      // A dry run keeps no delta link: the first real run is full, on either engine.
      expect(run).toMatchObject({ status: "succeeded", mode: "full", dryRun: false, counts: { created: members().length } });
      expect(run.graphRequests).toBeGreaterThan(0);
      expect(run.progress.phase).toBe("done");
    } finally {
      emulator.setKnobs({ latencyMs: 0 });
    }
    expect(await enabledSynced()).toBe(enabledMembers().length);

    const runs = await as("GET", `${ws}/runs?source=corp`);
    expect(runs.body.items.map((r: { dryRun: boolean; status: string }) => [r.dryRun, r.status])).toEqual([[false, "succeeded"], [true, "succeeded"]]);
    const shown = await as("GET", `${ws}/runs/${runs.body.items[0].id}?changes=1000`);
    // Without asking, a run comes without its change log (it is polled while it goes); with ?changes=N, its first N.
    expect((await as("GET", `${ws}/runs/${runs.body.items[0].id}`)).body.changes).toEqual([]);
    expect((await as("GET", `${ws}/runs/${runs.body.items[0].id}?changes=2`)).body.changes).toEqual(shown.body.changes.slice(0, 2));
    expectError(await as("GET", `${ws}/runs/${runs.body.items[0].id}?changes=5000`), 400, "invalid_input", ["changes"]);
    expect(shown.body.changes.filter((c: { action: string }) => c.action === "create")).toHaveLength(members().length);
    const paged = await as("GET", `${ws}/runs/${runs.body.items[0].id}/changes?limit=2&offset=1`);
    expect(paged.body.items.map((c: { id: string }) => c.id)).toEqual(shown.body.changes.slice(1, 3).map((c: { id: string }) => c.id));
    // The whole run's count, and per action, whatever the page: a big run's log is browsed page by page.
    expect(paged.body.total).toBe(shown.body.changes.length);
    expect(paged.body.actions.create).toBe(members().length);
    expect(Object.values(paged.body.actions as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(paged.body.total);
    const groupsOnly = await as("GET", `${ws}/runs/${runs.body.items[0].id}/changes?action=${encodeURIComponent("create group")}&limit=1&offset=1`);
    expect(groupsOnly.body).toMatchObject({ total: paged.body.actions["create group"], actions: paged.body.actions });
    expect(groupsOnly.body.items.map((c: { id: string }) => c.id)).toEqual(shown.body.changes.filter((c: { action: string }) => c.action === "create group").slice(1, 2).map((c: { id: string }) => c.id));
    // A kind the log does not have is refused, naming those it has; a run's kinds are all accepted.
    const typo = await as("GET", `${ws}/runs/${runs.body.items[0].id}/changes?action=disabled`);
    expectError(typo, 400, "invalid_input", ["action"]);
    expect(typo.body.error.details.fields[0].message).toMatch(/^must be a kind of change: create, update, link, disable/);
    for (const kind of Object.keys(paged.body.actions)) expect(isRunAction(kind), kind).toBe(true);
    // Paged: every page counts every run, as a client paging while offset < total needs.
    expect((await as("GET", `${ws}/runs?limit=1`)).body).toMatchObject({ items: [{ id: runs.body.items[0].id }], total: 2 });
    expect((await as("GET", `${ws}/runs?limit=1&offset=1`)).body).toMatchObject({ items: [{ id: runs.body.items[1].id }], total: 2 });
    expect((await as("GET", `${ws}/runs?limit=1&offset=5`)).body).toMatchObject({ items: [], total: 2 });
    expectError(await as("GET", `${ws}/runs/not-a-run`), 404, "not_found");
    expectError(await as("GET", `${ws}/runs/00000000-0000-4000-8000-000000000000`), 404, "not_found");
    expectError(await as("GET", `${ws}/runs?limit=0`), 400, "invalid_input", ["limit"]);
    expectError(await as("POST", `${ws}/runs/${runs.body.items[0].id}/approve`), 409, "conflict");
  });

  it("a run stopped at the deletion threshold keeps its planned changes; approving applies exactly those", async () => {
    const gone = enabledMembers().slice(0, 8);
    for (const u of gone) tenant().deleteUser(u.id);
    const enabled = await enabledSynced();
    const stopped = await finished((await as("POST", `${ws}/sources/corp/sync`, {})).body.id);
    expect(stopped).toMatchObject({ status: "stopped", error: { code: "sync_threshold_exceeded", details: { removals: 8 } } });
    expect(await enabledSynced()).toBe(enabled);
    const planned = stopped.changes.filter((c: { action: string }) => c.action === "disable");
    expect(planned.map((c: { subject: string }) => c.subject).sort()).toEqual(gone.map((u) => u.mail ?? u.userPrincipalName).sort());
    expect(stopped.changes.some((c: { action: string }) => c.action.startsWith("remove from group "))).toBe(true);
    // The planned changes are on the run only, not on the users' histories: nothing happened to them.
    const someone = (await as("GET", `${ws}/users/${encodeURIComponent(planned[0].subject)}/changes`)).body.items;
    expect(someone.map((c: { action: string }) => c.action)).toContain("create");
    expect(someone.map((c: { action: string }) => c.action)).not.toContain("disable");
    // A preview after it does not hide it: the source still says a run waits for review.
    const preview = await finished((await as("POST", `${ws}/sources/corp/sync`, { dryRun: true })).body.id);
    expect((await as("GET", `${ws}/sources/corp`)).body.status).toMatchObject({ lastRun: { id: preview.id, dryRun: true }, awaitingReview: stopped.id });

    const approved = await as("POST", `${ws}/runs/${stopped.id}/approve`);
    expect(approved.status).toBe(202);
    const applied = await finished(approved.body.id);
    expect(applied).toMatchObject({ status: "succeeded", forced: true, counts: { disabled: 8 } });
    const key = (c: { action: string; subject: string }) => `${c.action} ${c.subject}`;
    expect(applied.changes.map(key).sort()).toEqual(stopped.changes.map(key).sort());
    expect((await as("GET", `${ws}/runs/${stopped.id}`)).body.status).toBe("applied");
    expect((await as("GET", `${ws}/sources/corp`)).body.status.awaitingReview).toBeNull();
    expect(await enabledSynced()).toBe(enabled - 8);
    const again = await as("POST", `${ws}/runs/${stopped.id}/approve`);
    expectError(again, 409, "conflict");
    expect(again.body.error.message).toMatch(/is applied, not waiting for a decision; only a run stopped at the deletion threshold can be approved/);
    // Nor can it be rejected any more: it is not waiting for a decision, and stays applied.
    const rejected = await as("POST", `${ws}/runs/${stopped.id}/reject`);
    expectError(rejected, 409, "conflict");
    expect(rejected.body.error.message).toMatch(/is applied, not waiting for a decision/);
    expect((await as("GET", `${ws}/runs/${stopped.id}`)).body.status).toBe("applied");
    expectError(await as("POST", `${ws}/runs/${applied.id}/reject`), 409, "conflict");
    expectError(await as("POST", `${ws}/runs/00000000-0000-4000-8000-000000000000/reject`), 404, "not_found");
  });

  it("approving applies nothing when Entra ID changed since the review; the new run stops for review", async () => {
    const gone = enabledMembers().slice(0, 7);
    for (const u of gone) tenant().deleteUser(u.id);
    const enabled = await enabledSynced();
    const stopped = await finished((await as("POST", `${ws}/sources/corp/sync`, {})).body.id);
    expect(stopped.status).toBe("stopped");

    tenant().deleteUser(enabledMembers()[0]!.id); // one more leaves after the review
    const retried = await finished((await as("POST", `${ws}/runs/${stopped.id}/approve`)).body.id);
    expect(retried).toMatchObject({ status: "stopped", forced: true, error: { code: "sync_plan_changed", details: { reviewedRunId: stopped.id } } });
    expect(retried.changes.filter((c: { action: string }) => c.action === "disable")).toHaveLength(8);
    expect(await enabledSynced()).toBe(enabled);
    expect((await as("GET", `${ws}/runs/${stopped.id}`)).body.status).toBe("stopped");
    // The first review is out of date now: approving it again points at the newer one rather than running again.
    const stale = await as("POST", `${ws}/runs/${stopped.id}/approve`);
    expectError(stale, 409, "conflict");
    expect(stale.body.error).toMatchObject({ message: `Run ${stopped.id} is out of date: run ${retried.id} stopped for review after it, with the changes as they are now: approve or reject that one.`, details: { laterRun: retried.id } });

    expect((await as("POST", `${ws}/runs/${stopped.id}/reject`)).body.status).toBe("rejected");
    expectError(await as("POST", `${ws}/runs/${stopped.id}/reject`), 409, "conflict");
    const applied = await finished((await as("POST", `${ws}/runs/${retried.id}/approve`)).body.id);
    expect(applied).toMatchObject({ status: "succeeded", counts: { disabled: 8 } });
    expect(await enabledSynced()).toBe(enabled - 8);
  });

  it("takes a certificate instead of a secret, write-only like one, and connects with it", async () => {
    const registered = testCertificate("rollcall-api");
    tenant().addCertificate(emulator.clientId, { certificatePem: registered.certificatePem });
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "by-cert", certificatePem: registered.certificatePem }), 400, "invalid_input", ["privateKeyPem"]);
    expectError(await as("POST", `${ws}/sources`, { ...settings(), name: "by-cert", clientSecret: "x", ...registered }), 400, "invalid_input", ["clientSecret"]);
    expect((await as("GET", `${ws}/sources`)).body.items.map((s: { name: string }) => s.name)).toEqual(["corp"]);

    const created = await as("POST", `${ws}/sources`, { ...settings(), name: "by-cert", ...registered });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // A certificate says when it expires: that is the source's expiry date unless one is given.
    const validTo = new Date(new X509Certificate(registered.certificatePem).validTo).toISOString().slice(0, 10);
    expect(created.body).toMatchObject({ config: { credential: "certificate", secretExpiresOn: validTo }, secret: { set: true, expiresOn: validTo, description: expect.stringMatching(/^certificate set, expires on /) } });
    expect(JSON.stringify(created.body)).not.toContain("PRIVATE KEY");
    expect((await as("POST", `${ws}/sources/by-cert/test`)).body.ok).toBe(true);
    // Two sources reading the same tenant for the same users would each see the other's users as conflicts: both say so.
    expect(created.body.status.overlapping).toEqual(["corp"]);
    expect((await as("GET", `${ws}/sources/corp`)).body.status.overlapping).toEqual(["by-cert"]);
    const elsewhere = await as("POST", `${ws}/sources`, { ...settings(), tenantId: "5b1c7a2e-0d3f-4e6a-9b8c-7d6e5f4a3b21", name: "elsewhere", clientSecret: "another-tenant-secret" });
    expect(elsewhere.body.status.overlapping).toEqual([]);
    expect((await as("DELETE", `${ws}/sources/elsewhere`)).status).toBe(200);

    // Replacing the certificate with a secret switches the credential kind; the certificate's date goes with it.
    const switched = await as("PATCH", `${ws}/sources/by-cert`, { clientSecret: emulator.clientSecret });
    expect(switched.body).toMatchObject({ config: { credential: "secret", secretExpiresOn: null }, secret: { expiresOn: null, description: "set" } });
    const dated = await as("PATCH", `${ws}/sources/by-cert`, { clientSecret: emulator.clientSecret, secretExpiresOn: "2099-02-01" });
    expect(dated.body.secret).toMatchObject({ expiresOn: "2099-02-01" });
    // A new secret given without a date does not keep the date of the one it replaces; other changes keep it.
    expect((await as("PATCH", `${ws}/sources/by-cert`, { onRemove: "keep" })).body.secret).toMatchObject({ expiresOn: "2099-02-01" });
    expect((await as("PATCH", `${ws}/sources/by-cert`, { clientSecret: emulator.clientSecret })).body.secret).toMatchObject({ expiresOn: null });
    expect((await as("POST", `${ws}/sources/by-cert/test`)).body.ok).toBe(true);
    expect((await as("DELETE", `${ws}/sources/by-cert`)).status).toBe(200);
  });

  it("removes a source; its users stay, managed in Rollcall (users=keep, the default), or disabled or deleted as asked", async () => {
    expectError(await as("DELETE", `${ws}/sources/corp?users=archive`), 400, "invalid_input", ["users"]);
    expect((await as("GET", `${ws}/sources/corp`)).status).toBe(200);
    const users = await enabledSynced();
    const removed = await as("DELETE", `${ws}/sources/corp`);
    expect(removed.body).toMatchObject({ name: "corp", removal: { users: "keep", usersAffected: expect.any(Number) } });
    expect(removed.body.removal.usersAffected).toBeGreaterThanOrEqual(users);
    expectError(await as("GET", `${ws}/sources/corp`), 404, "not_found");
    expect((await as("GET", `${ws}/users?enabled=true&source=corp&sourceType=manual&limit=1`)).body.total).toBe(users);
    expect((await as("GET", `${ws}/users?sourceType=entra&limit=1`)).body.total).toBe(0);
  });
});
