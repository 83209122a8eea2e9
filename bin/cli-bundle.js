// Where `rollcall` loads its code from. Loading src/ through tsx's loader costs every command about half a
// second more than loading one bundle of it, so the first run after a source file changed builds the bundle
// with esbuild (tsx's own compiler, about 0.3 s) into node_modules/.cache, keyed by the sources' names, sizes
// and times: an edited file is always picked up. Where the bundle cannot be built or stored (a read-only
// install), the CLI runs through tsx as before.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The URL to import the CLI (`root`/src/cli/main.ts) from: a fresh bundle's entry, or null to run the sources through tsx. */
export async function bundledCli(root = fileURLToPath(new URL("..", import.meta.url))) {
  try {
    const cache = join(root, "node_modules", ".cache", "rollcall-cli");
    const dir = join(cache, sourcesKey(root));
    if (!existsSync(join(dir, "main.js"))) await build(join(root, "src", "cli", "main.ts"), cache, dir);
    return pathToFileURL(join(dir, "main.js")).href;
  } catch {
    return null;
  }
}

function sourcesKey(root) {
  const hash = createHash("sha256").update(process.version);
  const add = (path) => {
    const { size, mtimeMs } = statSync(path, { throwIfNoEntry: false }) ?? {};
    hash.update(`${path}\0${size}\0${mtimeMs}\n`);
  };
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "dist" && entry.name !== "node_modules") walk(path);
      } else add(path);
    }
  };
  walk(join(root, "src"));
  add(join(root, "package.json"));
  add(join(root, "package-lock.json")); // an upgraded package bundled in (bundledPackages) must be bundled again
  add(join(root, "tsconfig.json"));
  return hash.digest("hex").slice(0, 20);
}

/** Builds into a folder of its own, then renames it into place: CLIs started at once never see half a bundle. */
async function build(entryPoint, cache, dir) {
  const { build } = await import("esbuild");
  const temporary = `${dir}.${process.pid}.tmp`;
  mkdirSync(cache, { recursive: true });
  try {
    await build({
      entryPoints: [entryPoint, ...[join(dirname(entryPoint), "head-start.ts")].filter((path) => existsSync(path))], outdir: temporary, bundle: true, splitting: true, format: "esm", platform: "node",
      target: `node${process.versions.node}`, logLevel: "silent", plugins: [externalPackages, keepImportMetaUrl],
    });
    renameSync(temporary, dir);
  } catch (error) {
    if (!existsSync(join(dir, "main.js"))) throw error; // another CLI built the same sources first
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  pruneOldBundles(cache, dir);
}

/**
 * Packages of many small ES modules, without files of their own to find at run time, go into the bundle: Node
 * loads each module of a package apart, and kysely's 262, zod's 95 and libphonenumber-js's 93 cost every command
 * about 0.2 s more than one bundled file. The others (CommonJS, or with files of their own such as PGlite's
 * WebAssembly) are imported from node_modules as before.
 */
const bundledPackages = new Set(["kysely", "zod", "libphonenumber-js", "jose", "uuid", "croner", "csv-parse"]);
const externalPackages = {
  name: "external-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      const parts = args.path.split("/");
      const name = args.path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
      return bundledPackages.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

// A source file finds its neighbours through import.meta.url (the console's files, the PGlite thread's
// script): each keeps its own file's URL in the bundle.
const keepImportMetaUrl = {
  name: "keep-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.[jt]sx?$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      return { contents: text.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)), loader: extname(args.path).slice(1) };
    });
  },
};

/** Bundles of older sources, a day after they were built: a `rollcall serve` started on one may still load its chunks. */
function pruneOldBundles(cache, current) {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    // Another CLI may be pruning the same folder: a bundle gone meanwhile is no error.
    const built = statSync(path, { throwIfNoEntry: false });
    if (path !== current && built && built.mtimeMs < dayAgo) rmSync(path, { recursive: true, force: true });
  }
}
