import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { projectModule, runScript } from "../support/node-script.ts";

// A server that builds its console on start (a fresh clone's `npm start`) must not keep Vite's memory.
describe("the console build", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollcall-console-build-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs in a process of its own, so the process that asked for it does not keep Vite's memory", () => {
    const outDir = join(dir, "dist");
    const script = `import { buildInChildProcess, consoleRoot } from ${projectModule("src/console/build.ts")};
      import { join } from "node:path";
      const before = process.memoryUsage().rss;
      await buildInChildProcess(join(consoleRoot, "vite.config.ts"), ${JSON.stringify(outDir)});
      console.log("grew", process.memoryUsage().rss - before);`;
    const run = runScript(script, 120_000);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(outDir, "index.html"))).toBe(true);
    expect(readdirSync(join(outDir, "assets")).some((f) => f.endsWith(".js"))).toBe(true);
    // Built in the asking process, Vite left it 125-135 MB larger; in a child process it grows by nothing.
    expect(Number(/grew (-?\d+)/.exec(run.stdout)![1]) / 1048576).toBeLessThan(50);
  }, 150_000);
});
