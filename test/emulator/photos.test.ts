// Profile photos over real HTTPS: metadata, bytes, sizes, the 404 for none, /me, permissions, $batch, the control
// route, and the throttling budget they count toward.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUID, signIn, startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 80, groups: 2, seed: 7 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });

const tenant = () => t.emu.tenants.get(t.emu.tenantId);
const raw = (path: string, tk = token) => t.call(`${t.emu.graphUrl}/v1.0${path}`, { headers: { authorization: `Bearer ${tk}` } });
const jpegSize = (b: Buffer): [number, number] => {
  const at = b.indexOf(Buffer.from([0xff, 0xc0]));
  return [b.readUInt16BE(at + 7), b.readUInt16BE(at + 5)];
};

describe("generated tenant", () => {
  it("gives some users a photo, the same ones for the same seed, in several sizes and colours", async () => {
    const users = tenant().listUsers();
    const photos = users.map((u) => tenant().getUserPhoto(u.id)).filter((p) => p !== undefined);
    expect(photos.length).toBeGreaterThan(10);
    expect(photos.length).toBeLessThan(users.length - 10);
    expect(new Set(photos.map((p) => p.size)).size).toBeGreaterThan(2);
    expect(new Set(photos.map((p) => p.color)).size).toBeGreaterThan(5);
    const again = await startTestEmulator({ users: 80, groups: 2, seed: 7 });
    try {
      const other = again.emu.tenants.get(again.emu.tenantId);
      expect(other.listUsers().map((u) => other.getUserPhoto(u.id))).toEqual(users.map((u) => tenant().getUserPhoto(u.id)));
    } finally { await again.stop(); }
  });
});

describe("GET /users/{id}/photo", () => {
  it("answers the largest photo's metadata, its JPEG bytes, and each documented size up to it", async () => {
    const u = tenant().createUser({ displayName: "Photo Person" });
    const set = tenant().setUserPhoto(u.id, { size: 504, color: "#c82850" });
    const meta = await t.graph(`/users/${u.id}/photo`, token);
    expect(meta.status).toBe(200);
    expect(meta.body).toEqual({
      "@odata.context": `${t.emu.graphUrl}/v1.0/$metadata#users('${u.id}')/photo/$entity`,
      "@odata.mediaContentType": "image/jpeg", "@odata.mediaEtag": set.mediaEtag, id: "504x504", height: 504, width: 504,
    });
    expect(set.mediaEtag).toMatch(/^"[0-9A-F]{8}"$/);
    const value = await raw(`/users/${u.id}/photo/$value`);
    expect(value.status).toBe(200);
    expect(value.headers.get("content-type")).toBe("image/jpeg");
    const bytes = Buffer.from(await value.arrayBuffer());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpegSize(bytes)).toEqual([504, 504]);
    // By user principal name too.
    expect((await raw(`/users/${encodeURIComponent(u.userPrincipalName)}/photo/$value`)).status).toBe(200);
    const sizes = await t.graph(`/users/${u.id}/photos`, token);
    expect(sizes.body.value.map((p: { id: string }) => p.id)).toEqual(["48x48", "64x64", "96x96", "120x120", "240x240", "360x360", "432x432", "504x504"]);
    const small = await t.graph(`/users/${u.id}/photos/240x240`, token);
    expect(small.body).toMatchObject({ id: "240x240", width: 240, height: 240, "@odata.mediaEtag": set.mediaEtag });
    const smallBytes = Buffer.from(await (await raw(`/users/${u.id}/photos/240x240/$value`)).arrayBuffer());
    expect(jpegSize(smallBytes)).toEqual([240, 240]);
    // Larger than uploaded: not available.
    const big = await t.graph(`/users/${u.id}/photos/648x648`, token);
    expect(big.status).toBe(404);
    expect(big.body.error.code).toBe("ImageNotFound");
  });

  it("answers 404 ImageNotFound for a user without a photo, and Request_ResourceNotFound for no such user", async () => {
    const u = tenant().createUser({ displayName: "No Photo" });
    for (const path of [`/users/${u.id}/photo`, `/users/${u.id}/photo/$value`, `/users/${u.id}/photos/48x48/$value`]) {
      const r = await t.graph(path, token);
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: "ImageNotFound", message: "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown." });
      expect(r.body.error.innerError["request-id"]).toMatch(GUID);
    }
    const none = await t.graph(`/users/${"0".repeat(8)}-0000-0000-0000-${"0".repeat(12)}/photo`, token);
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe("Request_ResourceNotFound");
  });

  it("changes the media ETag on a new upload, removes the photo, and never shows either in users/delta", async () => {
    const u = tenant().createUser({ displayName: "Changing" });
    let delta = await t.graph(`/users/delta?$select=displayName`, token);
    while (delta.body["@odata.nextLink"]) delta = await t.graph(delta.body["@odata.nextLink"], token);
    const link = delta.body["@odata.deltaLink"] as string;
    const first = tenant().setUserPhoto(u.id);
    const second = tenant().setUserPhoto(u.id, { size: 96 });
    expect(second.mediaEtag).not.toBe(first.mediaEtag);
    expect((await t.graph(`/users/${u.id}/photo`, token)).body["@odata.mediaEtag"]).toBe(second.mediaEtag);
    tenant().removeUserPhoto(u.id);
    expect((await t.graph(`/users/${u.id}/photo`, token)).status).toBe(404);
    expect((await t.graph(link, token)).body.value).toEqual([]);
  });

  it("needs User.Read.All (or ProfilePhoto.Read.All) for an app", async () => {
    const u = tenant().listUsers().find((x) => tenant().getUserPhoto(x.id))!;
    const app = tenant().registerApp({ appPermissions: ["GroupMember.Read.All"] });
    const weak = await t.appToken({ clientId: app.clientId, clientSecret: app.secrets[0]!.secretText! });
    const denied = await t.graph(`/users/${u.id}/photo/$value`, weak);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("Authorization_RequestDenied");
    tenant().grantPermission(app.clientId, "ProfilePhoto.Read.All");
    const granted = await t.appToken({ clientId: app.clientId, clientSecret: app.secrets[0]!.secretText! });
    expect((await raw(`/users/${u.id}/photo/$value`, granted)).status).toBe(200);
  });
});

describe("/me/photo", () => {
  it("serves the signed-in user's own photo with User.Read, and no one else's", async () => {
    const me = tenant().listUsers().find((u) => u.accountEnabled && u.userType === "Member")!;
    tenant().setUserPhoto(me.id, { size: 64, color: "#102030" });
    const other = tenant().createUser({ displayName: "Someone Else" });
    tenant().setUserPhoto(other.id);
    const verifier = randomBytes(32).toString("base64url");
    const redirect = "http://localhost:3000/auth/callback";
    const res = await signIn(t, {
      client_id: t.emu.clientId, response_type: "code", redirect_uri: redirect, scope: "openid User.Read", state: "s",
      code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
    }, me.userPrincipalName);
    const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
    const tr = await t.call(`${t.emu.loginUrl}/${t.emu.tenantId}/oauth2/v2.0/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: t.emu.clientId, client_secret: t.emu.clientSecret, code, redirect_uri: redirect, code_verifier: verifier }).toString(),
    });
    const delegated = ((await tr.json()) as { access_token: string }).access_token;
    const value = await raw(`/me/photo/$value`, delegated);
    expect(value.status).toBe(200);
    expect(jpegSize(Buffer.from(await value.arrayBuffer()))).toEqual([64, 64]);
    const meta = await t.graph(`/me/photo`, delegated);
    expect(meta.body).toMatchObject({ "@odata.context": `${t.emu.graphUrl}/v1.0/$metadata#me/photo/$entity`, id: "64x64" });
    expect((await t.graph(`/users/${other.id}/photo`, delegated)).status).toBe(403);
    // An app token has no /me.
    expect((await t.graph(`/me/photo`, token)).status).toBe(400);
  });
});

describe("$batch and throttling", () => {
  it("answers photos in a batch, bytes as base64 with their Content-Type, each item on its own", async () => {
    const withPhoto = tenant().createUser({ displayName: "Batch A" });
    tenant().setUserPhoto(withPhoto.id, { size: 48 });
    const without = tenant().createUser({ displayName: "Batch B" });
    const res = await t.call(`${t.emu.graphUrl}/v1.0/$batch`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ requests: [
        { id: "1", method: "GET", url: `/users/${withPhoto.id}/photo` },
        { id: "2", method: "GET", url: `/users/${withPhoto.id}/photo/$value` },
        { id: "3", method: "GET", url: `/users/${without.id}/photo` },
      ] }),
    });
    const body = (await res.json()) as { responses: { id: string; status: number; headers: Record<string, string>; body: any }[] };
    const by = new Map(body.responses.map((r) => [r.id, r]));
    expect(by.get("1")!.body).toMatchObject({ id: "48x48", "@odata.mediaEtag": tenant().getUserPhoto(withPhoto.id)!.mediaEtag });
    expect(by.get("2")!.headers["Content-Type"]).toBe("image/jpeg");
    expect(jpegSize(Buffer.from(by.get("2")!.body as string, "base64"))).toEqual([48, 48]);
    expect(by.get("3")!.status).toBe(404);
    expect(by.get("3")!.body.error.code).toBe("ImageNotFound");
  });

  it("counts photo requests toward the app's budget: 429 with Retry-After once it is spent", async () => {
    const u = tenant().listUsers().find((x) => tenant().getUserPhoto(x.id))!;
    t.emu.setKnobs({ throttleBudget: { unitsPer10s: 5 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await raw(`/users/${u.id}/photo/$value`);
        statuses.push(r.status);
        if (r.status === 429) expect(r.headers.get("retry-after")).toMatch(/^\d/);
        await r.arrayBuffer();
      }
      expect(statuses).toContain(200);
      expect(statuses).toContain(429);
    } finally {
      t.emu.setKnobs({ throttleBudget: { unitsPer10s: 0 } });
    }
  });
});

describe("control route", () => {
  it("sets, reads and removes a photo", async () => {
    const u = tenant().createUser({ displayName: "Controlled" });
    const base = `${t.emu.loginUrl}/_emulator/tenants/${t.emu.tenantId}/users/${u.id}/photo`;
    const put = await t.call(base, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ size: 120, color: "#00ff00" }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ size: 120, color: "#00ff00" });
    expect((await t.graph(`/users/${u.id}/photo`, token)).body.id).toBe("120x120");
    const bad = await t.call(base, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ color: "green" }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/#rrggbb/);
    expect((await t.call(base, { method: "DELETE" })).status).toBe(204);
    expect((await t.call(base)).status).toBe(404);
    expect((await t.graph(`/users/${u.id}/photo`, token)).status).toBe(404);
  });
});
