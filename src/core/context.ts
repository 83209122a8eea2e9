import type { Db } from "../storage/database.ts";
import type { Workspace } from "./workspaces.ts";
import { RollcallError, type FieldProblem } from "../errors.ts";
import type { z } from "zod";

/** What every workspace operation needs: the database, the workspace, and who is acting (for the change log). */
export interface WorkspaceContext {
  db: Db;
  workspace: Workspace;
  actor: string;
}

export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("") || "(body)",
    message: issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message,
  }));
}

/** Translate a unique-index violation that slipped past our own checks (a race) into a clear conflict. */
export function translateDatabaseError(error: unknown): never {
  const code = (error as { code?: string }).code;
  if (code === "23505") {
    const constraint = (error as { constraint?: string }).constraint ?? String((error as Error).message);
    const field = /email/.test(constraint) ? "email" : /upn/.test(constraint) ? "userPrincipalName" : /name/.test(constraint) ? "name" : "value";
    throw new RollcallError("conflict", `${field} is already used by another record (changed at the same time?); try again`, { field });
  }
  throw error;
}
