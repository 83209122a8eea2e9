import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import type { Request, Response } from "playwright-core";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createUser } from "../../src/core/users.ts";
import { setUserPhoto } from "../../src/core/user-photos.ts";
import { solidJpeg } from "../../src/emulator/jpeg.ts";
import { hasChromium, type ConsoleServer } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { until } from "../notifications/support.ts";

/** The user's page shows their photo, decoded by the real Chromium, or their initials; an admin uploads and removes one. */
describe.skipIf(!hasChromium)("web console: a user's photo", () => {
  const ids: Record<string, string> = {};
  const ui = signedInConsole(async (server: ConsoleServer) => {
    const db = server.rt.store.db;
    const ctx = { db, workspace: await resolveWorkspace(db, "default"), actor: "test" };
    ids.ada = (await createUser(ctx, { email: "ada@photo.example", displayName: "Ada Lovelace" })).id;
    ids.bo = (await createUser(ctx, { email: "bo@photo.example", displayName: "Bo Nophoto" })).id;
    await setUserPhoto(ctx, ids.ada, solidJpeg(120, 120, [200, 40, 90]));
  });
  /** The photo as the browser decoded it: its size and a pixel's colour. */
  const shown = () => ui.page.locator("[data-kind='user-photo'] img").evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    const c = document.createElement("canvas");
    [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
    const g = c.getContext("2d")!;
    g.drawImage(img, 0, 0);
    return { width: img.naturalWidth, pixel: [...g.getImageData(10, 10, 1, 1).data].slice(0, 3) };
  });

  it("shows the photo of a user who has one, and initials for one who has none", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users/${ids.ada}`);
    await page.getByRole("img", { name: "Photo of Ada Lovelace" }).waitFor();
    const photo = await shown();
    expect(photo.width).toBe(120);
    expect(photo.pixel.map((v, i) => Math.abs(v - [200, 40, 90][i]!) <= 3)).toEqual([true, true, true]);

    await page.goto(`${server.url}/w/default/users/${ids.bo}`);
    const initials = page.getByRole("img", { name: "Bo Nophoto has no photo" });
    await initials.waitFor();
    expect(await initials.textContent()).toBe("BN");
  });

  it("uploads a photo for a user without one, refuses what is not an image, and removes it", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users/${ids.bo}`);
    await page.getByRole("img", { name: "Bo Nophoto has no photo" }).waitFor();
    const text = join(tmpdir(), `rollcall-not-a-photo-${process.pid}.txt`);
    writeFileSync(text, "not an image");
    await page.locator("[data-kind='user-photo'] input[type=file]").setInputFiles(text);
    await page.getByText("neither a JPEG nor a PNG image").waitFor();
    const file = join(tmpdir(), `rollcall-photo-${process.pid}.jpg`);
    writeFileSync(file, solidJpeg(64, 64, [20, 160, 60]));
    await page.locator("[data-kind='user-photo'] input[type=file]").setInputFiles(file);
    await page.getByText("Photo of Bo Nophoto saved").waitFor();
    await page.getByRole("img", { name: "Photo of Bo Nophoto" }).waitFor();
    expect((await shown()).width).toBe(64);
    await page.getByRole("button", { name: "Remove photo" }).click();
    await page.getByText("Photo of Bo Nophoto removed").waitFor();
    await page.getByRole("img", { name: "Bo Nophoto has no photo" }).waitFor();
    await page.getByRole("region", { name: "History" }).getByText("Photo changed").first().waitFor();
  });

  it("lists each user with an avatar: the photo, loaded lazily and revalidated by its ETag, or initials without a request", async () => {
    const { page, server } = ui;
    const asked: { url: string; ifNoneMatch: string | undefined }[] = [];
    const answered: number[] = [];
    const isPhoto = (url: string) => /\/users\/[^/]+\/photo/.test(url);
    const onRequest = (r: Request) => { if (isPhoto(r.url())) void r.allHeaders().then((h) => asked.push({ url: r.url(), ifNoneMatch: h["if-none-match"] })); };
    const onResponse = (r: Response) => { if (isPhoto(r.url())) answered.push(r.status()); };
    page.on("request", onRequest).on("response", onResponse);
    try {
      await page.goto(`${server.url}/w/default/users`);
      const avatar = (name: string) => page.getByRole("row").filter({ hasText: name }).locator("[data-kind='user-avatar']");
      await avatar("Ada Lovelace").and(page.locator("img")).waitFor();
      expect(await avatar("Ada Lovelace").getAttribute("loading")).toBe("lazy");
      const decoded = () => avatar("Ada Lovelace").evaluate(async (img: HTMLImageElement) => {
        await img.decode();
        return img.naturalWidth;
      });
      expect(await decoded()).toBe(120);
      expect(await avatar("Bo Nophoto").textContent()).toBe("BN"); // the list said Bo has none: nothing asked for
      await until(() => asked.length === 1 && answered.length === 1, 10_000, "Ada's photo");
      expect(asked[0]!.url).toBe(`${server.url}/api/v1/workspaces/default/users/${ids.ada}/photo`);
      expect(answered).toEqual([200]);

      // Shown again, the browser's copy is asked after by its ETag: a 304, not the image again.
      await page.reload();
      expect(await decoded()).toBe(120);
      await until(() => asked.length === 2 && answered.length === 2, 10_000, "Ada's photo again");
      expect(asked[1]!.ifNoneMatch).toMatch(/^".+"$/);
      expect(answered[1]).toBe(304);
    } finally {
      page.off("request", onRequest).off("response", onResponse);
    }
  });
});
