import { randomUUID } from "node:crypto";
import { RollcallError } from "../errors.ts";
import type { Db } from "../storage/database.ts";
import { claimCommit, commitLeaseMs, releaseCommit, renewCommit, type Upload } from "../sources/import/uploads.ts";
import type { ImportProgress } from "./imports.ts";

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
 * Stops this process's commits, for a server that is stopping: each rolls back at its next step and answers with
 * `reason`, and its upload is free for a commit on another process (or after a restart) without waiting for the lease.
 */
export function stopCommitsHere(reason: Error): void {
  for (const { stop } of running.values()) stop.abort(reason);
}
