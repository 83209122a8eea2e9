import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * The session `rollcall login` keeps, in a file only this user can read (ROLLCALL_SESSION_FILE,
 * default ~/.config/rollcall/session.json). Later commands send its token to the same server.
 */
export interface StoredSession {
  server: string;
  token: string;
  workspace: string | null;
  account: { email: string; displayName: string };
  expiresAt: string;
}

export function sessionFile(): string {
  return process.env.ROLLCALL_SESSION_FILE ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "rollcall", "session.json");
}

export function readSession(): StoredSession | null {
  try {
    return JSON.parse(readFileSync(sessionFile(), "utf8")) as StoredSession;
  } catch {
    return null;
  }
}

export function saveSession(session: StoredSession): string {
  const file = sessionFile();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(session, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function forgetSession(): void {
  rmSync(sessionFile(), { force: true });
}
