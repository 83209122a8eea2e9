// Photos end to end over real HTTP, on each engine: "Sync photos" turned on through the API, a sync started through
// the API fetching them from the emulator, the image served with its ETag (304 on If-None-Match), a synced user's
// photo refused to an upload; before that, while the source did not sync photos, its users' set by hand (and the next
// full photo check replacing them); a manual user's set, saved and removed with the CLI against the server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetch, FormData } from "undici";
import { engines } from "../support/db.ts";
import { runCli } from "../support/cli.ts";
import { until } from "../notifications/support.ts";
import { openSignInHarness, type SignInHarness } from "../signin/support.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { solidJpeg } from "../../src/emulator/jpeg.ts";

const jpegSize = (b: Buffer): number => b.readUInt16BE(b.indexOf(Buffer.from([0xff, 0xc0])) + 7);

describe.each(engines)("user photos over HTTP (%s)", { timeout: 240_000 }, (engine) => {
  let h: SignInHarness;
  let token: string;
  let dir: string;
  const W = "workspaces/default";
  const api = (method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${h.url}/api/v1/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined && { "content-type": "application/json" }), ...init.headers },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
  const cli = (...args: string[]) => runCli(args, { ROLLCALL_SERVER: h.url, ROLLCALL_TOKEN: token, ROLLCALL_DATA_DIR: join(dir, "cli"), DATABASE_URL: undefined });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-photos-"));
    h = await openSignInHarness(engine);
    token = (await createApiToken(h.store.db, h.ctx.workspace, { name: "badges", role: "admin" }, "test")).token;
    await h.addSource("contoso");
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType !== "Guest");
  /** A user with a photo in Entra ID (504 px) and one without. */
  const people = () => {
    const withPhoto = members().find((u) => tenant().getUserPhoto(u.id) && tenant().getUserPhoto(u.id)!.size >= 240) ?? members()[0]!;
    return { withPhoto, without: members().find((u) => u.id !== withPhoto.id && !tenant().getUserPhoto(u.id))! };
  };
  const upload = (user: string, image: Buffer) => {
    const form = new FormData();
    form.append("photo", new Blob([new Uint8Array(image)], { type: "image/jpeg" }), "photo.jpg");
    return fetch(`${h.url}/api/v1/${W}/users/${encodeURIComponent(user)}/photo`, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: form });
  };

  it("lets an admin set and remove an Entra ID user's photo by hand while the source does not sync photos", async () => {
    const { withPhoto, without } = people();
    tenant().setUserPhoto(withPhoto.id, { size: 504, color: "#aa3355" });
    await h.sync("contoso"); // photos off: the users, no photo
    const shown = (await (await api("GET", `${W}/users/${encodeURIComponent(without.userPrincipalName)}`)).json()) as { photoSource: string | null };
    expect(shown.photoSource).toBeNull();
    for (const [user, color] of [[withPhoto, [9, 9, 200]], [without, [9, 200, 9]]] as const) {
      const set = await upload(user.userPrincipalName, solidJpeg(80, 80, [...color]));
      expect(set.status, await set.clone().text()).toBe(200);
      expect(await set.json()).toMatchObject({ changed: true, bytes: expect.any(Number) });
    }
    expect(jpegSize(Buffer.from(await (await api("GET", `${W}/users/${encodeURIComponent(withPhoto.userPrincipalName)}/photo`)).arrayBuffer()))).toBe(80);
    // Removable too (then set again: the next test turns photos on over these hand photos).
    expect((await api("DELETE", `${W}/users/${encodeURIComponent(without.userPrincipalName)}/photo`)).status).toBe(200);
    expect((await api("GET", `${W}/users/${encodeURIComponent(without.userPrincipalName)}/photo`)).status).toBe(404);
    expect((await upload(without.userPrincipalName, solidJpeg(80, 80, [9, 200, 9]))).status).toBe(200);
  });

  it("syncs photos once the source's option is on, and serves each with an ETag; a synced user's photo is Entra ID's", async () => {
    const { withPhoto, without } = people();

    const patched = await api("PATCH", `${W}/sources/contoso`, { body: { photos: true } });
    expect(patched.status, await patched.clone().text()).toBe(200);
    expect(((await patched.json()) as { config: { photos: boolean } }).config.photos).toBe(true);
    const started = await api("POST", `${W}/sources/contoso/sync`, { body: {} });
    expect(started.status).toBe(202);
    const runId = ((await started.json()) as { id: string }).id;
    let run: { status: string; counts: Record<string, number> } = { status: "running", counts: {} };
    await until(async () => {
      run = (await (await api("GET", `${W}/runs/${runId}`)).json()) as typeof run;
      return run.status !== "running" && run.counts.photosChanged !== undefined;
    }, 60_000, "the run and its photos");
    expect(run.status).toBe("succeeded");
    // Every Entra ID photo, the hand one of withPhoto replaced; and the hand photo of `without` (none in Entra ID) removed.
    expect(run.counts.photosChanged).toBe(members().filter((u) => tenant().getUserPhoto(u.id)).length + 1);

    const photo = await api("GET", `${W}/users/${encodeURIComponent(withPhoto.userPrincipalName)}/photo`);
    expect(photo.status).toBe(200);
    expect(photo.headers.get("content-type")).toBe("image/jpeg");
    const etag = photo.headers.get("etag")!;
    expect(etag).toMatch(/^".+"$/);
    // A browser keeps it and revalidates (the list's avatars); a shared cache never does.
    expect(photo.headers.get("cache-control")).toBe("private, no-cache");
    expect(jpegSize(Buffer.from(await photo.arrayBuffer()))).toBe(240);
    const again = await api("GET", `${W}/users/${encodeURIComponent(withPhoto.userPrincipalName)}/photo`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);

    const none = await api("GET", `${W}/users/${encodeURIComponent(without.userPrincipalName)}/photo`);
    expect(none.status).toBe(404);
    expect(none.headers.get("cache-control")).toBe("no-store");
    // The list says who has one, the user who had a photo set by hand and none in Entra ID now without.
    const listed = (await (await api("GET", `${W}/users?limit=500`)).json()) as { items: { id: string; source: { externalId: string | null }; hasPhoto: boolean }[] };
    const hasPhoto = new Map(listed.items.map((u) => [u.source.externalId, u.hasPhoto]));
    expect(hasPhoto.get(withPhoto.id)).toBe(true);
    expect(hasPhoto.get(without.id)).toBe(false);
    expect(listed.items.filter((u) => u.hasPhoto).length).toBe(members().filter((u) => tenant().getUserPhoto(u.id)).length);
    expect(((await none.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "not_found", message: expect.stringContaining("has no photo") });

    const file = join(dir, "mine.jpg");
    writeFileSync(file, solidJpeg(64, 64, [1, 2, 3]));
    const refused = await cli("users", "set-photo", withPhoto.userPrincipalName, file);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("comes from the Entra ID source contoso, which syncs photos");
    expect(refused.stderr).toContain("rollcall sources update contoso --no-photos");
    const put = await upload(without.userPrincipalName, solidJpeg(64, 64, [1, 2, 3]));
    expect(put.status).toBe(409);
    expect(((await put.json()) as { error: { code: string; details: unknown } }).error).toMatchObject({ code: "conflict", details: { source: "contoso", option: "photos" } });
    expect((await api("DELETE", `${W}/users/${encodeURIComponent(withPhoto.userPrincipalName)}/photo`)).status).toBe(409);
    const detail = (await (await api("GET", `${W}/users/${encodeURIComponent(without.userPrincipalName)}`)).json()) as { photoSource: string | null };
    expect(detail.photoSource).toBe("contoso");
    const saved = await cli("users", "photo", withPhoto.userPrincipalName, "--out", join(dir, "synced.jpg"));
    expect(saved.code, saved.stderr).toBe(0);
    expect(jpegSize(readFileSync(join(dir, "synced.jpg")))).toBe(240);
  });

  it("sets, saves and removes a manual user's photo with the CLI, refusing what is not an image or too big", async () => {
    expect((await cli("users", "add", "--email", "desk@example.com", "--display-name", "Desk Person")).code).toBe(0);
    const file = join(dir, "desk.jpg");
    const image = solidJpeg(96, 96, [200, 100, 50]);
    writeFileSync(file, image);
    const set = await cli("users", "set-photo", "desk@example.com", file);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("set the photo of desk@example.com (JPEG, ");
    const out = join(dir, "desk-out.jpg");
    expect((await cli("users", "photo", "desk@example.com", "--out", out)).code).toBe(0);
    expect(readFileSync(out).equals(image)).toBe(true);

    writeFileSync(join(dir, "notes.txt"), "not an image");
    const text = await cli("users", "set-photo", "desk@example.com", join(dir, "notes.txt"));
    expect(text.code).not.toBe(0);
    expect(text.stderr).toContain("neither a JPEG nor a PNG image");
    writeFileSync(join(dir, "huge.jpg"), Buffer.concat([image, Buffer.alloc(300 * 1024)]));
    const huge = await cli("users", "set-photo", "desk@example.com", join(dir, "huge.jpg"));
    expect(huge.code).not.toBe(0);
    expect(huge.stderr).toContain("at most 256 KiB");

    const removed = await cli("users", "set-photo", "desk@example.com", "--remove", "--yes");
    expect(removed.code, removed.stderr).toBe(0);
    const gone = await cli("users", "photo", "desk@example.com", "--out", out);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("has no photo");
    const history = await cli("users", "history", "desk@example.com", "--json");
    const actions = (JSON.parse(history.stdout) as { items?: { action: string }[]; changes?: { action: string }[] });
    expect(JSON.stringify(actions)).toContain("update photo");
    expect(JSON.stringify(actions)).not.toContain("/9j/"); // no image bytes in history
  });
});
