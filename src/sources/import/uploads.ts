import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { RollcallError, notFound } from "../../errors.ts";

/**
 * Uploaded import files wait in the data folder between upload, preview and commit. They are streamed
 * to disk (never held in memory), capped at the upload limit, and deleted after a commit or a day.
 */
const maxAgeMs = 24 * 60 * 60 * 1000;

export const uploadMetaSchema = z.object({
  id: z.string(),
  workspaceId: z.string(),
  fileName: z.string(),
  size: z.number(),
  uploadedBy: z.string(),
  uploadedAt: z.string(),
  expiresAt: z.string(),
  /** The import options sent with the file, as sent: a later preview or commit starts from them. */
  options: z.record(z.string(), z.unknown()).optional(),
});
export type UploadMeta = z.infer<typeof uploadMetaSchema>;

export interface Upload extends UploadMeta {
  path: string;
}

function folder(dataDir: string, workspaceId: string, id?: string): string {
  return id ? join(dataDir, "uploads", workspaceId, id) : join(dataDir, "uploads", workspaceId);
}

export async function saveUpload(
  dataDir: string,
  input: { workspaceId: string; fileName: string; stream: Readable & { truncated?: boolean }; limitBytes: number; uploadedBy: string },
): Promise<Upload> {
  await removeExpired(dataDir, input.workspaceId);
  const id = randomUUID();
  const dir = folder(dataDir, input.workspaceId, id);
  await mkdir(dir, { recursive: true });
  const path = join(dir, "file");
  try {
    await pipeline(input.stream, createWriteStream(path));
    if (input.stream.truncated) throw tooLarge(input.limitBytes);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const code = (error as { code?: string }).code;
    if (code === "FST_REQ_FILE_TOO_LARGE") throw tooLarge(input.limitBytes);
    throw error;
  }
  const now = Date.now();
  const meta: UploadMeta = {
    id,
    workspaceId: input.workspaceId,
    fileName: input.fileName.replace(/[\\/]/g, "_").slice(0, 256) || "upload",
    size: (await stat(path)).size,
    uploadedBy: input.uploadedBy,
    uploadedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + maxAgeMs).toISOString(),
  };
  await writeFile(join(dir, "meta.json"), JSON.stringify(meta));
  return { ...meta, path };
}

export async function rememberUploadOptions(dataDir: string, upload: Upload, options: Record<string, unknown>): Promise<Upload> {
  const { path, ...meta } = upload;
  const withOptions: UploadMeta = { ...meta, options };
  await writeFile(join(folder(dataDir, upload.workspaceId, upload.id), "meta.json"), JSON.stringify(withOptions));
  return { ...withOptions, path };
}

export async function findUpload(dataDir: string, workspaceId: string, id: string): Promise<Upload> {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound("import upload", id);
  const dir = folder(dataDir, workspaceId, id);
  const text = await readFile(join(dir, "meta.json"), "utf8").catch(() => undefined);
  if (!text) throw notFound("import upload", id);
  const meta = uploadMetaSchema.parse(JSON.parse(text));
  if (Date.parse(meta.expiresAt) < Date.now()) {
    await rm(dir, { recursive: true, force: true });
    throw notFound("import upload", id);
  }
  return { ...meta, path: join(dir, "file") };
}

export async function deleteUpload(dataDir: string, workspaceId: string, id: string): Promise<void> {
  await findUpload(dataDir, workspaceId, id);
  await rm(folder(dataDir, workspaceId, id), { recursive: true, force: true });
}

async function removeExpired(dataDir: string, workspaceId: string): Promise<void> {
  const entries = await readdir(folder(dataDir, workspaceId)).catch(() => [] as string[]);
  for (const id of entries) {
    const dir = folder(dataDir, workspaceId, id);
    const meta = await readFile(join(dir, "meta.json"), "utf8").catch(() => undefined);
    // No meta.json yet is an upload in progress, unless it has been lying there for a day.
    const expired = meta ? Date.parse((JSON.parse(meta) as UploadMeta).expiresAt) < Date.now() : (await stat(dir)).mtimeMs < Date.now() - maxAgeMs;
    if (expired) await rm(folder(dataDir, workspaceId, id), { recursive: true, force: true });
  }
}

function tooLarge(limit: number): RollcallError {
  return new RollcallError("payload_too_large", `The file is larger than the upload limit of ${Math.round(limit / 1024 / 1024)} MB (ROLLCALL_UPLOAD_LIMIT_MB)`, { limit });
}
