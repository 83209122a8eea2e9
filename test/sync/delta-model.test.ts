import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { directorySnapshot, openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { createUser, deleteUser, updateUser } from "../../src/core/users.ts";
import { Rng } from "../../src/emulator/rng.ts";
import type { EntraConfigInput } from "../../src/sources/entra/config.ts";
import type { TenantHandle } from "../../src/emulator/types.ts";
import type { RunCounts } from "../../src/domain/run-counts.ts";

/**
 * Delta sync checked against full sync, model-based: seeded random changes to the tenant (and now and then the
 * same change made in Rollcall on both sides), a delta run after each round, and then two oracles. A second
 * database that only ever runs full syncs over the same history must hold exactly the same directory and mirror,
 * and every 4th round a full dry run must plan no change at all. Some rounds make the delta run fail mid-way
 * (faults, throttling, expired page tokens, a connection lost after a few requests), change Entra ID while it
 * lists, or end the delta tokens; the next round must converge.
 * ROLLCALL_DELTA_MODEL_SEED=N reproduces a failure (the message names the seed and the round);
 * ROLLCALL_DELTA_MODEL_ROUNDS=N runs more rounds (12 by default, to keep the file near a minute an engine) and
 * ROLLCALL_DELTA_MODEL_CONFIG=I only the I-th source configuration.
 */
const seed = Number(process.env.ROLLCALL_DELTA_MODEL_SEED ?? 20261207);
const rounds = Number(process.env.ROLLCALL_DELTA_MODEL_ROUNDS ?? 12);

const configurations: { name: string; config: Partial<EntraConfigInput>; fixed: string[] }[] = [
  { name: "all users, all groups", config: { groupMode: "all" }, fixed: [] },
  // Engineering holds Sales (generated nesting); its transitive members are the scope. Scope groups are never
  // renamed or deleted here: a run stops by design when one goes missing.
  { name: "members of a scope group, selected groups", config: { users: "groups", scopeGroups: ["Engineering"], groupMode: "selected", groups: ["Sales", "Marketing"], onRemove: "delete" }, fixed: ["Engineering"] },
  { name: "attribute groups by department", config: { groupMode: "attribute", groupAttribute: "department", onRemove: "keep" }, fixed: [] },
];

// Spellings of one value (case, spaces) make one attribute group, named by its most common spelling.
const departments = ["Engineering", "Sales", "sales", " Sales", "Marketing", "MARKETING", "Finance", "Legal", "IT", null];
// Conflicts are not changes: one Entra ID itself causes (two users given one address) stays, in a full run too.
const changeKeys = ["created", "updated", "linked", "disabled", "deleted", "released", "groupsCreated", "groupsUpdated", "groupsDeleted", "membershipsAdded", "membershipsRemoved"] as const;

/** One random change to the tenant; returns what it did, for the failure message. `freedNames`: UPNs no user holds any more. */
function mutate(t: TenantHandle, r: Rng, fixed: string[], serial: () => number, freedNames: Set<string>): string {
  const users = t.listUsers().filter((u) => u.userType === "Member");
  const deleted = t.listUsers({ includeDeleted: true }).filter((u) => u.deletedDateTime);
  const groups = t.listGroups();
  const movable = groups.filter((g) => !fixed.includes(g.displayName) && !g.groupTypes.includes("DynamicMembership"));
  const user = () => r.pick(users);
  const n = serial();
  switch (r.int(18)) {
    case 0: {
      const u = t.createUser({ displayName: `New Person ${n}`, userPrincipalName: `new.${n}@${t.domain}`, mail: r.chance(0.8) ? `new.${n}@${t.domain}` : null, department: r.pick(departments), givenName: "New", surname: `Person ${n}` });
      if (r.chance(0.7) && groups.length) t.addMember(r.pick(groups.filter((g) => !g.groupTypes.includes("DynamicMembership"))).id, u.id);
      return `create user ${u.userPrincipalName}`;
    }
    case 1: {
      const u = user();
      t.updateUser(u.id, { displayName: `Renamed ${n}`, surname: r.chance(0.5) ? `Surname ${n}` : null });
      return `rename user ${u.userPrincipalName}`;
    }
    case 2: {
      const u = user();
      const upn = `renamed.${n}@${t.domain}`;
      t.updateUser(u.id, { userPrincipalName: upn, ...(r.chance(0.5) && { mail: upn }) });
      freedNames.add(u.userPrincipalName);
      return `UPN ${u.userPrincipalName} -> ${upn}`;
    }
    case 3: {
      const u = user();
      const department = r.pick(departments);
      t.updateUser(u.id, { department, jobTitle: r.chance(0.5) ? `Title ${n}` : null });
      return `department of ${u.userPrincipalName} -> ${department}`;
    }
    case 4: {
      const u = user();
      t.updateUser(u.id, { mobilePhone: r.chance(0.7) ? `+1 206 ${r.range(234, 899)} ${r.digits(4)}` : null, businessPhones: r.chance(0.5) ? [`+1 212 ${r.range(234, 899)} ${r.digits(4)}`] : [] });
      return `phones of ${u.userPrincipalName}`;
    }
    case 5: {
      const u = user();
      t.updateUser(u.id, { accountEnabled: !u.accountEnabled });
      return `accountEnabled of ${u.userPrincipalName} -> ${!u.accountEnabled}`;
    }
    case 6: {
      const u = user();
      t.updateUser(u.id, { employeeId: r.chance(0.8) ? `E${n}` : null, mail: r.chance(0.3) ? null : u.mail });
      return `employeeId of ${u.userPrincipalName}`;
    }
    case 7: {
      const u = user();
      const permanent = r.chance(0.3);
      t.deleteUser(u.id, { permanent });
      if (permanent) freedNames.add(u.userPrincipalName);
      return `${permanent ? "purge" : "soft-delete"} user ${u.userPrincipalName}`;
    }
    case 8: {
      if (!deleted.length) return "nothing to restore";
      const u = r.pick(deleted);
      if (r.chance(0.3)) {
        t.deleteUser(u.id, { permanent: true });
        freedNames.add(u.userPrincipalName.replace(/^[0-9a-f]{32}/, ""));
        return `purge deleted user ${u.id}`;
      }
      t.restoreUser(u.id);
      return `restore user ${u.userPrincipalName}`;
    }
    case 9:
    case 10: {
      const g = r.pick(movable);
      const members = t.listMembers(g.id);
      if (members.length && r.chance(0.5)) {
        const m = r.pick(members);
        t.removeMember(g.id, m.id);
        return `remove ${m.kind} ${m.id} from ${g.displayName}`;
      }
      const nested = r.chance(0.25) ? r.pick(groups.filter((x) => x.id !== g.id && !x.groupTypes.includes("DynamicMembership"))) : undefined;
      const member = nested ?? user();
      try {
        t.addMember(g.id, member.id);
      } catch {
        return `no cycle: ${member.id} stays out of ${g.displayName}`;
      }
      return `add ${nested ? "group" : "user"} ${member.id} to ${g.displayName}`;
    }
    case 11: {
      // Into or out of the scope group (or a group nested in it): the user enters or leaves the scope.
      const target = groups.find((g) => g.displayName === (fixed[0] ?? "Sales"));
      if (!target) return "no scope group";
      const u = user();
      if (t.listMembers(target.id).some((m) => m.id === u.id)) t.removeMember(target.id, u.id);
      else t.addMember(target.id, u.id);
      return `toggle ${u.userPrincipalName} in ${target.displayName}`;
    }
    case 12: {
      const g = t.createGroup({ displayName: `Team ${n}`, description: r.chance(0.5) ? `Team ${n} members` : null });
      for (let i = r.int(4); i > 0; i--) t.addMember(g.id, user().id);
      if (r.chance(0.3)) t.addMember(r.pick(movable).id, g.id);
      return `create group ${g.displayName}`;
    }
    case 13: {
      // Two users swap their mail addresses, or one takes a name a purged or renamed user freed.
      const [a, b] = [user(), user()];
      if (a.id === b.id) return "no swap";
      t.updateUser(a.id, { mail: b.mail });
      t.updateUser(b.id, { mail: a.mail });
      return `swap mail of ${a.userPrincipalName} and ${b.userPrincipalName}`;
    }
    case 14: {
      const freed = [...freedNames][0];
      if (!freed) return "no freed name";
      freedNames.delete(freed);
      const u = user();
      try {
        t.updateUser(u.id, { userPrincipalName: freed, mail: freed });
      } catch {
        return `${freed} is still held (by a user deleted but restorable)`;
      }
      return `${u.userPrincipalName} takes the freed ${freed}`;
    }
    case 15: {
      const u = user();
      t.updateUser(u.id, { userType: "Guest" });
      return `${u.userPrincipalName} becomes a guest`;
    }
    case 16: {
      // A group renamed to another group's name (without case): one of them is a conflict until renamed again.
      const [g, other] = [r.pick(movable), r.pick(groups)];
      t.updateGroup(g.id, { displayName: r.chance(0.5) ? other.displayName.toUpperCase() : other.displayName });
      return `rename group ${g.displayName} to ${other.displayName}`;
    }
    case 17: {
      // Graph may send an object several times in a round, each time with some of its properties.
      const u = user();
      t.splitInDelta(u.id, r.chance(0.8) ? [["displayName", "department"], ["mail", "accountEnabled"]] : null);
      t.updateUser(u.id, { displayName: `Split ${n}`, department: r.pick(departments) });
      const g = r.pick(movable);
      t.splitInDelta(g.id, r.chance(0.8) ? [["displayName"], ["description"]] : null);
      t.addMember(g.id, user().id);
      return `split ${u.userPrincipalName} and group ${g.displayName} in delta`;
    }
    default: {
      const g = r.pick(movable);
      if (r.chance(0.6)) {
        t.updateGroup(g.id, { displayName: `${g.displayName.replace(/ \(r\d+\)$/, "")} (r${n})`, description: r.chance(0.5) ? `renamed ${n}` : null });
        return `rename group ${g.displayName}`;
      }
      const permanent = r.chance(0.3);
      t.deleteGroup(g.id, { permanent });
      return `${permanent ? "purge" : "delete"} group ${g.displayName}`;
    }
  }
}

/**
 * The same change made in Rollcall on both sides, to a user the source holds (by its Entra object ID): disabled by
 * hand (the sync owns `enabled` and sets it back) or deleted (recreated when still in scope); or a user added by
 * hand with an address a new Entra user may take (linked to it).
 */
async function changeHere(sides: Harness[], r: Rng, domain: string, serial: () => number): Promise<string> {
  const [first] = sides;
  const { rows } = await sql<{ external_id: string }>`select external_id from users where source_name = 'corp' and enabled order by external_id`.execute(first!.store.db);
  const kind = r.int(3);
  const externalId = rows.length ? r.pick(rows).external_id : undefined;
  const email = `new.${serial() + r.range(1, 3)}@${domain}`;
  if (kind === 2 && (await sql`select 1 from users where lower(email) = ${email} or lower(user_principal_name) = ${email}`.execute(first!.store.db)).rows.length) return `${email} is taken`;
  for (const h of sides) {
    const id = (await sql<{ id: string }>`select id from users where external_id = ${externalId ?? ""}`.execute(h.store.db)).rows[0]?.id;
    if (kind === 0 && id) await updateUser(h.ctx, id, { enabled: false });
    else if (kind === 1 && id) await deleteUser(h.ctx, id);
    else if (kind === 2) await createUser(h.ctx, { displayName: "Added Here", email });
  }
  return kind === 2 ? `added ${email} here` : `${kind === 0 ? "disabled" : "deleted"} ${externalId} here`;
}

/** A fetch that loses the connection after `requests` Graph requests: the run fails part-way through. */
function connectionLostAfter(requests: number): HttpFetch {
  let made = 0;
  return async (url, init) => {
    if (url.includes("/v1.0/") && ++made > requests) throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
    return httpFetch(url, init);
  };
}

/** What a source's mirror of Entra ID holds (a property absent or null alike), to compare two databases by. */
async function mirrorSnapshot(h: Harness): Promise<{ users: unknown[]; groups: unknown[]; members: string[]; restorable: string[] }> {
  const source = sql`(select id from sources where name = 'corp')`;
  const withoutNulls = (data: Record<string, unknown>) => Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null).sort(([a], [b]) => (a < b ? -1 : 1)));
  const users = await sql<{ id: string; data: Record<string, unknown> }>`select id, data from entra_users where source_id = ${source} order by id`.execute(h.store.db);
  const groups = await sql<{ id: string; data: Record<string, unknown> }>`select id, data from entra_groups where source_id = ${source} order by id`.execute(h.store.db);
  const members = await sql<{ m: string }>`select group_id || '>' || member_id || ':' || kind as m from entra_members where source_id = ${source} order by 1`.execute(h.store.db);
  // Of the users the source holds: which released ones (on-remove keep) a delta round saw soft-deleted is moot.
  const restorable = await sql<{ id: string }>`select r.id from entra_restorable r where r.source_id = ${source}
    and exists (select 1 from users u where u.source_id = r.source_id and u.external_id = r.id) order by r.id`.execute(h.store.db);
  return {
    users: users.rows.map((u) => ({ id: u.id, ...withoutNulls(u.data) })),
    groups: groups.rows.map((g) => ({ id: g.id, ...withoutNulls(g.data) })),
    members: members.rows.map((m) => m.m),
    restorable: restorable.rows.map((r) => r.id),
  };
}

/** A fetch that changes the tenant (once) after `requests` Graph requests of the run. */
function changingAfter(requests: number, change: () => void): HttpFetch {
  let made = 0;
  return async (url, init) => {
    if (url.includes("/v1.0/") && ++made === requests + 1) change();
    return httpFetch(url, init);
  };
}

const plannedChanges = (counts: RunCounts) => Object.fromEntries(changeKeys.filter((k) => (counts[k] ?? 0) !== 0).map((k) => [k, counts[k]]));

describe.each(engines)("delta sync equals full sync under random change (%s)", (engine) => {
  for (const [index, { name, config, fixed }] of configurations.entries()) {
    if (process.env.ROLLCALL_DELTA_MODEL_CONFIG && process.env.ROLLCALL_DELTA_MODEL_CONFIG !== String(index)) continue;
    describe(name, () => {
      let delta: Harness;
      let full: Harness;
      const r = Rng.derive(seed, `${engine}:${index}`);
      beforeAll(async () => {
        delta = await openHarness(engine, { users: 60, groups: 10, seed: seed % 100_000 });
        full = await openHarness(engine, {}, delta.emulator);
        delta.emulator.setKnobs({ deltaMembersPerPage: 7, retryAfterSeconds: 0.05, retryAfterForm: "fractional" });
        await delta.addSource("corp", { country: "US", deletionThreshold: { percent: 100, count: 1000 }, ...config });
        await full.addSource("corp", { country: "US", deletionThreshold: { percent: 100, count: 1000 }, ...config });
      });
      afterAll(async () => {
        await full?.close();
        await delta?.close();
      });

      it(`keeps the directory where a full sync puts it, round after round (seed ${seed})`, async () => {
        const t = delta.emulator.tenants.get(delta.emulator.tenantId);
        let serial = 0;
        const freedNames = new Set<string>();
        const unchecked: string[] = []; // the changes of rounds the oracles skipped, for the next one's message
        const first = await delta.sync("corp");
        expect(first.error).toBeUndefined();
        expect((await full.sync("corp", { full: true })).error).toBeUndefined();
        for (let round = 1; round <= rounds; round++) {
          const where = `seed ${seed}, ${engine}, "${name}", round ${round}`;
          const done = Array.from({ length: r.range(1, 6) }, () => mutate(t, r, fixed, () => ++serial, freedNames));
          if (r.chance(0.3)) done.push(await changeHere([delta, full], r, t.domain, () => serial));
          const disturbed = round < rounds && r.chance(0.25);
          if (r.chance(0.08)) {
            // Graph ends the delta tokens (expiry, a tenant migration): the run falls back to a full one.
            if (r.chance(0.5)) t.expireDeltaTokens();
            else t.resetDeltaTokens();
            done.push("delta tokens ended");
          }
          if (disturbed) {
            const pageTokens = r.chance(0.3) ? { status: 400, code: "Directory_ExpiredPageToken", on: "nextLink" as const } : null;
            delta.emulator.setKnobs({ faultRate: 0.2, throttleRate: 0.2, deltaEmptyPages: r.chance(0.5), deltaLinkError: pageTokens });
          }
          // Entra ID changes while a run lists it: the run must take what it saw, and the next round the rest.
          const racing = !disturbed && round < rounds && r.chance(0.2);
          const midRun = racing ? () => Array.from({ length: r.range(1, 3) }, () => mutate(t, r, fixed, () => ++serial, freedNames)) : undefined;
          const before = disturbed ? await directorySnapshot(delta.store.db, "corp") : undefined;
          const fetch = disturbed ? connectionLostAfter(r.range(1, 6)) : midRun ? changingAfter(r.range(1, 4), () => done.push(...midRun().map((m) => `mid-run: ${m}`))) : undefined;
          const run = await delta.sync("corp", fetch ? { fetch } : {});
          delta.emulator.setKnobs({ faultRate: 0, throttleRate: 0, deltaEmptyPages: false, deltaLinkError: null });
          const context = `${where} after ${JSON.stringify([...unchecked, ...done])}`;
          // A failed run changes nothing (the full side skips it too); the next round's run must converge.
          if (disturbed && run.status !== "succeeded") {
            expect(await directorySnapshot(delta.store.db, "corp"), `${context}: the failed run changed the directory`).toEqual(before);
            unchecked.push(...done.map((d) => `round ${round}: ${d}`));
            continue;
          }
          expect(run.error, context).toBeUndefined();
          expect((await full.sync("corp", { full: true })).error, context).toBeUndefined();
          if (racing) {
            unchecked.push(...done.map((d) => `round ${round}: ${d}`));
            continue; // the full side never saw the state part-way through these changes: compared next round
          }
          unchecked.length = 0;
          expect(await directorySnapshot(delta.store.db, "corp"), `${context}: delta and full differ`).toEqual(await directorySnapshot(full.store.db, "corp"));
          expect(await mirrorSnapshot(delta), `${context}: the mirrors differ`).toEqual(await mirrorSnapshot(full));
          // A full dry run merges its listing into the mirror (it only keeps the delta links): now and then, so that
          // delta rounds also follow one another on their own.
          if (round % 4 !== 0 && round !== rounds) continue;
          const check = await delta.sync("corp", { full: true, dryRun: true });
          expect(check.error, context).toBeUndefined();
          const planned = plannedChanges(check.counts);
          if (Object.keys(planned).length) {
            const log = await listChanges(delta.store.db, delta.ctx.workspace.id, { runId: check.runId });
            expect({ planned, log: log.map((c) => [c.action, c.subject, c.before, c.after]) }, `${context}: a full dry run still plans changes`).toEqual({ planned: {}, log: [] });
          }
        }
      }, 300_000);
    });
  }
});
