import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin } from "../support/cli.ts";
import { freshDataFolder } from "../support/db.ts";

/**
 * `rollcall` in a mount namespace of its own (as root: `unshare -m`), where `setup` makes its data folder read-only
 * or puts it on a small or full disk, without touching the machine's mounts.
 */
function rollcallIn(setup: string, dataDir: string, args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_LOG_LEVEL: "warn", ROLLCALL_PORT: "0" };
  delete env.DATABASE_URL;
  delete env.ROLLCALL_SECRET_KEY;
  return spawnSync("unshare", ["-m", "sh", "-ec", `${setup}\nexec "$@"`, "sh", process.execPath, bin, ...args], { env, encoding: "utf8", timeout: 120_000 });
}

const scratch = mkdtempSync(join(tmpdir(), "rollcall-data-dir-"));
const canMount = process.getuid?.() === 0 && spawnSync("unshare", ["-m", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", scratch]).status === 0;

/** The embedded database's folder cannot be written: the process says why and what to do at start, with no stack. */
describe.skipIf(!canMount)("a data folder that cannot be written", () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const expectRefusal = (result: ReturnType<typeof rollcallIn>, problem: string, todo: string) => {
    expect(result.status, result.stderr).toBe(2);
    const error = JSON.parse(result.stderr.trim().split("\n").at(-1)!).error;
    expect(error).toMatchObject({ code: "config_invalid", message: expect.stringContaining(`(ROLLCALL_DATA_DIR): ${problem}. ${todo}`) });
    expect(result.stderr).not.toMatch(/\n\s+at /);
  };

  it("read-only: `rollcall serve` refuses to start, saying the file system is read-only", () => {
    const dataDir = freshDataFolder("rollcall-read-only-");
    try {
      const result = rollcallIn(`mount --bind "${dataDir}" "${dataDir}"; mount -o remount,bind,ro "${dataDir}"`, dataDir, ["serve"]);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain(`error [config_invalid]: Cannot use the data folder ${dataDir} (ROLLCALL_DATA_DIR): the file system is read-only. Mount it writable`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("on a full disk: a command refuses at start, saying the disk is full", () => {
    const disk = join(scratch, "full");
    mkdirSync(disk, { recursive: true });
    const result = rollcallIn(`mount -t tmpfs -o size=2m tmpfs "${disk}"; cat /dev/zero > "${disk}/filler" 2>/dev/null || true`, join(disk, "data"), ["users", "list", "--json"]);
    expectRefusal(result, "the disk is full", "Free some space on its disk");
  });

  it("on a disk with too little room for a new database: the embedded database's own write failure says the disk is full", () => {
    const disk = join(scratch, "small");
    mkdirSync(disk, { recursive: true });
    const result = rollcallIn(`mount -t tmpfs -o size=3m tmpfs "${disk}"`, join(disk, "data"), ["users", "list", "--json"]);
    expectRefusal(result, "the disk is full", "Free some space on its disk");
  });

  it("a new database the disk filled up under is removed, only it: the next start with space creates it; an existing one on a full disk is kept", { timeout: 300_000 }, () => {
    const disk = join(scratch, "filling");
    const out = mkdtempSync(join(tmpdir(), "rollcall-filling-"));
    mkdirSync(disk, { recursive: true });
    // One mount namespace for every start, so that the disk outlives each. A database's size is measured first, then
    // a new one is created on a disk with room for half of it (initdb fails) and for all but 1 MB (its tables fail).
    const script = `
      node="$1"; bin="$2"; out="$3"; disk="$4"
      start() { ROLLCALL_DATA_DIR="$disk/$1" "$node" "$bin" users list --json >/dev/null 2>"$out/$2.err"; echo "$2 $? $(test -e "$disk/$1/pgdata" && echo pgdata || echo none)"; }
      mount -t tmpfs -o size=256m tmpfs "$disk"
      start measure measure
      need=$(du -sk "$disk/measure" | cut -f1); rm -rf "$disk/measure"
      for room in $((need / 2)) $((need - 1024)); do
        mount -o remount,size="$room"k "$disk"
        start new "full-$room"
        mount -o remount,size=256m "$disk"
        start new "again-$room"
        rm -rf "$disk/new"
      done
      start old created
      cat /dev/zero > "$disk/filler" 2>/dev/null || true
      start old old-full
      rm "$disk/filler"
      start old old-again
    `;
    const env: NodeJS.ProcessEnv = { ...process.env, ROLLCALL_LOG_LEVEL: "warn" };
    delete env.DATABASE_URL;
    delete env.ROLLCALL_SECRET_KEY;
    try {
      const result = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", process.execPath, bin, out, disk], { env, encoding: "utf8", timeout: 300_000 });
      const starts = result.stdout.trim().split("\n").map((line) => line.split(" "));
      const error = (name: string) => readFileSync(join(out, `${name}.err`), "utf8");
      expect(starts.map(([name, status, pgdata]) => [name!.replace(/\d+$/, "N"), status, pgdata]), result.stderr).toEqual([
        ["measure", "0", "pgdata"],
        ["full-N", "2", "none"],
        ["again-N", "0", "pgdata"],
        ["full-N", "2", "none"],
        ["again-N", "0", "pgdata"],
        ["created", "0", "pgdata"],
        ["old-full", "2", "pgdata"],
        ["old-again", "0", "pgdata"],
      ]);
      for (const [name] of starts.filter(([name]) => name!.startsWith("full-") || name === "old-full")) {
        expect(error(name!)).toContain("(ROLLCALL_DATA_DIR): the disk is full. Free some space on its disk");
        expect(error(name!)).not.toMatch(/\n\s+at /);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
