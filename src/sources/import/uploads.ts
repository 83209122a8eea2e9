import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { appendFile, stat, writeFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sql, type ExpressionBuilder } from "kysely";
import { RollcallError, notFound } from "../../errors.ts";
import type { Db } from "../../storage/database.ts";
import type { Database, UploadImported } from "../../storage/schema.ts";
import { withTempFile } from "./temp-file.ts";

/**
 * Uploaded import files wait in the database between upload, preview and commit (migration 025), so that
 * every process sharing it can preview and commit them. They are received into a temporary file (never
 * held in memory, capped at the upload limit), stored in chunks, and deleted after a commit or a day.
 */
const maxAgeMs = 24 * 60 * 60 * 1000;
const chunkBytes = 1024 * 1024;

export interface Upload {
  id: string;
  workspaceId: string;
  fileName: string;
  size: number;
  uploadedBy: string;
  uploadedAt: string;
  expiresAt: string;
  /** The import options of the upload's latest preview (its own answer is the first): a later preview starts from them, and a commit applies them. */
  options?: Record<string, unknown> | undefined;
  /** A commit under way (in any process), with its latest progress (null before the first report). */
  commit: { progress: Record<string, unknown> | null } | null;
  /** The commit that imported the file (which is gone since). */
  committed: UploadImported | null;
}

/** Receives a file into a temporary file and runs `body` on its path. */
function withReceivedFile<T>(stream: Readable & { truncated?: boolean }, limitBytes: number, body: (path: string) => Promise<T>): Promise<T> {
  return withTempFile("rollcall-upload-", async (path) => {
    try {
      await pipeline(stream, createWriteStream(path));
    } catch (error) {
      if ((error as { code?: string }).code === "FST_REQ_FILE_TOO_LARGE") throw tooLarge(limitBytes);
      throw error;
    }
    if (stream.truncated) throw tooLarge(limitBytes);
    return body(path);
  });
}

export async function saveUpload(
  db: Db,
  input: { workspaceId: string; fileName: string; stream: Readable & { truncated?: boolean }; limitBytes: number; uploadedBy: string },
): Promise<Upload> {
  return withReceivedFile(input.stream, input.limitBytes, async (path) => {
    const now = Date.now();
    const upload: Upload = {
      id: randomUUID(),
      workspaceId: input.workspaceId,
      fileName: input.fileName.replace(/[\\/]/g, "_").slice(0, 256) || "upload",
      size: (await stat(path)).size,
      uploadedBy: input.uploadedBy,
      uploadedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + maxAgeMs).toISOString(),
      commit: null,
      committed: null,
    };
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom("import_uploads").where("expires_at", "<", new Date(now)).execute();
      await trx
        .insertInto("import_uploads")
        .values({ id: upload.id, workspace_id: upload.workspaceId, file_name: upload.fileName, size: upload.size, uploaded_by: upload.uploadedBy, uploaded_at: upload.uploadedAt, expires_at: upload.expiresAt })
        .execute();
      let seq = 0;
      for await (const data of createReadStream(path, { highWaterMark: chunkBytes })) {
        await trx.insertInto("import_upload_chunks").values({ upload_id: upload.id, seq: seq++, data: data as Buffer }).execute();
      }
    });
    return upload;
  });
}

export async function rememberUploadOptions(db: Db, upload: Upload, options: Record<string, unknown>): Promise<Upload> {
  await db.updateTable("import_uploads").set({ options: JSON.stringify(options) }).where("id", "=", upload.id).execute();
  return { ...upload, options };
}

export async function findUpload(db: Db, workspaceId: string, id: string): Promise<Upload> {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound("import upload", id);
  const row = await db
    .selectFrom("import_uploads")
    .select(["id", "workspace_id", "file_name", "size", "uploaded_by", "uploaded_at", "expires_at", "options", "progress", "committed"])
    .select(sql<boolean>`coalesce(committing_until > now(), false)`.as("committing"))
    .select(sql<boolean>`expires_at < now()`.as("expired"))
    .where("id", "=", id)
    .where("workspace_id", "=", workspaceId)
    .executeTakeFirst();
  if (!row) throw notFound("import upload", id);
  if (row.expired && !row.committing) {
    await db.deleteFrom("import_uploads").where("id", "=", id).execute();
    throw notFound("import upload", id);
  }
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    fileName: row.file_name,
    size: row.size,
    uploadedBy: row.uploaded_by,
    uploadedAt: new Date(row.uploaded_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
    options: row.options ?? undefined,
    commit: row.committing ? { progress: row.progress } : null,
    committed: row.committed,
  };
}

/** Notes the upload as imported and drops its file: a commit sent again is told so until the upload expires. */
export async function markImported(db: Db, upload: Upload, imported: UploadImported): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("import_uploads").set({ committed: JSON.stringify(imported), options: null }).where("id", "=", upload.id).execute();
    await trx.deleteFrom("import_upload_chunks").where("upload_id", "=", upload.id).execute();
  });
}

/** An imported upload has no file left to preview or import again. */
export function assertNotImported(upload: Upload): void {
  const done = upload.committed;
  if (!done) return;
  const counts = Object.entries(done.counts).filter(([key, n]) => n > 0 && ["created", "updated", "unchanged", "invalid"].includes(key)).map(([key, n]) => `${n} ${key}`).join(", ");
  throw new RollcallError("conflict", `${upload.fileName} was already imported, at ${done.at} by ${done.by}${counts ? ` (${counts})` : ""}; upload the file again to import it again`, { resource: "import upload", key: upload.id, imported: done });
}

export async function deleteUpload(db: Db, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom("import_uploads").where("id", "=", id).where("workspace_id", "=", workspaceId).execute();
}

/** Deletes the upload unless a commit holds it (in any process); whether it did. */
export async function discardUpload(db: Db, upload: Upload): Promise<boolean> {
  const deleted = await db
    .deleteFrom("import_uploads")
    .where("id", "=", upload.id)
    .where(leaseFree)
    .executeTakeFirst();
  return deleted.numDeletedRows > 0n;
}

/** Writes the upload's file into a temporary folder, chunk by chunk, runs `body` on its path, and removes it. */
export function withUploadFile<T>(db: Db, upload: Upload, body: (path: string) => Promise<T>): Promise<T> {
  return withTempFile("rollcall-upload-", async (path) => {
    await writeFile(path, new Uint8Array());
    for (let seq = 0; ; seq++) {
      const chunk = await db.selectFrom("import_upload_chunks").select("data").where("upload_id", "=", upload.id).where("seq", "=", seq).executeTakeFirst();
      if (!chunk) break;
      await appendFile(path, chunk.data);
    }
    return body(path);
  });
}

/**
 * A commit's lease on its upload, held in the database so that every process sees it: taken (unless another
 * commit holds it), renewed while the commit reports progress, and given back at the end. A commit whose
 * process died frees the upload when its lease runs out.
 */
export const commitLeaseMs = 60_000;

/** No commit holds the upload: none was taken, or its lease has run out. */
const leaseFree = (w: ExpressionBuilder<Database, "import_uploads">) => w.or([w("committing_until", "is", null), w("committing_until", "<=", sql<Date>`now()`)]);

export async function claimCommit(db: Db, upload: Upload, worker: string): Promise<boolean> {
  const claimed = await db
    .updateTable("import_uploads")
    .set({ committing_by: worker, committing_until: sql`now() + ${`${commitLeaseMs} milliseconds`}::interval`, progress: null })
    .where("id", "=", upload.id)
    .where(leaseFree)
    .executeTakeFirst();
  return claimed.numUpdatedRows > 0n;
}

export async function renewCommit(db: Db, upload: Upload, worker: string, progress: Record<string, unknown> | null): Promise<void> {
  await db
    .updateTable("import_uploads")
    .set({ committing_until: sql`now() + ${`${commitLeaseMs} milliseconds`}::interval`, progress: progress && JSON.stringify(progress) })
    .where("id", "=", upload.id)
    .where("committing_by", "=", worker)
    .execute();
}

export async function releaseCommit(db: Db, upload: Upload, worker: string): Promise<void> {
  await db.updateTable("import_uploads").set({ committing_by: null, committing_until: null, progress: null }).where("id", "=", upload.id).where("committing_by", "=", worker).execute();
}

function tooLarge(limit: number): RollcallError {
  return new RollcallError("payload_too_large", `The file is larger than the upload limit of ${Math.round(limit / 1024 / 1024)} MB (ROLLCALL_UPLOAD_LIMIT_MB)`, { limit });
}
