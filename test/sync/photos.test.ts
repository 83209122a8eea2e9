// "Sync photos" against the emulator over real HTTPS, on each engine: the first run fetches every photo (240x240 where
// Entra has it), a delta run the photos of users it changed, a full run compares media ETags and removes a photo gone;
// off (the default) nothing is asked for; Graph failing photos is a warning, never a failed run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { httpFetch } from "../../src/net/http.ts";
import { loadSourceForSync, updateEntraSource } from "../../src/core/sources.ts";
import { runSync } from "../../src/sync/runner.ts";

const jpegSize = (b: Buffer): number => b.readUInt16BE(b.indexOf(Buffer.from([0xff, 0xc0])) + 7);

describe.each(engines)("sync photos (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 60, groups: 2 });
  });
  afterAll(async () => h?.close());

  async function held(source: string) {
    const { rows } = await sql<{ external_id: string; id: string; bytes: Uint8Array | null; media_etag: string | null; content_type: string | null }>`
      select u.external_id, u.id, p.bytes, p.media_etag, p.content_type from users u join sources s on s.id = u.source_id
      left join user_photos p on p.user_id = u.id where s.name = ${source}`.execute(h.store.db);
    return new Map(rows.map((r) => [r.external_id, r]));
  }
  const photoRequests = () => h.emulator.stats().requests.filter((r) => /\/photos?(\/|$)/.test(r.url));

  it("is off by default: a sync asks Graph for no photo", async () => {
    const other = h.emulator.tenants.add({ users: 20 });
    expect(other.listUsers().some((u) => other.getUserPhoto(u.id))).toBe(true);
    await h.addSource("plain", {}, { tenantId: other.id, clientId: other.defaultApp.clientId, clientSecret: other.defaultApp.clientSecret });
    h.emulator.resetStats();
    const run = await h.sync("plain");
    expect(run.status).toBe("succeeded");
    expect(photoRequests()).toEqual([]);
    expect([...(await held("plain")).values()].every((u) => u.bytes === null)).toBe(true);
    expect(run.counts.photosChanged).toBeUndefined();
  });

  it("fetches each user's photo on the first run, 240x240 where Entra has it, with its media ETag; history says so without the bytes", async () => {
    await h.addSource("corp", { photos: true, onRemove: "keep" });
    h.emulator.resetStats();
    const run = await h.sync("corp");
    expect(run.status).toBe("succeeded");
    const users = await held("corp");
    const withPhoto = tenant().listUsers().filter((u) => u.userType !== "Guest" && tenant().getUserPhoto(u.id));
    expect(withPhoto.length).toBeGreaterThan(5);
    expect(run.counts.photosChanged).toBe(withPhoto.length);
    for (const u of tenant().listUsers().filter((x) => x.userType !== "Guest")) {
      const row = users.get(u.id)!;
      const photo = tenant().getUserPhoto(u.id);
      if (!photo) { expect(row.bytes).toBeNull(); continue; }
      expect(row.content_type).toBe("image/jpeg");
      expect(row.media_etag).toBe(photo.mediaEtag);
      expect(jpegSize(Buffer.from(row.bytes!))).toBe(Math.min(240, photo.size));
    }
    // Checked 20 to a batch: one metadata request per user, inside batches.
    expect(photoRequests().filter((r) => r.batchItem && r.url.endsWith("/photo")).length).toBe(users.size);
    const { rows } = await sql<{ before: unknown; after: Record<string, unknown> }>`
      select before, after from change_log where run_id = ${run.runId} and action = 'update photo'`.execute(h.store.db);
    expect(rows.length).toBe(withPhoto.length);
    expect(rows[0]!.after).toEqual({ photo: expect.stringMatching(/KiB$/), photoHash: expect.any(String) });
  });

  it("a delta run fetches the photos of the users it changed; a photo change alone waits for the full run, which compares ETags", async () => {
    const changed = tenant().listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled && !tenant().getUserPhoto(u.id))!;
    const quiet = tenant().listUsers().find((u) => u.userType !== "Guest" && u.id !== changed.id && tenant().getUserPhoto(u.id))!;
    const newPhoto = tenant().setUserPhoto(changed.id, { size: 120, color: "#336699" });
    tenant().updateUser(changed.id, { department: "Photography" });
    const quietPhoto = tenant().setUserPhoto(quiet.id, { size: 648, color: "#993366" });
    h.emulator.resetStats();
    const delta = await h.sync("corp");
    expect(delta.mode).toBe("delta");
    expect(delta.counts.photosChanged).toBe(1);
    let users = await held("corp");
    expect(users.get(changed.id)!.media_etag).toBe(newPhoto.mediaEtag);
    expect(jpegSize(Buffer.from(users.get(changed.id)!.bytes!))).toBe(120);
    expect(users.get(quiet.id)!.media_etag).not.toBe(quietPhoto.mediaEtag);
    expect(photoRequests().length).toBe(2); // changed's metadata and bytes

    const gone = tenant().listUsers().find((u) => u.userType !== "Guest" && u.id !== quiet.id && u.id !== changed.id && tenant().getUserPhoto(u.id))!;
    tenant().removeUserPhoto(gone.id);
    h.emulator.resetStats();
    const full = await h.sync("corp", { full: true });
    expect(full.status).toBe("succeeded");
    expect(full.counts.photosChanged).toBe(2);
    users = await held("corp");
    expect(users.get(quiet.id)!.media_etag).toBe(quietPhoto.mediaEtag);
    expect(jpegSize(Buffer.from(users.get(quiet.id)!.bytes!))).toBe(240);
    expect(users.get(gone.id)!.bytes).toBeNull();
    // Unchanged photos cost their metadata only: one download, for the one that changed.
    expect(photoRequests().filter((r) => r.url.endsWith("$value")).length).toBe(1);
  });

  it("turned off and on again, needs no new listing, and its next run, a delta one, checks every user's photo", async () => {
    const quiet = tenant().listUsers().find((u) => u.userType !== "Guest" && tenant().getUserPhoto(u.id))!;
    await updateEntraSource(h.ctx, "corp", { config: { photos: false } });
    const off = await h.sync("corp");
    expect([off.mode, off.counts.photosChanged]).toEqual(["delta", undefined]);
    const changed = tenant().setUserPhoto(quiet.id, { size: 240, color: "#123456" });
    await updateEntraSource(h.ctx, "corp", { config: { photos: true } });
    const on = await h.sync("corp");
    expect(on.mode).toBe("delta");
    expect(on.counts.photosChanged).toBe(1);
    expect((await held("corp")).get(quiet.id)!.media_etag).toBe(changed.mediaEtag);
  });

  it("honours Retry-After on throttled batch items, and a Graph failing every photo request is a warning on a succeeded run", async () => {
    const u = tenant().listUsers().find((x) => x.userType !== "Guest" && x.accountEnabled)!;
    tenant().setUserPhoto(u.id, { size: 48 });
    tenant().updateUser(u.id, { jobTitle: "Throttled" });
    // From the first batch on, one request in 10 s: the download waits out the Retry-After Graph gives (up to 10 s).
    h.emulator.resetStats();
    const source = await loadSourceForSync(h.ctx, "corp");
    let budgeted = false;
    const throttled = await runSync(h.store, { workspaceId: h.ctx.workspace.id, source, trigger: "manual" }, {
      fetch: (url, init) => {
        if (String(url).endsWith("/$batch") && !budgeted) h.emulator.setKnobs({ throttleBudget: { unitsPer10s: 1 } });
        budgeted ||= String(url).endsWith("/$batch");
        return httpFetch(url, init);
      },
      retry: { maxAttempts: 8, baseDelayMs: 20, maxDelayMs: 15_000 },
    }).finally(() => h.emulator.setKnobs({ throttleBudget: { unitsPer10s: 0 } }));
    expect(throttled.status).toBe("succeeded");
    expect(throttled.counts.warnings).toBe(0);
    expect((await held("corp")).get(u.id)!.media_etag).toBe(tenant().getUserPhoto(u.id)!.mediaEtag);
    expect(h.emulator.stats().requests.filter((r) => r.batchItem && r.status === 429).length).toBeGreaterThan(0);

    tenant().setUserPhoto(u.id, { size: 64 });
    tenant().updateUser(u.id, { jobTitle: "Faulted" });
    const before = (await held("corp")).get(u.id)!.media_etag;
    const run = await h.sync("corp", {
      // Graph's photo requests fail from the first one on (every listing request has been answered by then).
      fetch: (url, init) => {
        if (String(url).endsWith("/$batch")) h.emulator.setKnobs({ faultRate: 1 });
        return httpFetch(url, init);
      },
    }).finally(() => h.emulator.setKnobs({ faultRate: 0 }));
    expect(run.status).toBe("succeeded");
    expect(run.counts.warnings).toBeGreaterThanOrEqual(1);
    expect((await held("corp")).get(u.id)!.media_etag).toBe(before);
    const { rows } = await sql<{ after: { messages: string[] } }>`select after from change_log where run_id = ${run.runId} and action = 'warning'`.execute(h.store.db);
    expect(rows.map((r) => r.after.messages[0]).join(" ")).toMatch(/photo|Photos/);
  });
});
