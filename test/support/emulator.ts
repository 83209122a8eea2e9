import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/index.ts";
import { trustExtraCa } from "../../src/net/http.ts";

/**
 * A new temporary emulator data folder holding the run's emulator CA (global-setup.ts), which the emulator reuses as
 * it reuses its own from an earlier start: each start then skips making a CA key and certificate (about 0.25 s of
 * CPU). Outside vitest (test/console/screenshots.ts) the folder is left empty and the emulator makes its own.
 * test/emulator/control.test.ts starts the emulator in empty folders: making and keeping a CA stays tested there.
 */
export function emulatorDataFolder(prefix = "rollcall-emulator-"): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  if (process.env.VITEST) for (const file of ["ca.pem", "ca-key.pem"]) copyFileSync(join(inject("emulatorCa"), file), join(folder, file));
  return folder;
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
