import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";

type GroupItem = { id: string; "members@delta"?: { "@odata.type": string; id: string; "@removed"?: unknown }[] };

/** Graph's groups delta pages, edited on their way to the sync (pages numbered from 0 within each round). */
function editingGroupPages(edit: (pageNo: number, groups: GroupItem[], last: boolean) => void): HttpFetch {
  let pageNo = 0;
  return async (url, init) => {
    const response = await httpFetch(url, init);
    if (!url.includes("/groups/delta") || !response.ok) return response;
    const body = (await response.json()) as { value: GroupItem[]; "@odata.deltaLink"?: string };
    const last = body["@odata.deltaLink"] !== undefined;
    edit(pageNo, body.value, last);
    pageNo = last ? 0 : pageNo + 1;
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
}

const withMembers = (groups: GroupItem[]) => groups.filter((g) => (g["members@delta"] ?? []).some((m) => !m["@removed"]));

// A full round's memberships are merged without sorting out each one's latest copy when the round removes
// none (src/sync/merge.ts). These rounds repeat memberships, or add and take back one, as Graph may.
describe.each(engines)("full rounds that repeat or take back memberships (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine);
    h.emulator.setKnobs({ deltaMembersPerPage: 7 }); // groups continue over several pages
    await h.addSource("corp", { groupMode: "all", country: "US" });
  });
  afterAll(async () => h?.close());

  const repeatFirstGroup = editingGroupPages((_, groups) => {
    const first = withMembers(groups)[0];
    if (first) groups.push(structuredClone(first));
  });

  it("stores a membership listed twice once, on the first run and on a later full run that changes members", async () => {
    const first = await h.sync("corp", { fetch: repeatFirstGroup });
    expect(first.error).toBeUndefined();
    expect(await differences(h, "corp")).toEqual([]);

    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const userMemberships = tenant.state().memberships.filter((m) => m.kind === "user");
    const [small] = tenant.listGroups().map((g) => userMemberships.filter((m) => m.groupId === g.id)).sort((x, y) => x.length - y.length);
    const outsider = tenant.listUsers().find((u) => u.userType !== "Guest" && !small!.some((m) => m.memberId === u.id))!;
    const dropped = userMemberships.find((m) => m.groupId !== small![0]?.groupId)!;
    tenant.addMember(small![0]!.groupId, outsider.id);
    tenant.removeMember(dropped.groupId, dropped.memberId);
    const later = await h.sync("corp", { full: true, fetch: repeatFirstGroup });
    expect(later.error).toBeUndefined();
    expect(later.counts).toMatchObject({ membershipsAdded: 1, membershipsRemoved: 1 });
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("keeps the round's last word on a membership it removes and lists again, or lists and then removes", async () => {
    let relisted = "";
    let takenBack: GroupItem | undefined;
    const run = await h.sync("corp", {
      full: true,
      fetch: editingGroupPages((pageNo, groups, last) => {
        for (const g of withMembers(groups)) {
          const member = g["members@delta"]!.find((m) => !m["@removed"])!;
          if (!relisted) {
            relisted = `${g.id}>${member.id}`;
            g["members@delta"]!.unshift({ ...member, "@removed": { reason: "deleted" } }); // removed, then listed
          } else if (!takenBack && !relisted.startsWith(g.id)) {
            takenBack = { id: g.id, "members@delta": [{ ...member, "@removed": { reason: "deleted" } }] };
          }
        }
        if (last && takenBack) groups.push(takenBack); // listed earlier, removed at the end of the round
      }),
    });
    expect(run.error).toBeUndefined();
    expect(relisted).not.toBe("");
    const removed = `${takenBack!.id}>${takenBack!["members@delta"]![0]!.id}`;
    expect(await differences(h, "corp")).toEqual([`missing membership ${removed}`]);
  });
});
