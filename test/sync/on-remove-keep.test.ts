import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { getUser, updateUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { describeSummary } from "../../src/cli/commands/sync.ts";

describe.each(engines)("--on-remove keep (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 10, groups: 0 });
  });
  afterAll(async () => h?.close());

  it("a user who leaves the scope is released to Rollcall, and taken back by object ID when it returns", async () => {
    const t = h.emulator.tenants.get(h.emulator.tenantId);
    const [stays, leaves] = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    const it = t.createGroup({ displayName: "IT" });
    t.addMember(it.id, stays!.id);
    t.addMember(it.id, leaves!.id);
    await h.addSource("corp", { users: "groups", scopeGroups: ["IT"], onRemove: "keep" });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { created: 2 } });

    t.removeMember(it.id, leaves!.id);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { released: 1, unchanged: 0, disabled: 0 } });
    // The CLI's summary says so, where the disables and deletes are.
    expect(describeSummary(run)).toContain("0 deleted, 1 released (left the source, kept: --on-remove keep), 0 unchanged");
    const kept = await getUser(h.ctx, leaves!.userPrincipalName);
    expect(kept).toMatchObject({ enabled: true, source: { type: "manual", name: "corp", externalId: leaves!.id } });
    expect(kept.tags).toContain("Manual");
    expect(kept.tags).not.toContain("ID synced");
    const [entry] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "unlink" });
    expect(entry).toMatchObject({ action: "unlink", after: { message: expect.stringMatching(/^Left the scope of Entra ID source "corp"/) } });
    // Managed in Rollcall now: an edit the sync would have undone is accepted, and the next run leaves the user alone.
    await updateUser(h.ctx, kept.id, { jobTitle: "Edited here" });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { released: 0, updated: 0 } });
    expect((await getUser(h.ctx, kept.id)).jobTitle).toBe("Edited here");

    t.addMember(it.id, leaves!.id);
    const back = await h.sync("corp");
    expect(back).toMatchObject({ status: "succeeded", counts: { linked: 1, created: 0 } });
    expect(await getUser(h.ctx, kept.id)).toMatchObject({ source: { type: "entra", name: "corp", externalId: leaves!.id }, jobTitle: leaves!.jobTitle ?? null });
  });
});
