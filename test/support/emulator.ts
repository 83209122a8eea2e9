import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/index.ts";
import { trustExtraCa } from "../../src/net/http.ts";

/**
 * `folder` (made if missing) holding the run's emulator CA, server certificate and token signing keys
 * (global-setup.ts), which the emulator reuses as it reuses its own from an earlier start: each start then skips
 * making four RSA keys and three certificates (about 0.6 s of CPU). Outside vitest (test/console/screenshots.ts) the
 * folder is left as it is. Making and keeping them in an empty folder stays tested in test/emulator/control.test.ts
 * (and by every `rollcall emulator` and `rollcall demo` process the tests start). The test emulators all sign with
 * the same keys, as two starts in one folder do: no test needs one to refuse another's tokens.
 */
export function seedEmulatorFolder(folder: string): string {
  if (process.env.VITEST) cpSync(inject("emulatorKeys"), folder, { recursive: true });
  return folder;
}

/** A new temporary emulator data folder, seeded with the run's keys (seedEmulatorFolder). */
export function emulatorDataFolder(prefix = "rollcall-emulator-"): string {
  return seedEmulatorFolder(mkdtempSync(join(tmpdir(), prefix)));
}

/**
 * The Entra emulator on a free port, in a data folder of its own that close() removes, with its CA trusted
 * by Rollcall's HTTP client in this process (as NODE_EXTRA_CA_CERTS does for the CLI).
 */
export async function startTrustedEmulator(options: Omit<EmulatorOptions, "port" | "dataDir"> = {}): Promise<RunningEmulator> {
  const dataDir = emulatorDataFolder();
  const removeFolder = () => rmSync(dataDir, { recursive: true, force: true });
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator({ port: 0, dataDir, quiet: true, ...options });
  } catch (error) {
    removeFolder();
    throw error;
  }
  trustExtraCa(emulator.caPem);
  const close = emulator.close;
  emulator.close = async () => {
    await close();
    removeFolder();
  };
  return emulator;
}
