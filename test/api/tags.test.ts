import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, testApi, type Caller, type TestApi } from "./support.ts";

describe.each(engines)("the workspace's tags (GET …/users/tags) and the tag filter, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const emails = (reply: { body: { items: { email: string }[] } }) => reply.body.items.map((u) => u.email).sort();
  const quoted = 'Say "hi", ok\\';

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme" });
    await createWorkspace(api.store.db, { name: "other" });
    as = await accountCaller(api, "owner@example.com", { owner: true });
    const people: [string, string[]][] = [["ada", ["VIP", "Night shift"]], ["bob", ["vip"]], ["cy", ["vip", quoted]], ["dee", ["Études"]], ["eve", []]];
    for (const [name, tags] of people) {
      const reply = await as("POST", "workspaces/acme/users", { email: `${name}@example.com`, displayName: name, tags });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    }
    await as("POST", "workspaces/other/users", { email: "zed@example.com", displayName: "zed", tags: ["Legal hold", "vip"] });
  });
  afterAll(() => api?.close());

  it("lists the tags with how many users hold each: sources' own first and marked, then one per tag whatever its case, in its most common spelling", async () => {
    const reply = await as("GET", "workspaces/acme/users/tags");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ items: [
      { tag: "Manual", users: 5, source: true },
      { tag: "Études", users: 1, source: false },
      { tag: "Night shift", users: 1, source: false },
      { tag: quoted, users: 1, source: false },
      { tag: "vip", users: 3, source: false },
    ] });
    expect((await as("GET", "workspaces/other/users/tags")).body).toEqual({ items: [
      { tag: "Manual", users: 1, source: true },
      { tag: "Legal hold", users: 1, source: false },
      { tag: "vip", users: 1, source: false },
    ] });
  });

  it("filters by a tag in any case, matching every spelling of it: the list, the export and a bulk action alike", async () => {
    for (const tag of ["VIP", "vip", "Vip"]) expect(emails(await as("GET", `workspaces/acme/users?tag=${tag}`))).toEqual(["ada@example.com", "bob@example.com", "cy@example.com"]);
    expect((await as("GET", "workspaces/acme/users?tag=VIP&q=bob")).body.total).toBe(1);
    expect(emails(await as("GET", `workspaces/acme/users?tag=${encodeURIComponent(quoted.toUpperCase())}`))).toEqual(["cy@example.com"]);
    expect(emails(await as("GET", "workspaces/acme/users?tag=manual"))).toHaveLength(5);
    expect((await as("GET", "workspaces/acme/users?tag=Legal%20hold")).body.total).toBe(0);
    expect((await as("GET", "workspaces/acme/exports?format=csv&tag=Vip")).headers["rollcall-users"]).toBe("3");

    const disabled = await as("POST", "workspaces/acme/users/bulk", { action: "disable", filter: { tag: "VIP" } });
    expect(disabled.body).toMatchObject({ changed: 3 });
    expect(emails(await as("GET", "workspaces/acme/users?enabled=false"))).toEqual(["ada@example.com", "bob@example.com", "cy@example.com"]);
  });

  it("counts a bulk tag change at once: a tag added shows in the list, one removed from all its users leaves it", async () => {
    const added = await as("POST", "workspaces/acme/users/bulk", { action: "addTag", tag: "night SHIFT", filter: { tag: "vip" } });
    expect(added.body).toMatchObject({ changed: 2, unchanged: 1 });
    const tags = (await as("GET", "workspaces/acme/users/tags")).body.items as { tag: string; users: number }[];
    // Two of its three users spell it as the bulk action gave it: that spelling is shown.
    expect(tags.find((t) => t.tag.toLowerCase() === "night shift")).toEqual({ tag: "night SHIFT", users: 3, source: false });
    const removed = await as("POST", "workspaces/acme/users/bulk", { action: "removeTag", tag: "Night Shift", filter: {} });
    expect(removed.body).toMatchObject({ changed: 3 });
    expect(((await as("GET", "workspaces/acme/users/tags")).body.items as { tag: string }[]).map((t) => t.tag)).toEqual(["Manual", "Études", quoted, "vip"]);
  });
});
