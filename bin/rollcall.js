#!/usr/bin/env node
// Runs the CLI from a bundle of the TypeScript sources, rebuilt whenever they change (cli-bundle.js), or
// directly through tsx where no bundle can be kept; either way `npm ci` is the only install step.
import { bundledCli } from "./cli-bundle.js";

const bundle = await bundledCli();
if (bundle) {
  // The embedded database's thread loads PGlite while the CLI's code loads (src/cli/head-start.ts).
  const { startDatabaseEarly } = await import(new URL("head-start.js", bundle).href);
  startDatabaseEarly(process.argv.slice(2), process.env);
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
