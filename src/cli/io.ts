import { Writable } from "node:stream";
import { Command, InvalidArgumentError, Option } from "commander";
import { cliEnv, loadConfig } from "../config.ts";
import { RollcallError, toRollcallError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type { Workspace } from "../core/workspaces.ts";
import type { WorkspaceContext } from "../core/context.ts";
import { apiClient, serverFrom } from "./api-client.ts";
import type { Directory } from "./directory.ts";
import type { Workspaces } from "./workspaces.ts";
import { jsonPieces } from "./json-stream.ts";
import { printError } from "./print-error.ts";
import { bulkCommands, isBulkCommandLine } from "./bulk-commands.ts";
import { localActor } from "./local-actor.ts";

export { noteFlagsOf, printError } from "./print-error.ts";

/**
 * The thin CLI layer: every command parses flags, calls the core (or, for directory commands given a
 * server, its API), and prints either a human summary or (with --json) exactly one JSON document on
 * standard output. Errors go to standard error, and the exit code is non-zero whenever the command did
 * not do what was asked.
 */
export interface GlobalOptions {
  json?: boolean;
  workspace?: string;
  server?: string;
}

/** Commands that may run while a server is set (--server / ROLLCALL_SERVER); all others need the local database. */
const worksThroughServer = new WeakSet<Command>();

export function withServer(command: Command): Command {
  worksThroughServer.add(command);
  return command.addOption(new Option("--server <url>", "work through this Rollcall server's API (as signed in with rollcall login) instead of the local database; default ROLLCALL_SERVER"));
}

/** Marks a command that needs no database at all (so it runs whether or not a server is set). */
export function needsNoDatabase(command: Command): Command {
  worksThroughServer.add(command);
  return command;
}

/** Before any command runs: one that only works on the local database refuses clearly when a server is set. */
export function refuseLocalOnlyWhenServerSet(command: Command): void {
  const options = command.opts() as GlobalOptions;
  let server: string | undefined;
  try {
    server = serverFrom(options.server);
  } catch (error) {
    const rollcallError = toRollcallError(error);
    printError(rollcallError, options.json);
    process.exit(exitCodeFor(rollcallError));
  }
  if (!server || worksThroughServer.has(command)) return;
  const path: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) path.unshift(c.name());
  printError(
    new RollcallError(
      "invalid_input",
      `\`rollcall ${path.join(" ")}\` works on this machine's database only and cannot go through a Rollcall server, but ROLLCALL_SERVER is set (${server}); unset it to run this command here`,
      { server },
    ),
    options.json,
  );
  process.exit(2);
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

/** A command on one workspace's directory: locally, or through a server's API (see runOn). */
export function directoryCommand(name: string, description: string): Command {
  return withServer(workspaceCommand(name, description));
}

/** A command that destroys a lot: asks first on a terminal, unless --yes; a script (no terminal) is not asked. */
export function withConfirmation(command: Command): Command {
  return command.option("-y, --yes", "do not ask for confirmation on a terminal");
}

/**
 * Asks `question` on the terminal and goes on only on "y" or "yes". Scripts are never asked (standard input or
 * error is not a terminal), so `rollcall … remove` in a pipeline or a cron job works as it always did.
 */
export async function confirm(options: { yes?: boolean }, question: () => Promise<string> | string): Promise<void> {
  if (options.yes || !process.stdin.isTTY || !process.stderr.isTTY) return;
  const text = await question();
  const { createInterface } = await import("node:readline/promises");
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await terminal.question(`${text} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new Declined();
  } finally {
    terminal.close();
  }
}

/** The person said no at confirm(): nothing was done, and the command says so. */
class Declined extends Error {}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/**
 * Prints `value` as printJson does, with any list of Pages in it written page by page as it is read (json-stream.ts):
 * each page waits for standard output to take the one before, so a whole directory is never held at once.
 */
async function printJsonDocument(value: unknown): Promise<void> {
  for await (const piece of jsonPieces(value)) {
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(piece, (error) => (error ? reject((error as NodeJS.ErrnoException).code === "EPIPE" ? new ReaderGone() : error) : resolve())),
    );
  }
}

/** Prints what `body` answers (human or JSON) or the error it throws, and sets the exit code. */
export async function output<T>(
  options: GlobalOptions,
  body: () => Promise<T>,
  present: { human: (value: T) => string | Promise<string>; json?: (value: T) => unknown; ok?: (value: T) => boolean },
): Promise<void> {
  try {
    const value = await body();
    if (options.json) await printJsonDocument(present.json ? present.json(value) : value);
    else {
      const text = await present.human(value);
      if (text) process.stdout.write(text.endsWith("\n") ? text : text + "\n");
    }
    if (present.ok && !present.ok(value)) process.exitCode = 1;
  } catch (error) {
    if (error instanceof ReaderGone) return;
    if (error instanceof Declined) {
      process.stderr.write("Nothing was changed.\n");
      process.exitCode = 1;
      return;
    }
    const rollcallError = toRollcallError(error);
    printError(rollcallError, options.json);
    if (rollcallError.code === "internal" && cliEnv().debug) console.error(error);
    process.exitCode = exitCodeFor(rollcallError);
  }
}

type Present<T> = Parameters<typeof output<T>>[2];

/** Run a command body with an open runtime (the local database); closes it and maps errors to output and exit codes. */
export async function run<T>(options: GlobalOptions, body: (rt: Runtime) => Promise<T>, present: Present<T>, command = "cli"): Promise<void> {
  let runtime: Runtime | undefined;
  try {
    await output(options, async () => body((runtime = await (await import("../runtime.ts")).openRuntime(loadConfig(), { command, brief: !bulkCommands.has(command) && !isBulkCommandLine(process.argv.slice(2)) }))), present);
  } finally {
    await runtime?.close();
  }
}

/** Run a command body on the workspace's directory: the server's API when one is set, else the local database. */
export async function runOn<T>(options: GlobalOptions, body: (directory: Directory) => Promise<T>, present: Present<T>, command = "cli"): Promise<void> {
  const server = serverFrom(options.server);
  if (server) return output(options, async () => body((await import("./remote-directory.ts")).remoteDirectory(apiClient(server), options.workspace ?? "default")), present);
  return run(options, async (rt) => body((await import("./directory.ts")).localDirectory(rt, await workspaceContext(rt, options))), present, command);
}

/** Run a command body on the workspaces: the server's (those the caller may use) when one is set, else the local database's. */
export async function runOnWorkspaces<T>(options: GlobalOptions, body: (workspaces: Workspaces) => Promise<T>, present: Present<T>): Promise<void> {
  const server = serverFrom(options.server);
  const { localWorkspaces, remoteWorkspaces } = await import("./workspaces.ts");
  if (server) return output(options, async () => body(remoteWorkspaces(apiClient(server))), present);
  return run(options, async (rt) => body(localWorkspaces(rt)), present);
}

export async function workspaceContext(rt: Runtime, options: GlobalOptions, actor = localActor()): Promise<WorkspaceContext & { workspace: Workspace }> {
  const workspace = await (await import("../core/workspaces.ts")).resolveWorkspace(rt.store.db, options.workspace ?? "default");
  return { db: rt.store.db, workspace, actor };
}

export function exitCodeFor(error: RollcallError): number {
  if (error.code === "invalid_input" || error.code === "config_invalid") return 2;
  if (error.code === "not_found") return 3;
  if (error.code === "conflict" || error.code === "import_preview_changed") return 4;
  return 1;
}

/** A command the output suggests next, ready to paste: in the same workspace, a name with spaces quoted. */
export function suggest(args: string[], workspace: string | undefined): string {
  const words = ["rollcall", ...args, ...(workspace && workspace !== "default" ? ["--workspace", workspace] : [])];
  return `\`${words.map(shellWord).join(" ")}\``;
}

/** `word` as one shell word: quoted unless it is plain. */
export const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/** An update given no flag to change: refused, rather than answered "updated" with nothing changed. */
export function nothingToChange(command: string, example: string): RollcallError {
  return new RollcallError("invalid_input", `Nothing to change: give at least one setting, e.g. ${example} (\`rollcall ${command} --help\` lists them)`, { reason: "nothing_to_change" });
}

/** Commander collects a repeatable flag into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A small aligned table for human output; `empty` says what an empty list means, and what to do about it. */
export function table(rows: object[], columns: string[], empty: string): string {
  if (rows.length === 0) return empty;
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

/** Parses a count option (--limit): a whole number of at least 1, or commander reports the option and the value. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("It must be a whole number of at least 1.");
  return n;
}

/**
 * Standard output as a stream a file writer may end: writes go through (each waits for its turn), ending leaves
 * process.stdout open. A reader that goes away (`| head`) stops the writer with ReaderGone.
 */
export function standardOutput(): Writable {
  const ignore = () => {};
  process.stdout.on("error", ignore); // also delivered to the write's callback below
  return new Writable({
    write: (chunk, _encoding, done) =>
      void process.stdout.write(chunk, (error) => done(error && (error as NodeJS.ErrnoException).code === "EPIPE" ? new ReaderGone() : (error ?? null))),
    final: (done) => {
      process.stdout.off("error", ignore);
      done();
    },
  });
}

/** Standard output's reader went away (`rollcall export --out - | head`): the command stops, quietly and successfully, as `git log | head` does. */
class ReaderGone extends Error {}
