import { randomUUID } from "node:crypto";
import { RollcallError } from "../errors.ts";
import type { Db, Store } from "../storage/database.ts";
import { claimCommit, commitLeaseMs, deleteUpload, markImported, releaseCommit, renewCommit, type Upload } from "../sources/import/uploads.ts";
import type { ImportProgress } from "./imports.ts";
import { importFailed, nothingImported, type ImportReport } from "./import-report.ts";

/**
 * One commit of an upload at a time, across every process sharing the database (the lease in uploads.ts),
 * with its progress visible to all of them. This process's own commits are also kept in memory, so that it
 * answers their progress without the database: the embedded one is busy with the commit's transaction.
 */
const worker = `${process.pid}-${randomUUID().slice(0, 8)}`;
const running = new Map<string, { workspaceId: string; progress: ImportProgress | null; stop: AbortController }>();
const renewEveryMs = 1000;

export interface CommitState {
  committing: boolean;
  progress: ImportProgress | null;
  imported?: NonNullable<Upload["committed"]>;
}

/** This process's commit of the upload, if it runs one. */
export function localCommit(workspaceId: string, uploadId: string): CommitState | undefined {
  const mine = running.get(uploadId);
  return mine && mine.workspaceId === workspaceId ? { committing: true, progress: mine.progress } : undefined;
}

export function commitState(upload: Upload): CommitState {
  return localCommit(upload.workspaceId, upload.id) ?? {
    committing: upload.commit !== null,
    progress: (upload.commit?.progress ?? null) as ImportProgress | null,
    ...(upload.committed && { imported: upload.committed }),
  };
}

export function beingCommitted(message: string, upload: Upload): RollcallError {
  return new RollcallError("conflict", message, { resource: "import upload", key: upload.id });
}

/**
 * Runs `commit` holding the upload's lease, renewed as it reports progress; refuses while another commit holds it.
 * `signal` aborts when this process stops (stopCommitsHere): the commit rolls back and frees the upload at once.
 */
export async function commitUpload<T>(db: Db, upload: Upload, commit: (onProgress: (p: ImportProgress) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
  if (running.has(upload.id) || !(await claimCommit(db, upload, worker))) {
    throw beingCommitted("This upload is already being imported; follow it with GET …/imports/{id}/progress", upload);
  }
  const state = { workspaceId: upload.workspaceId, progress: null as ImportProgress | null, stop: new AbortController() };
  running.set(upload.id, state);
  let renewed = Date.now();
  let renewing: Promise<void> = Promise.resolve();
  const renew = () => {
    renewed = Date.now();
    // Never awaited by the commit: on the embedded database it waits for the commit's transaction to end.
    renewing = renewing.then(() => renewCommit(db, upload, worker, state.progress as Record<string, unknown> | null)).catch(() => {});
  };
  const keepAlive = setInterval(renew, commitLeaseMs / 4);
  keepAlive.unref();
  try {
    return await commit((progress) => {
      state.progress = progress;
      if (Date.now() - renewed >= renewEveryMs) renew();
    }, state.stop.signal);
  } finally {
    clearInterval(keepAlive);
    running.delete(upload.id);
    await renewing;
    await releaseCommit(db, upload, worker);
  }
}

/**
 * Imports the upload (`run`, holding its lease: commitUpload). An import that imported nothing (importFailed) is
 * refused as import_invalid with its report, and the upload stays, to be fixed and committed again; one that did
 * is marked imported by `actor`, and its file let go.
 */
export async function commitImport(db: Db, upload: Upload, actor: string, run: (onProgress: (p: ImportProgress) => void, signal: AbortSignal) => Promise<ImportReport>): Promise<ImportReport> {
  const report = await commitUpload(db, upload, run);
  if (importFailed(report)) throw nothingImported(report);
  await markImported(db, upload, { at: new Date().toISOString(), by: actor, counts: report.counts }).catch(() => {});
  return report;
}

/**
 * A new upload, as its uploader is shown it, with its first preview. A file whose required columns could not be
 * placed is kept, to preview again with a mapping (the error names it in details.upload); after any other failure
 * it is deleted.
 */
export async function previewNewUpload(store: Store, upload: Upload, preview: () => Promise<ImportReport>) {
  const shown = { id: upload.id, fileName: upload.fileName, size: upload.size, uploadedAt: upload.uploadedAt, expiresAt: upload.expiresAt };
  try {
    return { ...shown, preview: await preview() };
  } catch (error) {
    if (error instanceof RollcallError && error.details.reason === "columns") throw new RollcallError(error.code, error.message, { ...error.details, upload: shown });
    await deleteUpload(store.db, upload.workspaceId, upload.id).then(() => reclaimUploads(store), () => {});
    throw error;
  }
}

/**
 * The embedded database has no autovacuum: without this, every file uploaded (up to ROLLCALL_UPLOAD_LIMIT_MB)
 * stayed in the data folder for good once deleted, committed or discarded.
 */
export function reclaimUploads(store: Store): Promise<void> {
  return store.reclaim(["import_upload_chunks", "import_uploads"]).catch(() => undefined);
}

/**
 * Stops this process's commits, for a server that is stopping: each rolls back at its next step and answers with
 * `reason`, and its upload is free for a commit on another process (or after a restart) without waiting for the lease.
 */
export function stopCommitsHere(reason: Error): void {
  for (const { stop } of running.values()) stop.abort(reason);
}
