import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, expectError, testApi, type Caller, type TestApi } from "./support.ts";

/**
 * GET …/users/ID says who gave a user the status they have, when, and why (a help desk's first question about a
 * disabled user): the user's creation, then each change that enabled or disabled them, by hand, in bulk or by
 * an import. A sync's own (with its source and reason) is in test/sync/status-reasons.test.ts.
 */
describe.each(engines)("a user's status change, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme" });
    as = await accountCaller(api, "helpdesk@example.com", { owner: true });
    expect((await as("POST", "workspaces/acme/users", { email: "anna@example.com", displayName: "Anna", cardNumbers: ["0042117"] })).status).toBe(201);
  });
  afterAll(() => api?.close());

  const statusOf = async () => (await as("GET", "workspaces/acme/users/anna@example.com")).body.statusChange;

  it("is the user's creation until someone changes their status, then that change: by whom, when, not in a sync", async () => {
    expect(await statusOf()).toEqual({ enabled: true, action: "create", at: expect.any(String), actor: "helpdesk@example.com", runId: null, syncSource: null, reason: null });
    // Another change leaves it as it was.
    expect((await as("PATCH", "workspaces/acme/users/anna@example.com", { department: "Facilities" })).status).toBe(200);
    expect((await statusOf()).action).toBe("create");
    expect((await as("POST", "workspaces/acme/users/anna@example.com/disable")).status).toBe(200);
    const disabled = await statusOf();
    expect(disabled).toEqual({ enabled: false, action: "disable", at: expect.any(String), actor: "helpdesk@example.com", runId: null, syncSource: null, reason: null });
    const reply = await as("POST", "workspaces/acme/users/bulk", { action: "enable", filter: { q: "0042117" } });
    expect(reply.body.changed, JSON.stringify(reply.body)).toBe(1);
    expect(await statusOf()).toMatchObject({ enabled: true, action: "enable", actor: "helpdesk@example.com" });
    expect(Date.parse((await statusOf()).at)).toBeGreaterThanOrEqual(Date.parse(disabled.at));
  });

  it("is no part of the user's version: a PATCH with the ETag of GET still applies", async () => {
    const shown = await as("GET", "workspaces/acme/users/anna@example.com");
    const saved = await as("PATCH", "workspaces/acme/users/anna@example.com", { jobTitle: "Caretaker" }, { "if-match": String(shown.headers.etag) });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).not.toHaveProperty("statusChange");
    expect(shown.body.openConflict).toBeNull();
  });

  it("names whose card number or alias a key is when no user has it as id, email or UPN, and otherwise where to search", async () => {
    const byCard = await as("GET", "workspaces/acme/users/0042117");
    expectError(byCard, 404, "not_found");
    expect(byCard.body.error.message).toBe('user "0042117" was not found: card number 0042117 is Anna\'s: name them by id, email or user principal name (anna@example.com)');
    const unknown = await as("POST", "workspaces/acme/users/0099999/disable");
    expect(unknown.body.error.message).toBe('user "0099999" was not found: a user is named by id, email or user principal name; search for a card number, alias, phone or part of a name (users list -q, GET …/users?q=)');
  });
});

