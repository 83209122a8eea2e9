import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { acquireDataDirLock, staleMs } from "../../src/storage/lock.ts";
import { pretendHeld } from "../support/data-dir-lock.ts";
import { createRequire } from "node:module";

/** proper-lockfile's file system (a dependency of it, resolved from here to the same copy). */
const gracefulFs = createRequire(import.meta.resolve("proper-lockfile"))("graceful-fs") as { stat: typeof import("node:fs").stat };

/** A pid no process has here: the kernel's limit is below it. */
const deadPid = 2 ** 22 + 7;

describe("the embedded database's data folder lock", () => {
  const root = mkdtempSync(join(tmpdir(), "rollcall-lock-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const folder = () => join(root, `data-${++n}`);
  const neverLost = (error: Error) => {
    throw error;
  };
  const refusal = (dataDir: string) => acquireDataDirLock(dataDir, "users", neverLost).then(() => undefined, (error: Error & { code?: string }) => error);

  it("is held against a second taker in this process until released", async () => {
    const dataDir = folder();
    const lock = await acquireDataDirLock(dataDir, "serve", neverLost);
    lock.update({ url: "http://127.0.0.1:3999" });
    const refused = await refusal(dataDir);
    expect(refused).toMatchObject({ code: "database_locked", message: expect.stringContaining(`in use by \`rollcall serve\` (pid ${process.pid} at http://127.0.0.1:3999)`) });
    await lock.release();
    expect(existsSync(join(dataDir, "rollcall.lock"))).toBe(false);
    await (await acquireDataDirLock(dataDir, "users", neverLost)).release();
  });

  it("holds against a holder in another container, whose pid means nothing here, as long as it touches the lock", async () => {
    const dataDir = folder();
    pretendHeld(dataDir, { pid: deadPid, command: "serve", startedAt: new Date().toISOString(), host: "rollcall-7f9c", pidNamespace: "pid:[4026532999]" });
    const refused = await refusal(dataDir);
    expect(refused).toMatchObject({ code: "database_locked" });
    expect(refused!.message).toContain(`(pid ${deadPid} on rollcall-7f9c)`);
    expect(refused!.message).toContain(`frees it within ${staleMs / 1000} seconds`);
  });

  it("takes over a lock its holder stopped touching, wherever the holder ran", async () => {
    const dataDir = folder();
    pretendHeld(dataDir, { pid: 1, command: "serve", startedAt: new Date().toISOString(), host: "rollcall-7f9c" }, staleMs + 5_000);
    const lock = await acquireDataDirLock(dataDir, "users", neverLost);
    await lock.release();
  });

  it("takes over at once the lock of a holder that died in this PID namespace (a kill -9, then a restart)", async () => {
    const dataDir = folder();
    const namespace = existsSync("/proc/self/ns/pid") ? readlinkSync("/proc/self/ns/pid") : undefined;
    pretendHeld(dataDir, { pid: deadPid, command: "serve", startedAt: new Date().toISOString(), host: hostname(), ...(namespace && { pidNamespace: namespace }) });
    const lock = await acquireDataDirLock(dataDir, "serve", neverLost);
    await lock.release();
  });

  it("names the setting when the folder cannot be used", async () => {
    const file = join(root, "a-file");
    writeFileSync(file, "");
    const refused = await refusal(join(file, "data"));
    expect(refused).toMatchObject({ code: "config_invalid", message: expect.stringMatching(/^Cannot use the data folder .*a-file\/data \(ROLLCALL_DATA_DIR\): .*Give a folder this process can write, or set DATABASE_URL\.$/) });
  });

  it("is not lost when released while its periodic check is in flight (a test's folder removed after close, a stop under load)", async () => {
    const dataDir = folder();
    const lost: Error[] = [];
    const lock = await acquireDataDirLock(dataDir, "serve", (error) => lost.push(error));
    // proper-lockfile checks the lock with graceful-fs's stat every few seconds; hold that check's answer back until
    // the lock is released, as a busy machine does.
    const stat = gracefulFs.stat;
    let checked!: () => void;
    const checking = new Promise<void>((resolve) => (checked = resolve));
    let released!: Promise<void>;
    gracefulFs.stat = ((path: string, callback: (...args: unknown[]) => void) => {
      if (!String(path).endsWith("rollcall.lock.d")) return stat(path, callback);
      gracefulFs.stat = stat;
      checked();
      void released.then(() => stat(path, (...args: unknown[]) => {
        callback(...args);
        checked();
      }));
    }) as typeof stat;
    try {
      released = checking.then(() => lock.release());
      await released;
      await new Promise<void>((resolve) => (checked = resolve));
    } finally {
      gracefulFs.stat = stat;
    }
    expect(lost).toEqual([]);
  }, 20_000);
});
