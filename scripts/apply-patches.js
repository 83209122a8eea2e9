#!/usr/bin/env node
// `postinstall`: applies patches/ (see patches/README.md) to this project's own node_modules: a clone, CI, a
// deployment. Installed as a dependency of another project, Rollcall's dependencies are hoisted into that
// project's node_modules, which are not Rollcall's to patch: nothing is done, and the patched libraries run
// as published (correct, only slower).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (!existsSync(`${root}node_modules/libphonenumber-js/package.json`)) process.exit(0);
const patchPackage = createRequire(import.meta.url).resolve("patch-package");
const { status } = spawnSync(process.execPath, [patchPackage, "--error-on-fail"], { cwd: root, stdio: "inherit" });
process.exit(status ?? 1);
