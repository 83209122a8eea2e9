import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { cliEnv } from "../config.ts";
import { fileProblem, RollcallError } from "../errors.ts";

/**
 * The session `rollcall login` keeps, in a file only this user can read (ROLLCALL_SESSION_FILE,
 * default ~/.config/rollcall/session.json). Later commands send its token to the same server.
 */
const storedSession = z.object({
  server: z.string().min(1),
  token: z.string().min(1),
  workspace: z.string().nullable(),
  account: z.object({ email: z.string(), displayName: z.string() }),
  expiresAt: z.string(),
});

export type StoredSession = z.infer<typeof storedSession>;

export function sessionFile(): string {
  return cliEnv().sessionFile;
}

/**
 * The saved session; null when there is none. A file that cannot be read, or is not one `rollcall login` wrote
 * (details.reason session_corrupt), is an error naming it and what to do.
 */
export function readSession(file = sessionFile()): StoredSession | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new RollcallError("unauthenticated", `Cannot read the saved session in ${file} (${fileProblem(error)}): fix the file's permissions, or set ROLLCALL_SESSION_FILE to a file of yours and run \`rollcall login\``, { sessionFile: file, reason: "session_unreadable" });
  }
  let parsed: ReturnType<typeof storedSession.safeParse>;
  try {
    parsed = storedSession.safeParse(JSON.parse(text));
  } catch {
    throw corrupt(file, "it is not JSON");
  }
  if (!parsed.success) throw corrupt(file, `${parsed.error.issues.map((i) => i.path.join(".") || "its content").join(", ")} missing or wrong`);
  return parsed.data;
}

function corrupt(file: string, why: string): RollcallError {
  return new RollcallError("unauthenticated", `${file} does not hold a session \`rollcall login\` saved (${why}): run \`rollcall login\` to sign in again (it replaces the file), or \`rollcall logout\` to remove it`, { sessionFile: file, reason: "session_corrupt" });
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
