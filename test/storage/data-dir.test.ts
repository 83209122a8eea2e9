import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
});
