import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

/** `rollcall logout --json` answers like every other command: one JSON document on standard output. */
describe("rollcall logout", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollcall-logout-"));
  const sessionFile = join(dir, "session.json");
  const cli = (...args: string[]) => runCli(args, { ROLLCALL_SESSION_FILE: sessionFile, ROLLCALL_SERVER: undefined });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("says whether it signed out, and of which server, as JSON", async () => {
    // A server that is gone: the session is forgotten all the same.
    const session = { server: "http://127.0.0.1:9/", token: "rcs_gone", workspace: null, account: { email: "a@example.com", displayName: "A" }, expiresAt: "2099-01-01T00:00:00Z" };
    writeFileSync(sessionFile, JSON.stringify(session), { mode: 0o600 });
    const first = await cli("logout", "--json");
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toEqual({ signedOut: true, server: "http://127.0.0.1:9", microsoftSignOutUrl: null });
    expect(existsSync(sessionFile)).toBe(false);
    const again = await cli("logout", "--json");
    expect(again.json()).toEqual({ signedOut: false, server: null, microsoftSignOutUrl: null });
    expect((await cli("logout")).stdout).toBe("Not signed in; nothing to do.\n");
  });
});
