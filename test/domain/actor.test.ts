import { describe, expect, it } from "vitest";
import { actorPatterns, cliActor, describeActor, isCliActor, tokenActor, tokenNameProblem } from "../../src/domain/actor.ts";

describe("who made a change", () => {
  it("names the CLI's operating-system account, and reads entries made before it did", () => {
    expect(cliActor("alice")).toBe("cli:alice");
    expect(cliActor(" ")).toBe("cli");
    expect(cliActor(undefined)).toBe("cli");
    expect(describeActor("cli:alice")).toBe("alice (CLI)");
    expect(describeActor("cli")).toBe("CLI");
    expect([isCliActor("cli"), isCliActor("cli:alice"), isCliActor("client@example.com")]).toEqual([true, true, false]);
  });

  it("names a token and, when an admin created it, that admin", () => {
    expect(tokenActor("deploy", "ada@example.com")).toBe("token:deploy by ada@example.com");
    expect(tokenActor("deploy", null)).toBe("token:deploy");
    expect(describeActor("token:deploy by ada@example.com")).toBe('API token "deploy" (created by ada@example.com)');
    expect(describeActor("token:nightly export")).toBe('API token "nightly export"');
    expect(describeActor("ada@example.com")).toBe("ada@example.com");
    expect(describeActor("sync:corp")).toBe("sync:corp");
  });

  it("filters `cli` to every account's CLI and `token:NAME` to the token whoever created it; LIKE's wildcards are literal", () => {
    expect(actorPatterns("CLI")).toEqual(["cli", "cli:%"]);
    expect(actorPatterns("token:Deploy")).toEqual(["token:deploy", "token:deploy by %@%"]);
    expect(actorPatterns("cli:al%_")).toEqual(["cli:al\\%\\_"]);
    expect(actorPatterns("ada@example.com")).toEqual(["ada@example.com"]);
  });

  it("filters by an actor as the activity shows it", () => {
    expect(actorPatterns("Alice (CLI)")).toEqual(["cli:alice"]);
    expect(actorPatterns('API token "Deploy"')).toEqual(["token:deploy", "token:deploy by %@%"]);
    expect(actorPatterns("SCIM (Entra push)")).toEqual(["scim:entra push"]);
    expect(tokenNameProblem("nightly by eve@example.com")).toMatch(/^must not end in " by eve@example.com"/);
    expect(tokenNameProblem("made by hand")).toBeNull();
  });
});
