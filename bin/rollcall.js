#!/usr/bin/env node
// Runs the CLI from a bundle of the TypeScript sources, rebuilt whenever they change (cli-bundle.js), or
// directly through tsx where no bundle can be kept; either way `npm ci` is the only install step.
import { bundledCli } from "./cli-bundle.js";

const bundle = await bundledCli();
if (bundle) await import(bundle);
else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
