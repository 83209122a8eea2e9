import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { bundledCli } from "../../bin/cli-bundle.js";

/** `rollcall` runs from a bundle of src/ (bin/cli-bundle.js): it must never run sources older than those on disk. */
describe("the CLI's bundle", () => {
  const root = mkdtempSync(join(tmpdir(), "rollcall-bundle-"));
  const main = join(root, "src", "cli", "main.ts");
  const where = join(root, "src", "core", "where.ts");
  mkdirSync(join(root, "src", "cli"), { recursive: true });
  mkdirSync(join(root, "src", "core"));
  writeFileSync(join(root, "package.json"), `{"type": "module"}`);
  writeFileSync(where, `export const where: string = import.meta.url;\n`);
  const writeMain = (said: string) => writeFileSync(main, `export { where } from "../core/where.ts";\nexport const said: string = ${JSON.stringify(said)};\n`);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("is built once, rebuilt when a source changes, and keeps each file's own import.meta.url", async () => {
    writeMain("one");
    const first = await bundledCli(root);
    expect(first).toMatch(/\/node_modules\/\.cache\/rollcall-cli\/[0-9a-f]+\/main\.js$/);
    expect(await import(first!)).toMatchObject({ said: "one", where: pathToFileURL(where).href });
    expect(await bundledCli(root)).toBe(first);

    writeMain("two, from an edited file");
    const [second, third] = await Promise.all([bundledCli(root), bundledCli(root)]); // two CLIs started at once
    expect(second).not.toBe(first);
    expect(third).toBe(second);
    expect(await import(second!)).toMatchObject({ said: "two, from an edited file" });
    expect(readdirSync(join(root, "node_modules", ".cache", "rollcall-cli")).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("gives way to tsx (null) when the sources do not build, so that tsx reports the error", async () => {
    writeFileSync(main, `export const said = ;\n`);
    expect(await bundledCli(root)).toBeNull();
  });
});
