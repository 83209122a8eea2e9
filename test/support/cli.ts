import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const bin = fileURLToPath(new URL("../../bin/rollcall.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

/** Run the real `rollcall` binary as a user would, with the given environment on top of ours. */
export function runCli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, ROLLCALL_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout is not one JSON document:\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      }),
    );
  });
}

export interface RunningRollcall {
  child: ChildProcess;
  /** Everything written to standard error so far. */
  stderr(): string;
  stdout(): string;
  exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();

/** Start the real `rollcall` binary without waiting for it (to follow it, or kill it mid-way). */
export function startCli(args: string[], env: Record<string, string | undefined>): RunningRollcall {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ROLLCALL_LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    started.delete(child);
    resolve(code);
  }));
  return { child, stderr: () => stderr, stdout: () => stdout, exited };
}

/** `rollcall serve` on a free port; resolves with its URL once it serves. */
export async function startServe(env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<RunningRollcall & { url: string }> {
  const server = startCli(["serve"], { ROLLCALL_PORT: "0", ROLLCALL_HOST: "127.0.0.1", ...env });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const url = /Rollcall is serving (http:\/\/\S+) /.exec(server.stderr())?.[1];
    if (url) return { ...server, url };
    if (server.child.exitCode !== null || Date.now() > deadline) {
      server.child.kill("SIGKILL");
      throw new Error(`rollcall serve did not start: ${server.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILL every process started here that is still running (for afterAll/afterEach, even after a failure). */
export async function killStarted(): Promise<void> {
  const waits = [...started].map((child) => new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGKILL");
  }));
  await Promise.all(waits);
}

/** Runs the CLI with a pseudo-terminal on its standard streams (util-linux `script`), as an admin's shell would. */
export function underTerminal(args: string[], env: Record<string, string | undefined>, typed?: string): Promise<{ code: number; output: string }> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, bin, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    // `typed` is what a person types at the terminal; standard input stays open until the command ends, as a terminal's does.
    const child = spawn("script", ["-qec", command, "/dev/null"], { env: { ...process.env, ...env, COLUMNS: "120" }, stdio: [typed === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    if (typed !== undefined) child.stdin!.write(typed);
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

/** cli-progress redraws in place: the import's frames of "phase [step] |bar| percent | rows", in order. */
export function importProgressFrames(output: string): { phase: string; step: string; percent: number; rows: number }[] {
  return [...output.matchAll(/(reading|checking|hashing|planning|applying)((?: [a-z]+)*)\s*\|[█░]+\| (\d+)% \| (\d+) rows/g)].map(([, phase, step, percent, rows]) => ({
    phase: phase!,
    step: step!.trim(),
    percent: Number(percent),
    rows: Number(rows),
  }));
}
