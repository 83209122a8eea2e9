import type { Command } from "commander";
import type { RollcallError } from "../errors.ts";

// Apart from io.ts: `rollcall --version` and the root's `--help` load only these and the commands' list.

/** The running command's flags by the field each sets ("displayName" → "--display-name"), so an error names what was typed. */
const flagOfField = new Map<string, string>();

export function noteFlagsOf(command: Command): void {
  for (const option of command.options) {
    // --login-url rather than its --no-login-url, whichever commander lists first.
    if (option.long && !(option.negate && flagOfField.has(option.attributeName()))) flagOfField.set(option.attributeName(), option.long);
  }
}

export function printError(error: RollcallError, json: boolean | undefined): void {
  if (json) {
    process.stderr.write(JSON.stringify({ error: error.toJSON() }) + "\n");
    return;
  }
  const fields = (error.details.fields as { field: string; message: string }[] | undefined) ?? [];
  const line = (f: { field: string; message: string }) => `${flagOfField.get(f.field) ?? f.field}: ${f.message}`;
  // A message that only joins its fields' problems is said again in the flags' names; several, one per line.
  const joined = fields.length > 0 && error.message === fields.map((f) => `${f.field}: ${f.message}`).join("; ");
  const message = joined ? (fields.length === 1 ? line(fields[0]!) : `${fields.length} problems:`) : error.message;
  process.stderr.write(`error [${error.code}]: ${message}\n`);
  if (fields.length > 1) for (const f of fields) process.stderr.write(`  - ${line(f)}\n`);
}
