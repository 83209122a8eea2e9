// Builds the console with Vite in a process of its own (see build.ts): `node vite-build.js CONFIG OUTDIR`.
// Plain JavaScript, so it starts without a TypeScript loader; Vite reads vite.config.ts itself.
import { build } from "vite";

const [configFile, outDir] = process.argv.slice(2);
// Vite and the React plugin read NODE_ENV; a test runner sets it to "test", which would ship React's
// development build.
process.env.NODE_ENV = "production";
await build({ configFile, mode: "production", logLevel: "warn", build: { outDir, emptyOutDir: true } });
