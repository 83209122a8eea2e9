import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { createUser, listUsers, updateUser } from "../../src/core/users.ts";
import { groupMembers, listGroups } from "../../src/core/groups.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";

const page = { limit: 50, offset: 0, sort: "displayName" as const, order: "asc" as const };

/** Display name, email, UPN, employee ID. */
const people: [string, string | null, string | null, string | null][] = [
  ["Ada Lovelace", "ada@example.com", "ada.l@corp.example", "E-100"],
  ["100% Sure", "sure@example.com", null, null],
  ["1000 Sure", "thousand@example.com", null, null],
  ["Under_Score", "under@example.com", null, null],
  ["UnderXScore", "underx@example.com", null, null],
  ["Back\\Slash", "back@example.com", null, null],
  ["BackSlash", "backs@example.com", null, null],
  ["ÉMILE Zoë Øvergaard", "emile@example.com", null, null],
  ["Ölaf Straße", "olaf@example.com", null, null],
  ["Pat Doe", "pat@example.com", null, "XQ-77"],
  ["Joe Bloggs", "smith@example.com", null, null],
  ["Upn Only", null, "only.upn@corp.example", null],
  ["José Núñez", "jose.nunez@example.com", null, null],
  // Decomposed (NFD), as a Mac's CSV spelled it before names were stored composed: u and a combining diaeresis.
  ["Ju\u0308rgen Mu\u0308ller", "jm@example.com", null, null],
  ["Łucja Wiśniewska-Łódź", "lucja@example.com", null, null],
  ["Ｍｉｋａ 田中", "mika@example.com", null, null],
  ["Bjørn Ærø", "bjorn@example.com", null, null],
  // A term in the UPN, the field before the employee ID, and in the employee ID too.
  ["Kim Vale", "kim@example.com", "kim@vale.example", "VALE-9"],
];

/** What the search answered before it read users.search_text: each field ILIKE the escaped term. */
async function before(store: TestStore, workspaceId: string, q: string, fields = ["display_name", "email", "user_principal_name", "employee_id"]): Promise<string[]> {
  const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const { rows } = await sql<{ display_name: string }>`
    select display_name from users where workspace_id = ${workspaceId}
       and (${sql.join(fields.map((f) => sql`${sql.ref(f)} ilike ${pattern}`), sql` or `)})
     order by display_name collate "und-x-icu", id`.execute(store.db);
  return rows.map((r) => r.display_name);
}

describe.each(engines)("user search on %s", (engine) => {
  let store: TestStore;
  let ctx: WorkspaceContext;

  beforeAll(async () => {
    store = await openTestStore(engine);
    const workspace = await createWorkspace(store.db, { name: "search" });
    ctx = { db: store.db, workspace, actor: "test" };
    const ids = await store.db
      .insertInto("users")
      .values(people.map(([display_name, email, user_principal_name, employee_id]) => ({ workspace_id: workspace.id, display_name, email, user_principal_name, employee_id, custom_attributes: "{}", source_type: "manual", source_name: "manual" })))
      .returning("id")
      .execute();
    const group = await store.db.insertInto("groups").values({ workspace_id: workspace.id, name: "Everyone", source_type: "manual", source_name: "manual" }).returning("id").executeTakeFirstOrThrow();
    await store.db.insertInto("group_members").values(ids.map((u) => ({ workspace_id: workspace.id, group_id: group.id, member_user_id: u.id }))).execute();
  });
  afterAll(() => store?.dispose());

  const names = async (q: string) => (await listUsers(ctx, { q }, page)).items.map((u) => u.displayName);
  const memberNames = async (q: string) => (await groupMembers(ctx, "Everyone", { limit: 50, q })).items.map((m) => m.displayName);

  it("takes LIKE's wildcards and its escape character literally", async () => {
    expect(await names("%")).toEqual(["100% Sure"]);
    expect(await names("0% s")).toEqual(["100% Sure"]);
    expect(await names("under_score")).toEqual(["Under_Score"]);
    expect(await names("_")).toEqual(["Under_Score"]);
    expect(await names("k\\s")).toEqual(["Back\\Slash"]);
    expect(await names("\\")).toEqual(["Back\\Slash"]);
    expect(await names("%\\_")).toEqual([]);
  });

  it("ignores case, in non-ASCII letters too", async () => {
    expect(await names("LOVELACE")).toEqual(["Ada Lovelace"]);
    expect(await names("émile")).toEqual(["ÉMILE Zoë Øvergaard"]);
    expect(await names("ZOË ø")).toEqual(["ÉMILE Zoë Øvergaard"]);
    expect(await names("ÖLAF STRAßE")).toEqual(["Ölaf Straße"]);
  });

  it("ignores accents: jose finds José, muller Müller (stored decomposed), lodz Łódź, strasse Straße", async () => {
    expect(await names("jose")).toEqual(["José Núñez"]);
    expect(await names("NUNEZ")).toEqual(["José Núñez"]);
    expect(await names("muller")).toEqual(["Ju\u0308rgen Mu\u0308ller"]);
    expect(await names("Müller")).toEqual(["Ju\u0308rgen Mu\u0308ller"]); // composed term, decomposed name
    expect(await names("Mu\u0308ller")).toEqual(["Ju\u0308rgen Mu\u0308ller"]);
    expect(await names("lodz")).toEqual(["Łucja Wiśniewska-Łódź"]);
    expect(await names("wisniewska-łódź")).toEqual(["Łucja Wiśniewska-Łódź"]);
    expect(await names("ölaf strasse")).toEqual(["Ölaf Straße"]);
    expect(await names("emile zoe overgaard")).toEqual(["ÉMILE Zoë Øvergaard"]);
    expect(await names("bjorn aero")).toEqual(["Bjørn Ærø"]);
    // Full-width Latin (a Japanese keyboard's) reads as Latin; kana and kanji are found as typed.
    expect(await names("mika")).toEqual(["Ｍｉｋａ 田中"]);
    expect(await names("ＭＩＫＡ")).toEqual(["Ｍｉｋａ 田中"]);
    expect(await names("田中")).toEqual(["Ｍｉｋａ 田中"]);
    // A full-width percent sign folds to "%", still taken literally.
    expect(await names("０％")).toEqual(["100% Sure"]);
    expect(await memberNames("muller")).toEqual(["Ju\u0308rgen Mu\u0308ller"]);
  });

  it("takes a filter's department or group given decomposed (NFD) as the composed one stored", async () => {
    const [jose] = await store.db.selectFrom("users").select("id").where("display_name", "=", "José Núñez").execute();
    await updateUser(ctx, jose!.id, { department: "Qualitätssicherung" });
    try {
      const found = async (filter: { department?: string; group?: string }) => (await listUsers(ctx, { q: "jose", ...filter }, page)).items.map((u) => u.displayName);
      expect(await found({ department: "Qualitätssicherung".normalize("NFD") })).toEqual(["José Núñez"]);
      expect(await found({ group: "Everyone", department: "qualitätssicherung" })).toEqual(["José Núñez"]);
    } finally {
      await updateUser(ctx, jose!.id, { department: null });
    }
  });

  it("finds groups and member groups by name without accents", async () => {
    const group = await store.db.insertInto("groups").values({ workspace_id: ctx.workspace.id, name: "Zespół Łódź", source_type: "manual", source_name: "manual" }).returning("id").executeTakeFirstOrThrow();
    const everyone = await store.db.selectFrom("groups").select("id").where("name", "=", "Everyone").executeTakeFirstOrThrow();
    await store.db.insertInto("group_members").values({ workspace_id: ctx.workspace.id, group_id: everyone.id, member_group_id: group.id }).execute();
    try {
      expect((await listGroups(ctx, { q: "zespol lodz" }, { limit: 50, offset: 0 })).items.map((g) => g.name)).toEqual(["Zespół Łódź"]);
      expect(await memberNames("lodz")).toEqual(["Zespół Łódź", "Łucja Wiśniewska-Łódź"]);
    } finally {
      await store.db.deleteFrom("group_members").where("member_group_id", "=", group.id).execute();
      await store.db.deleteFrom("groups").where("id", "=", group.id).execute();
    }
  });

  it("searches display name, email, UPN and employee ID, each on its own", async () => {
    expect(await names("corp.example")).toEqual(["Ada Lovelace", "Upn Only"]);
    expect(await names("xq-7")).toEqual(["Pat Doe"]);
    // The fields are one text to search, but a term never matches across two of them.
    expect(await names("bloggssmith")).toEqual([]);
    expect(await names("bloggs\x1fsmith")).toEqual([]);
    expect(await names("Bloggs")).toEqual(["Joe Bloggs"]);
  });

  it("answers what the search answered before for terms without accents, users and group members alike", async () => {
    const terms = ["a", "ex", "SURE", "1000", "%", "_", "\\", "ÉMILE", "straße", "e-1", "xq", "@corp", "upn", "ack\\", "no one", "\x1f", "vale", "vale-9", "e-9", "9", "example", "kim@vale.example"];
    for (const q of terms) {
      expect(await names(q), q).toEqual(await before(store, ctx.workspace.id, q));
      // A group's member search leaves the employee ID out.
      expect(await memberNames(q), q).toEqual(await before(store, ctx.workspace.id, q, ["display_name", "email", "user_principal_name"]));
    }
    expect(await memberNames("xq-7")).toEqual([]);
    expect(await memberNames("vale-9")).toEqual([]);
    expect(await memberNames("VALE")).toEqual(["Kim Vale"]);
  });

  it("counts the matches on every page, whether the page ends the list or not", async () => {
    const all = (await before(store, ctx.workspace.id, "example")).length;
    expect(all).toBe(people.length);
    for (const [limit, offset] of [[5, 0], [5, 10], [5, 12], [5, 40], [50, 3], [50, 0]] as const) {
      const found = await listUsers(ctx, { q: "example" }, { ...page, limit, offset });
      expect([found.total, found.items.length], `limit ${limit} offset ${offset}`).toEqual([all, Math.max(0, Math.min(limit, all - offset))]);
    }
    const members = await groupMembers(ctx, "Everyone", { limit: 5, q: "example" });
    expect([members.total, members.items.length]).toEqual([all, 5]);
    const next = await groupMembers(ctx, "Everyone", { limit: 50, q: "example", after: members.next! });
    expect([next.total, next.items.length]).toEqual([all, all - 5]);
  });

  it("finds a user by a card number or alias they hold, or a phone number written any usual way (a help desk's \"Anna can't badge in\")", async () => {
    const [ada] = await store.db.selectFrom("users").select("id").where("display_name", "=", "Ada Lovelace").execute();
    const [joe] = await store.db.selectFrom("users").select("id").where("display_name", "=", "Joe Bloggs").execute();
    await updateUser(ctx, ada!.id, { cardNumbers: ["0042117"], aliases: ["AKow"], mobilePhone: "+447911123456" });
    await updateUser(ctx, joe!.id, { businessPhones: ["+14255550100", "+442071838750"] });
    const other = await createWorkspace(store.db, { name: "search-other" });
    await createUser({ db: store.db, workspace: other, actor: "test" }, { displayName: "Card Twin", email: "twin@example.com", cardNumbers: ["0042117"] });
    try {
      expect(await names("0042117")).toEqual(["Ada Lovelace"]);
      expect(await names("42117")).toEqual(["Ada Lovelace"]); // as a badge prints it, without its zeros
      expect(await names("akow")).toEqual(["Ada Lovelace"]);
      expect(await names("ako")).toEqual([]); // a card or an alias is found whole
      for (const phone of ["07911 123456", "+44 7911 123456", "0044 7911-123456", "(07911) 123 456", "123456"]) expect(await names(phone), phone).toEqual(["Ada Lovelace"]);
      expect(await names("425-555-0100")).toEqual(["Joe Bloggs"]); // a business phone, the second holder's first
      expect(await names("020 7183 8750")).toEqual(["Joe Bloggs"]);
      expect(await names("911")).toEqual([]); // three digits are no phone number: "911" alone finds no one's
      expect((await listUsers(ctx, { q: "0042117", enabled: true }, page)).total).toBe(1);
      // A group's member search stays on names and addresses.
      expect(await memberNames("0042117")).toEqual([]);
    } finally {
      await updateUser(ctx, ada!.id, { cardNumbers: [], aliases: [], mobilePhone: null });
      await updateUser(ctx, joe!.id, { businessPhones: [] });
    }
  });

  it("finds the holders of a phone number's digits however many hold them (over 500, compared on each user the search reads)", async () => {
    const workspace = await createWorkspace(store.db, { name: "search-phones" });
    await sql`insert into users (workspace_id, display_name, email, mobile_phone, custom_attributes, source_type, source_name)
      select ${workspace.id}, 'Caller ' || n, 'caller' || n || '@example.com', '+4479112' || lpad(n::text, 5, '0'), '{}', 'manual', 'manual' from generate_series(1, 600) n`.execute(store.db);
    const phones = { db: store.db, workspace, actor: "test" };
    const count = async (q: string) => (await listUsers(phones, { q }, { ...page, limit: 5 })).total;
    expect(await count("07911 2")).toBe(600);
    expect(await count("07911 2001")).toBe(100); // +447911200100 to +447911200199
    expect(await count("07911 200042")).toBe(1);
  });

  it("finds users by what they are called now, as names and addresses change", async () => {
    const [pat] = await store.db.selectFrom("users").select("id").where("display_name", "=", "Pat Doe").execute();
    await updateUser(ctx, pat!.id, { displayName: "Pat Quinn", email: "quinn@example.com", employeeId: null });
    expect(await names("doe")).toEqual([]);
    expect(await names("xq-77")).toEqual([]);
    expect(await names("QUINN")).toEqual(["Pat Quinn"]);
    await updateUser(ctx, pat!.id, { displayName: "Pat Doe", email: "pat@example.com", employeeId: "XQ-77" });
    expect(await names("xq-77")).toEqual(["Pat Doe"]);
  });
});
