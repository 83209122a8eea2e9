import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Runs `body` on the path of a file in a new temporary folder (the file is not created), then removes the folder. */
export async function withTempFile<T>(prefix: string, body: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await body(join(dir, "file"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
