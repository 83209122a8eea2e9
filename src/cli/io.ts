import { Command, Option } from "commander";
import { loadConfig } from "../config.ts";
import { RollcallError, toRollcallError } from "../errors.ts";
import { openRuntime, type Runtime } from "../runtime.ts";
import { resolveWorkspace, type Workspace } from "../core/workspaces.ts";
import type { WorkspaceContext } from "../core/context.ts";

/**
 * The thin CLI layer: every command parses flags, opens the runtime, calls the core, and prints
 * either a human summary or (with --json) exactly one JSON document on standard output.
 * Errors go to standard error, and the exit code is non-zero whenever the command did not do what was asked.
 */
export interface GlobalOptions {
  json?: boolean;
  workspace?: string;
}

export function withJson(command: Command): Command {
  return command.addOption(new Option("--json", "print one JSON document on standard output"));
}

export function withWorkspace(command: Command): Command {
  return command.addOption(new Option("-w, --workspace <name>", "workspace name or id").default("default"));
}

/** Standard options for a command acting on one workspace. */
export function workspaceCommand(name: string, description: string): Command {
  return withJson(withWorkspace(new Command(name).description(description)));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function printError(error: RollcallError, json: boolean | undefined): void {
  if (json) {
    process.stderr.write(JSON.stringify({ error: error.toJSON() }) + "\n");
    return;
  }
  process.stderr.write(`error [${error.code}]: ${error.message}\n`);
  const fields = error.details.fields as { field: string; message: string }[] | undefined;
  if (fields && fields.length > 1) for (const f of fields) process.stderr.write(`  - ${f.field}: ${f.message}\n`);
}

/** Run a command body with an open runtime; closes it and maps errors to output and exit codes. */
export async function run<T>(
  options: GlobalOptions,
  body: (rt: Runtime) => Promise<T>,
  present: { human: (value: T) => string; json?: (value: T) => unknown; ok?: (value: T) => boolean },
  command = "cli",
): Promise<void> {
  let runtime: Runtime | undefined;
  try {
    runtime = await openRuntime(loadConfig(), { command });
    const value = await body(runtime);
    if (options.json) printJson(present.json ? present.json(value) : value);
    else {
      const text = present.human(value);
      if (text) process.stdout.write(text.endsWith("\n") ? text : text + "\n");
    }
    if (present.ok && !present.ok(value)) process.exitCode = 1;
  } catch (error) {
    const rollcallError = toRollcallError(error);
    printError(rollcallError, options.json);
    if (rollcallError.code === "internal" && process.env.ROLLCALL_DEBUG) console.error(error);
    process.exitCode = exitCodeFor(rollcallError);
  } finally {
    await runtime?.close();
  }
}

export async function workspaceContext(rt: Runtime, options: GlobalOptions, actor = "cli"): Promise<WorkspaceContext & { workspace: Workspace }> {
  const workspace = await resolveWorkspace(rt.store.db, options.workspace ?? "default");
  return { db: rt.store.db, workspace, actor };
}

function exitCodeFor(error: RollcallError): number {
  if (error.code === "invalid_input" || error.code === "config_invalid") return 2;
  if (error.code === "not_found") return 3;
  if (error.code === "conflict") return 4;
  return 1;
}

/** Commander collects a repeatable flag into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A small aligned table for human output. */
export function table(rows: object[], columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((row) => columns.map((c) => formatCell((row as Record<string, unknown>)[c])));
  const widths = columns.map((c, i) => Math.min(48, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  const line = (values: string[]) => values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
