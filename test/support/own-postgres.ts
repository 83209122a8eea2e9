import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A PostgreSQL server of a test's own, in a temporary folder on a free port, for tests that stop and start it (the
 * shared one on 54329 serves other test files meanwhile). As root the server runs as the `postgres` user, as
 * scripts/test-postgres.sh does. `postgresBinaries` is undefined where PostgreSQL is not installed: skip then.
 */
export const postgresBinaries: string | undefined = (() => {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort((a, b) => Number(a) - Number(b)).at(-1);
  const bin = version && join(root, version, "bin");
  return bin && existsSync(join(bin, "pg_ctl")) ? bin : undefined;
})();

export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** Fast shutdown: the server ends every session (as a restart or a failover does) and stops listening. */
  stop(): void;
  start(): void;
  /**
   * SIGSTOP to the server and each of its processes: connections stay open and nothing answers, as with a server
   * that hangs or a network cut that resets nothing. `thaw` (SIGCONT) lets it go on.
   */
  freeze(): void;
  thaw(): void;
  /** Stops the server and removes its folder. */
  remove(): void;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBinaries;
  if (!bin) throw new Error("no PostgreSQL binaries in /usr/lib/postgresql");
  const asRoot = process.getuid?.() === 0;
  const folder = mkdtempSync(join(tmpdir(), "rollcall-own-pg-"));
  if (asRoot) chownSync(folder, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()), 0);
  const run = (tool: string, args: string[]) => {
    const [command, all] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
    execFileSync(command as string, all as string[], { stdio: ["ignore", "ignore", "pipe"] });
  };
  const data = join(folder, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync"]);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${folder} -c fsync=off -c max_connections=50`;
  const signalAll = (signal: NodeJS.Signals) => {
    const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(postmaster, signal); // first: a frozen postmaster starts no new backends meanwhile
    for (const child of childrenOf(postmaster)) {
      try {
        process.kill(child, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // it ended meanwhile (a session closing)
      }
    }
  };
  const server: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => run("pg_ctl", ["-D", data, "-l", join(folder, "server.log"), "-w", "-o", options, "start"]),
    stop: () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]),
    freeze: () => signalAll("SIGSTOP"),
    thaw: () => signalAll("SIGCONT"),
    remove() {
      try {
        server.thaw();
      } catch {
        // not running
      }
      try {
        server.stop();
      } catch {
        // already stopped
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
  server.start();
  return server;
}

function childrenOf(pid: number): number[] {
  let output = "";
  try {
    output = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  } catch {
    // ps exits 1 when there are none
  }
  return output.split("\n").map((line) => Number(line.trim())).filter((child) => child > 0);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
