import { RollcallError, invalidInput, type FieldProblem } from "../errors.ts";

/** The field problems `check` refuses with (invalid_input), or none; any other error is thrown on. */
export async function fieldProblemsOf(check: () => unknown): Promise<FieldProblem[]> {
  try {
    await check();
    return [];
  } catch (error) {
    if (error instanceof RollcallError && error.code === "invalid_input") return (error.details.fields as FieldProblem[] | undefined) ?? [{ field: "(body)", message: error.message }];
    throw error;
  }
}

/**
 * A name another source has, as a field problem beside others (one answer says them all); alone it stays the 409
 * conflict it is. `nameCheck` is assertFreeName's call.
 */
export async function nameProblems(nameCheck: () => Promise<void>): Promise<{ problems: FieldProblem[]; conflict?: RollcallError }> {
  try {
    return { problems: await fieldProblemsOf(nameCheck) };
  } catch (error) {
    if (!(error instanceof RollcallError && error.code === "conflict")) throw error;
    return { problems: [{ field: "name", message: `is taken: ${error.message}` }], conflict: error };
  }
}

/** Refuses with every problem at once: the name conflict alone stays a 409. */
export function refuseAll(problems: FieldProblem[], conflict: RollcallError | undefined): void {
  if (problems.length === 0) return;
  if (conflict && problems.length === 1) throw conflict;
  throw invalidInput(problems);
}

/** The top-level key a problem's field is under ("mapping.email" → "mapping"). */
export const topKey = (field: string): string => field.split(/[.[]/)[0]!;

/** `raw` without the keys `refused` has problems at: what the checks after a refused parse look at. */
export function withoutRefused(raw: Record<string, unknown>, refused: FieldProblem[]): Record<string, unknown> {
  const keys = new Set(refused.map((p) => topKey(p.field)));
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !keys.has(key)));
}

/** `problems` but those at a field `said` already has one at (its own, or its key's). */
export function notSaidYet(problems: FieldProblem[], said: FieldProblem[]): FieldProblem[] {
  const fields = new Set(said.flatMap((p) => [p.field, topKey(p.field)]));
  return problems.filter((p) => !fields.has(p.field) && !fields.has(topKey(p.field)));
}
