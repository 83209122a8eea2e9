import { describe, expect, it } from "vitest";
import { publicUrlProblem, resourcesOf, subscriptionProblem } from "../../src/sources/entra/subscriptions.ts";
import { GraphRequestError } from "../../src/sources/entra/graph.ts";
import { needsGraph } from "../../src/core/change-subscriptions.ts";
import { RollcallError } from "../../src/errors.ts";

/** Sync on change's rules: where Graph can deliver, what a source subscribes to, when Graph is asked, Graph's refusals in our words. */
describe("sync on change: subscriptions' rules", () => {
  const url = "https://rollcall.example.com/api/v1/graph/notifications";

  it("needs ROLLCALL_PUBLIC_URL, https but on a loopback address", () => {
    expect(publicUrlProblem(undefined)).toMatch(/^sync on change needs ROLLCALL_PUBLIC_URL: the https:\/\/ address/);
    expect(publicUrlProblem("http://rollcall.example.com")).toMatch(/^ROLLCALL_PUBLIC_URL is http:\/\/rollcall\.example\.com: Microsoft Graph delivers change notifications only to an https:\/\/ URL/);
    for (const fine of ["https://rollcall.example.com/", "http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"]) expect(publicUrlProblem(fine), fine).toBeUndefined();
  });

  it("subscribes to users, and to groups when the source reads them; to nothing when off", () => {
    const on = { syncOnChange: true, users: "all", groupMode: "none" } as const;
    expect(resourcesOf(on)).toEqual(["users"]);
    expect(resourcesOf({ ...on, groupMode: "selected" })).toEqual(["users", "groups"]);
    expect(resourcesOf({ ...on, users: "groups" })).toEqual(["users", "groups"]);
    expect(resourcesOf({ ...on, groupMode: "attribute" })).toEqual(["users"]);
    expect(resourcesOf({ ...on, syncOnChange: false, groupMode: "all" })).toEqual([]);
  });

  it("asks Graph for a subscription missing, pending, expiring within 3 days, or failed an hour ago (at once when asked)", () => {
    const now = new Date("2026-12-07T10:00:00Z");
    const at = (hours: number) => new Date(now.getTime() + hours * 3_600_000);
    expect(needsGraph(undefined, now, false)).toBe(true);
    expect(needsGraph({ state: "active", expires_at: at(73), updated_at: at(0) }, now, false)).toBe(false);
    expect(needsGraph({ state: "active", expires_at: at(71), updated_at: at(0) }, now, false)).toBe(true);
    expect(needsGraph({ state: "failed", expires_at: null, updated_at: at(-0.5) }, now, false)).toBe(false);
    expect(needsGraph({ state: "failed", expires_at: null, updated_at: at(-0.5) }, now, true)).toBe(true);
    expect(needsGraph({ state: "failed", expires_at: null, updated_at: at(-1) }, now, false)).toBe(true);
    expect(needsGraph({ state: "pending", expires_at: null, updated_at: at(0) }, now, false)).toBe(true);
  });

  it("says what Graph refused, with its code, and what to do", () => {
    const denied = subscriptionProblem(new GraphRequestError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."), "groups", url);
    expect(denied).toEqual({ code: "Authorization_RequestDenied", message: expect.stringMatching(/^Microsoft Graph refused to subscribe to changes of groups \(403 Authorization_RequestDenied: .*add the Microsoft Graph application permission Group\.Read\.All and click "Grant admin consent"/) });
    const unvalidated = subscriptionProblem(new GraphRequestError(400, "ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."), "users", url);
    expect(unvalidated.message).toMatch(/^Microsoft Graph could not validate the notification URL https:\/\/rollcall\.example\.com\/api\/v1\/graph\/notifications \(400 ValidationError: .*\): it must be reachable from the internet over HTTPS.*ROLLCALL_PUBLIC_URL/);
    expect(subscriptionProblem(new RollcallError("source_auth_failed", "AADSTS7000215: Invalid client secret provided."), "users", url)).toEqual({ code: "source_auth_failed", message: "Could not subscribe to changes of users: AADSTS7000215: Invalid client secret provided." });
  });
});
