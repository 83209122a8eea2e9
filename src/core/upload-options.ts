import { RollcallError } from "../errors.ts";

/**
 * The options an upload is previewed and committed with. An upload remembers those of its latest preview (the
 * upload's own answer is its first): a commit that gives none applies exactly what the admin was last shown, and
 * one that gives options the preview did not run with is refused, to be previewed first. Refusing, rather than
 * committing the options given, means nothing is ever written that nobody saw as a preview: a script that changes
 * an option between preview and commit, or two admins previewing one upload differently, find out before anything
 * is imported.
 */
export interface UploadOptions {
  sheet?: string | undefined;
  source?: string | undefined;
  partial: boolean;
  updateExisting: boolean;
  mapping?: Record<string, string | null> | undefined;
  encoding?: string | undefined;
}

const optionNames = ["sheet", "source", "partial", "updateExisting", "mapping", "encoding"] as const satisfies readonly (keyof UploadOptions)[];

/** The options as compared and remembered: an empty mapping is no mapping, and a mapping's columns are in order. Pure. */
function canonical(options: UploadOptions, name: (typeof optionNames)[number]): string | undefined {
  const value = options[name];
  if (name === "mapping") {
    const entries = Object.entries(options.mapping ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length ? JSON.stringify(entries) : undefined;
  }
  return value === undefined ? undefined : JSON.stringify(value);
}

/** The names of the options on which `a` and `b` differ. Pure. */
export function differingOptions(a: UploadOptions, b: UploadOptions): string[] {
  return optionNames.filter((name) => canonical(a, name) !== canonical(b, name));
}

/**
 * The options a commit applies: the latest preview's, unless the commit gives options that differ from them, which
 * is refused (409 import_preview_changed) naming them. `given` is what the commit's options come to over the
 * preview's (so that repeating the preview's options, or some of them, is fine).
 */
export function commitOptions(previewed: UploadOptions, given: UploadOptions): UploadOptions {
  const differing = differingOptions(previewed, given);
  if (differing.length === 0) return previewed;
  const shown = (options: UploadOptions) => Object.fromEntries(differing.map((name) => [name, options[name as keyof UploadOptions] ?? null]));
  throw new RollcallError(
    "import_preview_changed",
    `This commit's ${differing.join(", ")} ${differing.length === 1 ? "differs" : "differ"} from the latest preview of the upload (${describe(shown(previewed))}, here ${describe(shown(given))}): preview it again with these options to see what they do, then commit (a commit without options applies the latest preview's)`,
    { differing, previewed: shown(previewed), given: shown(given) },
  );
}

function describe(options: Record<string, unknown>): string {
  return Object.entries(options)
    .map(([name, value]) => `${name} ${value === null ? "not set" : JSON.stringify(value)}`)
    .join(", ");
}
