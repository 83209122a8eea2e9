import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/index.ts";
import { trustExtraCa } from "../../src/net/http.ts";

/**
 * The Entra emulator on a free port, in a data folder of its own that close() removes, with its CA trusted
 * by Rollcall's HTTP client in this process (as NODE_EXTRA_CA_CERTS does for the CLI).
 */
export async function startTrustedEmulator(options: Omit<EmulatorOptions, "port" | "dataDir"> = {}): Promise<RunningEmulator> {
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-emulator-"));
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
