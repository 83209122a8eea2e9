import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { createUser, getUser } from "../../src/core/users.ts";
import { getGroup } from "../../src/core/groups.ts";
import { listChanges } from "../../src/core/change-log.ts";

describe.each(engines)("swapped values and identifiers held by others (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled && u.mail);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 40, groups: 6 });
    await h.addSource("corp", {
      groupMode: "all",
      country: "US",
      mapping: { aliases: "onPremisesExtensionAttributes.extensionAttribute1", cardNumbers: "onPremisesExtensionAttributes.extensionAttribute2" },
    });
    const first = await h.sync("corp");
    expect(first.status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("two users swapping emails and user principal names in one run both get the other's", async () => {
    const t = tenant();
    const [a, b] = members();
    const aMail = a!.mail!;
    const bMail = b!.mail!;
    const aUpn = a!.userPrincipalName;
    const bUpn = b!.userPrincipalName;
    t.updateUser(a!.id, { mail: bMail, userPrincipalName: `swap.tmp@${t.domain}` });
    t.updateUser(b!.id, { mail: aMail, userPrincipalName: aUpn });
    t.updateUser(a!.id, { userPrincipalName: bUpn });

    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(run.counts).toMatchObject({ updated: 2, conflicts: 0 });
    const userA = await getUser(h.ctx, bUpn);
    expect(userA.source.externalId).toBe(a!.id);
    expect(userA.email).toBe(bMail);
    const userB = await getUser(h.ctx, aUpn);
    expect(userB.source.externalId).toBe(b!.id);
    expect(userB.email).toBe(aMail);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("two groups swapping names in one run both get the other's, with their members", async () => {
    const t = tenant();
    const [x, y] = t.listGroups();
    const xName = x!.displayName;
    const yName = y!.displayName;
    t.updateGroup(x!.id, { displayName: yName });
    t.updateGroup(y!.id, { displayName: xName });

    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run.status).toBe("succeeded");
    expect(run.counts).toMatchObject({ groupsUpdated: 2, groupConflicts: 0 });
    expect((await getGroup(h.ctx, yName)).source.externalId).toBe(x!.id);
    expect((await getGroup(h.ctx, xName)).source.externalId).toBe(y!.id);
    expect(await differences(h, "corp")).toEqual([]);
  });

  // Found by delta-model.test.ts: the second user was given the address its holder was thought to give up, and
  // every run then failed on the unique email ("Nothing was applied: 3 times over …").
  it("a user whose new address is refused keeps its old one: a user renamed to that one waits too, and the run succeeds", async () => {
    const t = tenant();
    const [leaver, stuck, follower] = members().slice(6, 9);
    t.deleteUser(leaver!.id, { permanent: true }); // disabled here, it keeps its address
    expect((await h.sync("corp")).status).toBe("succeeded");
    const [stuckUpn, stuckMail] = [stuck!.userPrincipalName, stuck!.mail];
    t.updateUser(stuck!.id, { userPrincipalName: leaver!.userPrincipalName, mail: leaver!.mail });
    const refused = await h.sync("corp");
    expect(refused).toMatchObject({ status: "succeeded", counts: { conflicts: 1 } });
    t.updateUser(follower!.id, { userPrincipalName: stuckUpn, mail: stuckMail });

    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ status: "succeeded", counts: { conflicts: 2 } });
    expect((await getUser(h.ctx, stuckUpn)).source.externalId).toBe(stuck!.id);
    const log = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId });
    const waiting = log.find((c) => c.action === "conflict" && (c.after as { externalId: string }).externalId === follower!.id);
    expect((waiting!.after as { message: string }).message).toMatch(/already belongs to user .*the user keeps/);
  });

  // The same across planning chunks (a full sync of thousands of users plans them 2,000 at a time, sorted by
  // object id): the user renamed to the kept address was given it when its chunk came before the holder's, or
  // after it (later chunks, too, were told the holder gives it up).
  it.each([["before", 9], ["after", 12]] as const)("a user renamed to an address its holder keeps waits too when its planning chunk comes %s the holder's", async (order, from) => {
    const t = tenant();
    const [leaver, x, y] = members().slice(from, from + 3);
    const [first, second] = [x!, y!].sort((a, b) => (a.id < b.id ? -1 : 1));
    const [follower, stuck] = order === "before" ? [first!, second!] : [second!, first!];
    t.deleteUser(leaver!.id, { permanent: true });
    const before = await h.sync("corp");
    expect(before.status).toBe("succeeded");
    const open = before.counts.conflicts ?? 0; // the earlier tests' conflicts stay open, logged by every run
    const [stuckUpn, stuckMail] = [stuck.userPrincipalName, stuck.mail];
    t.updateUser(stuck.id, { userPrincipalName: leaver!.userPrincipalName, mail: leaver!.mail });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { conflicts: open + 1 } });
    t.updateUser(follower.id, { userPrincipalName: stuckUpn, mail: stuckMail });

    const run = await h.sync("corp", { planChunkSize: 1 });
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ status: "succeeded", counts: { conflicts: open + 2 } });
    expect((await getUser(h.ctx, stuckUpn)).source.externalId).toBe(stuck.id);
    const ours = new Set([stuck.id, follower.id]);
    const conflicts = (await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId })).filter((c) => c.action === "conflict" && ours.has((c.after as { externalId: string }).externalId));
    expect(conflicts).toHaveLength(2); // a pass planned again leaves no row of the one before
    const waiting = conflicts.find((c) => (c.after as { externalId: string }).externalId === follower.id);
    expect((waiting!.after as { message: string }).message).toMatch(/already belongs to user .*the user keeps/);
  });

  it("an alias or card number another user holds is left out, with a warning naming that user", async () => {
    const holder = await createUser(h.ctx, { displayName: "Badge Holder", email: "badge.holder@example.org", aliases: ["front-desk"], cardNumbers: ["CARD-0042"] });
    const target = members()[3]!;
    tenant().updateUser(target.id, { onPremisesExtensionAttributes: { extensionAttribute1: "front-desk;own-alias", extensionAttribute2: "CARD-0042" } });

    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run.status).toBe("succeeded");
    expect(run.counts.warnings).toBeGreaterThanOrEqual(2);
    const user = await getUser(h.ctx, target.userPrincipalName);
    expect(user.aliases).toEqual(["own-alias"]);
    expect(user.cardNumbers).toEqual([]);
    expect((await getUser(h.ctx, holder.id)).aliases).toEqual(["front-desk"]);

    const history = await listChanges(h.store.db, h.ctx.workspace.id, { userId: user.id });
    const warning = history.find((c) => c.action === "warning" && c.runId === run.runId);
    expect(warning).toBeDefined();
    const messages = (warning!.after as { messages: string[] }).messages;
    expect(messages).toHaveLength(2);
    expect(messages.join("\n")).toMatch(/alias "front-desk" is already held by user/);
    expect(messages.join("\n")).toMatch(/card number "CARD-0042" is already held by user/);
    expect(messages.every((m) => m.includes(holder.id) && m.includes("badge.holder@example.org"))).toBe(true);
  });
});
