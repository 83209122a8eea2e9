import "../support/no-network.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createScimSource, updateScimSource, type ScimSourceContext } from "../../src/core/scim-sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { listNotifications } from "../../src/core/notifications.ts";
import { scanNotifications } from "../../src/core/notification-scan.ts";
import { workspaceOverview } from "../../src/core/workspace-overview.ts";

const secrets = secretBox(Buffer.from("7".repeat(64), "hex"));
const day = 86_400_000;
const inDays = (n: number, from = new Date()) => new Date(from.getTime() + n * day).toISOString().slice(0, 10);
const baseUrl = "https://rollcall.example.com";
const signIn = { signIn: true, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", clientId: "0f8fad5b-d9cb-469f-a165-70867728950e" };

/**
 * A SCIM source's sign-in credential expiring: the same secret_expiry notifications as an Entra ID source's secret (30,
 * 14, 7, 1 days, expired) and the same attention in the workspaces' overview, settled by a new secret or by sign-in off.
 */
describe.each(engines)("a SCIM source's sign-in secret expiring (%s)", (engine) => {
  let store: TestStore;
  let ctx: ScimSourceContext;
  beforeEach(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test", secrets, entraCustomUrls: false };
  });
  afterEach(async () => store?.dispose());

  const overview = async (now?: Date) => (await workspaceOverview(store.db, [{ ...ctx.workspace, role: "admin" }], now))[0]!;
  const active = async () => (await listNotifications(store.db, ctx.workspace, { active: true })).map((n) => [n.kind, n.milestone, n.title]);

  it("is warned of at 30 and 7 days and in the overview, and settled when the secret is replaced", async () => {
    const source = await createScimSource(ctx, { name: "Entra push", config: { ...signIn, secretExpiresOn: inDays(25) }, credential: { kind: "secret", secret: "Q~first" } }, baseUrl);
    expect(source.secret).toMatchObject({ set: true, expiresOn: inDays(25), daysLeft: 25, description: `set, expires on ${inDays(25)} (in 25 days)` });

    const raised = (await scanNotifications(store.db)).raised;
    expect(raised.map((n) => [n.kind, n.milestone, n.severity, n.title, n.link])).toEqual([
      ["secret_expiry", "30d", "warning", `The sign-in client secret of SCIM source Entra push expires on ${inDays(25)} (in 25 days)`, "/w/default/sync/Entra%20push"],
    ]);
    expect(raised[0]!.body).toContain("people provisioned by Entra push can no longer sign in with Microsoft");
    expect(raised[0]!.data).toMatchObject({ sourceId: source.id, source: "Entra push", expiresOn: inDays(25), daysLeft: 25 });
    expect((await overview()).attention).toEqual({ level: "warning", reasons: [`Entra push: the sign-in client secret expires in 25 days (${inDays(25)})`] });
    expect((await overview()).scimSources[0]!.signInSecret).toEqual({ kind: "secret", expiresOn: inDays(25), daysLeft: 25 });

    const later = new Date(Date.now() + 20 * day);
    // (Never called by Entra ID's provisioning service, it is quiet by then too: that is another notification.)
    const expiring = <T extends { kind: string }>(raised: T[]) => raised.filter((n) => n.kind === "secret_expiry");
    expect(expiring((await scanNotifications(store.db, later)).raised).map((n) => [n.milestone, n.severity])).toEqual([["7d", "critical"]]);
    expect((await overview(later)).attention.level).toBe("critical");
    expect(expiring((await listNotifications(store.db, ctx.workspace, { active: true }))).map((n) => n.milestone)).toEqual(["7d"]);

    // A new secret without a date: the old one's warnings end, and the overview has nothing to say.
    const replaced = await updateScimSource(ctx, "Entra push", { credential: { kind: "secret", secret: "Q~second" } }, baseUrl);
    expect(replaced.config.secretExpiresOn).toBeNull();
    await scanNotifications(store.db, later);
    expect(expiring(await listNotifications(store.db, ctx.workspace, { active: true }))).toEqual([]);
    expect((await overview(later)).attention.reasons.filter((r) => r.includes("secret"))).toEqual([]);
  });

  it("is settled when sign-in is turned off, and raised again when it is turned back on", async () => {
    await createScimSource(ctx, { name: "north", config: { ...signIn, secretExpiresOn: inDays(-1) }, credential: { kind: "secret", secret: "Q~north" } }, baseUrl);
    await scanNotifications(store.db);
    expect(await active()).toEqual([["secret_expiry", "expired", `The sign-in client secret of SCIM source north expired on ${inDays(-1)}`]]);
    expect((await overview()).attention).toEqual({ level: "critical", reasons: [`north: the sign-in client secret expired on ${inDays(-1)}`] });

    await updateScimSource(ctx, "north", { config: { signIn: false } }, baseUrl);
    await scanNotifications(store.db);
    expect(await active()).toEqual([]);
    expect((await overview()).scimSources[0]!.signInSecret).toBeNull();

    // A date alone (the secret kept) is the stored secret's new date.
    await updateScimSource(ctx, "north", { config: { signIn: true, secretExpiresOn: inDays(5) } }, baseUrl);
    expect((await scanNotifications(store.db)).raised.map((n) => n.milestone)).toEqual(["7d"]);
  });

  it("without a stored secret, or with sign-in never on, a date raises nothing", async () => {
    await createScimSource(ctx, { name: "dated", config: { secretExpiresOn: inDays(3) } }, baseUrl);
    expect((await scanNotifications(store.db)).raised).toEqual([]);
    expect((await overview()).attention.level).toBeNull();
  });
});
