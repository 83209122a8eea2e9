import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCliEnv } from "../../src/config.ts";
import { readSession } from "../../src/cli/session.ts";
import { runCli } from "../support/cli.ts";

/** The CLI's own variables, parsed in one place, and the session file `rollcall login` keeps: checked, not trusted. */
describe("the CLI's environment and its saved session", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollcall-session-file-"));
  const file = join(dir, "session.json");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the server, the token, the session file and debugging from the environment; empty means unset", () => {
    expect(loadCliEnv({})).toEqual({ server: undefined, token: undefined, sessionFile: join(homedir(), ".config", "rollcall", "session.json"), debug: false });
    expect(loadCliEnv({ XDG_CONFIG_HOME: "/cfg" }).sessionFile).toBe("/cfg/rollcall/session.json");
    expect(loadCliEnv({ XDG_CONFIG_HOME: "/cfg", ROLLCALL_SESSION_FILE: "/run/s.json" }).sessionFile).toBe("/run/s.json");
    expect(loadCliEnv({ ROLLCALL_SERVER: " https://rollcall.example.com ", ROLLCALL_TOKEN: "rct_abc\n", ROLLCALL_DEBUG: "1", XDG_CONFIG_HOME: "" })).toEqual({
      server: "https://rollcall.example.com", token: "rct_abc", sessionFile: join(homedir(), ".config", "rollcall", "session.json"), debug: true,
    });
    expect(loadCliEnv({ ROLLCALL_SERVER: "", ROLLCALL_TOKEN: "  ", ROLLCALL_DEBUG: "" })).toMatchObject({ server: undefined, token: undefined, debug: false });
  });

  it("a session file `rollcall login` did not write is an error naming it and `rollcall login`; `rollcall logout` removes it", async () => {
    const failure = (): unknown => {
      try {
        return readSession(file);
      } catch (error) {
        return error;
      }
    };
    expect(readSession(join(dir, "none.json"))).toBeNull();
    writeFileSync(file, JSON.stringify({ server: "https://rollcall.example.com", token: "rcs_x" }), { mode: 0o600 });
    expect(failure()).toMatchObject({
      code: "unauthenticated",
      message: `${file} does not hold a session \`rollcall login\` saved (workspace, account, expiresAt missing or wrong): run \`rollcall login\` to sign in again (it replaces the file), or \`rollcall logout\` to remove it`,
      details: { sessionFile: file, reason: "session_corrupt" },
    });

    writeFileSync(file, "{ half a file", { mode: 0o600 });
    const env = { ROLLCALL_SESSION_FILE: file, ROLLCALL_SERVER: "http://127.0.0.1:9", ROLLCALL_TOKEN: undefined, DATABASE_URL: undefined, ROLLCALL_DATA_DIR: join(dir, "data") };
    const list = await runCli(["users", "list"], env);
    expect(list.code).toBe(1);
    expect(list.stderr).toBe(`error [unauthenticated]: ${file} does not hold a session \`rollcall login\` saved (it is not JSON): run \`rollcall login\` to sign in again (it replaces the file), or \`rollcall logout\` to remove it\n`);
    const logout = await runCli(["logout"], env);
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toBe(`Removed ${file}, which held no session \`rollcall login\` saved.\n`);
    expect(existsSync(file)).toBe(false);
  });
});
