import { isUniqueViolation, type Db } from "../storage/database.ts";
import type { Workspace } from "./workspaces.ts";
import { RollcallError, type FieldProblem } from "../errors.ts";
import { z } from "zod";

/** What every workspace operation needs: the database, the workspace, and who is acting (for the change log). */
export interface WorkspaceContext {
  db: Db;
  workspace: Workspace;
  actor: string;
}

export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("") || "(body)",
    message: issueMessage(issue),
  }));
}

/** A body's problems: each unknown key against its own name ("is not a known field"), so a client shows it at the field. */
export function bodyProblems(error: z.ZodError): FieldProblem[] {
  const unknown = error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys" ? issue.keys.map((key) => ({ field: [...issue.path, key].join("."), message: "is not a known field" })) : [],
  );
  return [...zodProblems(new z.ZodError(error.issues.filter((issue) => issue.code !== "unrecognized_keys"))), ...unknown];
}

/** Our own messages as written; zod's defaults ("Invalid option: expected one of …") in the words of ours. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field(s): ${issue.keys.join(", ")}`;
  if (issue.code === "invalid_key") return issue.issues[0]?.message ?? issue.message;
  if (issue.code === "invalid_value" && /^Invalid (option|input)/.test(issue.message)) {
    const values = issue.values.map((v) => JSON.stringify(v));
    return values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
  }
  // zod's own words for a limit ("Too big: expected string to have <=256 characters"); a message of ours is kept.
  if ((issue.code === "too_big" || issue.code === "too_small") && /^Too (big|small):/.test(issue.message)) {
    const big = issue.code === "too_big";
    const limit = Number(big ? issue.maximum : issue.minimum);
    const bound = big ? "at most" : "at least";
    if (issue.origin === "string") return limit === 1 && !big ? "must not be empty" : `must be ${bound} ${limit} character${limit === 1 ? "" : "s"} long`;
    if (issue.origin === "array" || issue.origin === "set") return `must have ${bound} ${limit} entr${limit === 1 ? "y" : "ies"}`;
    return `must be ${bound} ${limit}`;
  }
  // A union of a type and its spelling in a form field (true, or "true"): the first branch says what is wanted.
  if (issue.code === "invalid_union" && issue.message === "Invalid input") {
    const first = issue.errors[0]?.[0];
    if (first) return issueMessage(first);
  }
  if (issue.code === "invalid_type" && issue.message.startsWith("Invalid input:")) {
    if (issue.message.endsWith("received undefined")) return "is required";
    return `must be ${issue.expected === "array" ? "a list" : issue.expected === "object" ? "an object" : issue.expected === "boolean" ? "true or false" : `a ${issue.expected}`}`;
  }
  return issue.message;
}

/** The unique indexes a race can hit, by the field the admin knows and what holds it. */
const uniqueKeys: Record<string, { field: string; label: string; holder: string }> = {
  users_email_key: { field: "email", label: "email", holder: "user" },
  users_upn_key: { field: "userPrincipalName", label: "userPrincipalName", holder: "user" },
  user_identifiers_pkey: { field: "cardNumbers", label: "card number or alias", holder: "user" },
  groups_name_key: { field: "name", label: "group name", holder: "group" },
  sources_name_key: { field: "name", label: "source name", holder: "source" },
  workspaces_name_key: { field: "name", label: "workspace name", holder: "workspace" },
};

/** Translate a unique-index violation that slipped past our own checks (a race) into a clear conflict. */
export function translateDatabaseError(error: unknown): never {
  if (isUniqueViolation(error)) {
    const constraint = (error as { constraint?: string }).constraint ?? String((error as Error).message);
    const key = uniqueKeys[constraint];
    const field = key?.field ?? (/email/.test(constraint) ? "email" : /upn/.test(constraint) ? "userPrincipalName" : /name/.test(constraint) ? "name" : "value");
    const what = key ? `This ${key.label} is already another ${key.holder}'s` : `${field} is already used by another record`;
    throw new RollcallError("conflict", `${what} (changed at the same time?); try again`, { field });
  }
  throw error;
}
