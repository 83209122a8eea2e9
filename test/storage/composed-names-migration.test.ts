import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sql, type Kysely } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { migrations, migrator } from "../../src/storage/migrations/index.ts";
import { migrateToLatest } from "../../src/storage/database.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createUser, listUsers, updateUser } from "../../src/core/users.ts";
import { rejection } from "../support/assert.ts";
import { runImport } from "../../src/core/imports.ts";
import { activityPage } from "../../src/core/change-log.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";

const composing = "041_stored_names_composed";
const before = Object.keys(migrations)[Object.keys(migrations).indexOf(composing) - 1]!;
const nfd = (text: string) => text.normalize("NFD");
const page = { limit: 50, offset: 0, sort: "displayName" as const, order: "asc" as const };

/** What a Mac's CSV left before names were composed, beside what came composed (a sync, or ASCII), at version 039. */
async function addDirectory(db: Kysely<unknown>): Promise<void> {
  const ws = sql`(select id from workspaces where name = 'default')`;
  const user = (email: string | null, upn: string | null, name: string, more: { department?: string; jobTitle?: string; tags?: string[]; custom?: Record<string, string>; source?: string } = {}) =>
    sql`insert into users (workspace_id, email, user_principal_name, display_name, given_name, surname, department, job_title, tags, custom_attributes, source_type, source_name)
        values (${ws}, ${email}, ${upn}, ${name}, ${name.split(" ")[0]}, ${name.split(" ")[1] ?? null}, ${more.department ?? null}, ${more.jobTitle ?? null},
          ${more.tags ?? ["Imported"]}, ${JSON.stringify(more.custom ?? {})}, 'import', ${more.source ?? "hr.csv"})`.execute(db);
  await user(nfd("jürgen.müller@example.de"), nfd("jürgen@corp.example"), nfd("Jürgen Müller"), {
    department: nfd("Logística"), jobTitle: nfd("Ingeniería"), tags: ["Imported", nfd("Zürich"), "zürich", "vip"], custom: { site: nfd("Malmö"), badge: "B-7" },
  });
  await user("ada@example.com", null, "Ada Lovelace", { department: "Research" });
  // Zoë imported from a Mac's file (NFD), and again from a composed one since: two users, one address to the eye.
  await user(nfd("zoë@example.de"), null, nfd("Zoë Ölçer"), { source: "mac.csv" });
  await user("zoë@example.de", null, "Zoë Ölçer", { source: "staff.csv" });
  await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position)
            select workspace_id, 'alias', ${nfd("jürgen")}, ${nfd("Jürgen")}, id, 0 from users where display_name = ${nfd("Jürgen Müller")}`.execute(db);
  await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position)
            select workspace_id, 'alias', 'zoë', 'Zoë', id, 0 from users where email = 'zoë@example.de'`.execute(db);
  await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position)
            select workspace_id, 'alias', ${nfd("zoë")}, ${nfd("zoë")}, id, 0 from users where email = ${nfd("zoë@example.de")}`.execute(db);
  const group = (name: string, source: string) =>
    sql`insert into groups (workspace_id, name, description, source_type, source_name) values (${ws}, ${name}, ${nfd("Équipe de Genève")}, 'import', ${source})`.execute(db);
  await group(nfd("Zespół Kraków"), "hr.csv");
  await group(nfd("Café"), "mac.csv");
  await group("Café", "staff.csv");
  await sql`insert into change_log (workspace_id, user_id, subject, action, after, actor)
            select workspace_id, id, email, 'create', ${JSON.stringify({ displayName: nfd("Jürgen Müller") })}, 'hr.csv' from users where display_name = ${nfd("Jürgen Müller")}`.execute(db);
}

describe.each(engines)("composing the names stored before 037 (migration 041) on %s", (engine) => {
  let store: TestStore | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("composes users' and groups' names, leaves a decomposed address another user holds composed with a warning, and rewrites nothing else", async () => {
    store = await openTestStore(engine, { migrate: false });
    const db = store.db as unknown as Kysely<unknown>;
    expect((await migrator(db).migrateTo(before)).error).toBeUndefined();
    await addDirectory(db);
    const stamp = async () => (await sql<{ email: string; xmin: string; updated_at: Date }>`select email, xmin::text, updated_at from users`.execute(db)).rows;
    const stamped = await stamp();

    expect(await migrateToLatest(store.db)).toContain(composing); // and any migration after it

    const users = await store.db.selectFrom("users").selectAll().orderBy("display_name").orderBy("source_name").execute();
    const jurgen = users.find((u) => u.display_name === "Jürgen Müller")!;
    expect(jurgen).toMatchObject({
      email: "jürgen.müller@example.de", user_principal_name: "jürgen@corp.example", given_name: "Jürgen", surname: "Müller", department: "Logística",
      job_title: "Ingeniería", tags: ["Imported", "Zürich", "vip"], custom_attributes: { site: "Malmö", badge: "B-7" },
    });
    // Only the rows that held a decomposed text are written, and their updated_at stays: nothing a person sees changed.
    const after = await stamp();
    const unchanged = (email: string) => [stamped, after].map((rows) => rows.find((r) => r.email === email));
    expect(unchanged("ada@example.com")[1]).toEqual(unchanged("ada@example.com")[0]);
    expect(unchanged("zoë@example.de")[1]).toEqual(unchanged("zoë@example.de")[0]);
    const jurgenStamp = [stamped, after].map((rows) => rows.find((r) => r.email.normalize("NFC") === "jürgen.müller@example.de")!);
    expect(jurgenStamp[1]!.xmin).not.toBe(jurgenStamp[0]!.xmin);
    expect(jurgenStamp[1]!.updated_at).toEqual(jurgenStamp[0]!.updated_at);

    // The two Zoës: the decomposed one keeps its address (and its alias), composed the name, and says why in its history.
    const zoes = users.filter((u) => u.display_name === "Zoë Ölçer");
    expect(zoes.map((u) => [u.source_name, u.email])).toEqual([["mac.csv", nfd("zoë@example.de")], ["staff.csv", "zoë@example.de"]]);
    const identifiers = await store.db.selectFrom("user_identifiers").select(["key", "value", "user_id"]).orderBy("value").execute();
    expect(identifiers).toEqual([
      { key: "jürgen", value: "Jürgen", user_id: jurgen.id },
      { key: "zoë", value: "Zoë", user_id: zoes[1]!.id },
      { key: nfd("zoë"), value: nfd("zoë"), user_id: zoes[0]!.id },
    ]);
    const warnings = await store.db.selectFrom("change_log").select(["user_id", "group_id", "subject", "after", "actor"]).where("action", "=", "warning").orderBy("id").execute();
    expect(warnings).toEqual([
      {
        user_id: zoes[0]!.id, group_id: null, subject: nfd("zoë@example.de"), actor: "rollcall",
        after: { messages: [`The upgrade left this user's email ${nfd("zoë@example.de")} as stored, decomposed (Unicode NFD): composed (NFC), as Rollcall now stores it, it is the email of Zoë Ölçer (zoë@example.de, from staff.csv). An import or a sync now matches that user, not this one: if they are one person, delete the user you no longer need; if not, change one of the two addresses.`] },
      },
      {
        user_id: zoes[0]!.id, group_id: null, subject: nfd("zoë@example.de"), actor: "rollcall",
        after: { messages: [`The upgrade left this user's alias ${nfd("zoë")} as stored, decomposed (Unicode NFD): composed (NFC), as Rollcall now stores it, it is an alias of Zoë Ölçer (zoë@example.de, from staff.csv). Remove it from one of the two.`] },
      },
      {
        user_id: null, group_id: expect.any(String), subject: nfd("Café"), actor: "rollcall",
        after: { messages: ["The upgrade left this group's name as stored, decomposed (Unicode NFD): composed (NFC), as Rollcall now stores it, it is the name of another group (from staff.csv). An import or a sync now puts members in that group, not this one: move this group's members there and delete it, or rename one of the two."] },
      },
    ]);

    const groups = await store.db.selectFrom("groups").select(["id", "name", "description", "source_name"]).orderBy("source_name").execute();
    expect(groups.map((g) => [g.name, g.description, g.source_name])).toEqual([
      ["Zespół Kraków", "Équipe de Genève", "hr.csv"],
      [nfd("Café"), "Équipe de Genève", "mac.csv"],
      ["Café", "Équipe de Genève", "staff.csv"],
    ]);
    expect(warnings[2]!.group_id).toBe(groups[1]!.id);
    // The history keeps what was written then.
    const created = await store.db.selectFrom("change_log").select("after").where("action", "=", "create").executeTakeFirstOrThrow();
    expect(created.after).toEqual({ displayName: nfd("Jürgen Müller") });

    // An admin finds them in the workspace's activity (`rollcall activity --action warning`), as the README says.
    const ctx: WorkspaceContext = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test" };
    const activity = await activityPage(store.db, ctx.workspace.id, { action: "warning" }, { limit: 10 });
    expect(activity.items.map((c) => c.subject)).toEqual([nfd("Café"), nfd("zoë@example.de"), nfd("zoë@example.de")]);

    // The address left decomposed, sent again (composed at the way in): a conflict naming the user who holds it, not a generic one.
    for (const attempt of [() => updateUser(ctx, zoes[0]!.id, { email: nfd("zoë@example.de") }), () => createUser(ctx, { email: nfd("zoë@example.de"), displayName: "Zoë" })]) {
      const refused = await rejection(attempt());
      expect([refused.code, refused.details.conflictsWith]).toEqual(["conflict", [{ id: zoes[1]!.id, displayName: "Zoë Ölçer", email: "zoë@example.de" }]]);
      expect(refused.message).toContain(`already belongs to Zoë Ölçer <zoë@example.de> (user ${zoes[1]!.id})`);
    }

    // What 041 is for: a composed import finds Jürgen by his address, and a department filter finds his department.
    dir = await mkdtemp(join(tmpdir(), "rollcall-composed-"));
    await writeFile(join(dir, "hr.csv"), "email,displayName,department\njürgen.müller@example.de,Jürgen Müller,Logística\n");
    const imported = await runImport(ctx, store, { path: join(dir, "hr.csv"), fileName: "hr.csv", dryRun: false, partial: false, updateExisting: false });
    expect(imported.counts).toMatchObject({ created: 0 });
    expect((await listUsers(ctx, { department: "logística" }, page)).items.map((u) => u.id)).toEqual([jurgen.id]);
    expect(await store.db.selectFrom("users").select(sql<number>`count(*)::int`.as("n")).executeTakeFirstOrThrow()).toEqual({ n: 4 });
  });

  it("leaves both of two addresses decomposed two ways (neither composed) as stored, each naming the other, and composes the rest of their rows", async () => {
    store = await openTestStore(engine, { migrate: false });
    const db = store.db as unknown as Kysely<unknown>;
    expect((await migrator(db).migrateTo(before)).error).toBeUndefined();
    // "ḗ" as e + macron + acute, and as ē + acute: neither is composed, and both compose to U+1E17.
    const spellings = ["e\u0304\u0301", "\u0113\u0301"].map((e) => `r${e}na@example.lv`);
    expect(new Set(spellings.map((e) => e.normalize("NFC"))).size).toBe(1);
    for (const [i, email] of spellings.entries()) {
      await sql`insert into users (workspace_id, email, display_name, source_type, source_name)
                select id, ${email}, ${nfd(`Rḗna Kalniņa ${i}`)}, 'import', ${`file${i}.csv`} from workspaces where name = 'default'`.execute(db);
    }
    await migrateToLatest(store.db);
    const users = await store.db.selectFrom("users").select(["id", "email", "display_name"]).orderBy("source_name").execute();
    expect(users.map((u) => [u.email, u.display_name])).toEqual([[spellings[0], "Rḗna Kalniņa 0"], [spellings[1], "Rḗna Kalniņa 1"]]);
    const warnings = await store.db.selectFrom("change_log").select(["user_id", "after"]).where("action", "=", "warning").execute();
    const named = (userId: string) => warnings.filter((w) => w.user_id === userId).map((w) => /it is the email of (.*)\. An import/.exec((w.after as { messages: string[] }).messages[0]!)?.[1]);
    expect(warnings).toHaveLength(2);
    expect(named(users[0]!.id)).toEqual([`Rḗna Kalniņa 1 (${spellings[1]}, from file1.csv)`]);
    expect(named(users[1]!.id)).toEqual([`Rḗna Kalniņa 0 (${spellings[0]}, from file0.csv)`]);
  });
});
