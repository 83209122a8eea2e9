// "Sync photos" (an Entra ID source's `photos` option): after a run has applied, each user's profile photo is brought
// in step. A user's photo is a relationship of the user, not one of the properties users/delta tracks ("only
// properties included in $select are tracked": https://learn.microsoft.com/graph/delta-query-users; photo is listed
// under Relationships at https://learn.microsoft.com/graph/api/resources/user), so a new photo shows in no delta round.
// Hence: a delta run checks the users it created or changed; a full run (and the first run with the option on) checks
// every user. A check is the photo's metadata, 20 to a JSON batch (https://learn.microsoft.com/graph/json-batching):
// an unchanged @odata.mediaEtag costs nothing more; a changed one downloads 240x240, or the photo itself when smaller.
// A photo that cannot be read is a warning on its user, never a failed run.
import { sql } from "kysely";
import { RollcallError } from "../errors.ts";
import type { Db } from "../storage/database.ts";
import { pause, retryDelay, defaultRetry, type GraphClient, type RetryPolicy } from "../sources/entra/graph.ts";
import { recordChanges } from "../core/change-log.ts";
import { photoMaxBytes, photoType, writePhoto } from "../core/user-photos.ts";

/** The documented size kept (https://learn.microsoft.com/graph/api/profilephoto-get): enough for a badge or a desk screen. */
export const keptPhotoSize = 240;
const batchSize = 20;
const retryRounds = 5;

interface Held { id: string; externalId: string; subject: string; mediaEtag: string | null; hasPhoto: boolean }
interface Item { id: string; status: number; headers: Record<string, string>; body: unknown }

export interface PhotoInput {
  db: Db;
  graph: GraphClient;
  signal: AbortSignal;
  workspaceId: string;
  sourceId: string;
  runId: string;
  actor: string;
  /** Every user of the source, not only those the run created or changed. */
  all: boolean;
  /** The run's (the waits between rounds of throttled items when Graph gives no Retry-After). */
  retry?: RetryPolicy | undefined;
}

export interface PhotoOutcome { changed: number; warnings: number; checked: number }

/** The source's users to check: all of them, or those the run's change log names. */
async function heldUsers(db: Db, input: PhotoInput): Promise<Held[]> {
  const { rows } = await sql<{ id: string; external_id: string; subject: string; media_etag: string | null; has_photo: boolean }>`
    select u.id, u.external_id, coalesce(u.email, u.user_principal_name, u.display_name) as subject, p.media_etag, p.user_id is not null as has_photo
    from users u left join user_photos p on p.user_id = u.id
    where u.source_id = ${input.sourceId} and u.external_id is not null
      ${input.all ? sql`` : sql`and u.id in (select user_id from change_log where run_id = ${input.runId} and user_id is not null)`}
    order by u.id`.execute(db);
  return rows.map((r) => ({ id: r.id, externalId: r.external_id, subject: r.subject, mediaEtag: r.media_etag, hasPhoto: r.has_photo }));
}

/**
 * One batch of GETs, each item retried (up to 5 rounds) when Graph answers it 429, 503 or 504, after the longest
 * Retry-After among them: items of a batch are throttled one by one (json-batching, "Batch size limitations").
 */
async function batchGet(graph: GraphClient, signal: AbortSignal, urls: Map<string, string>, retry: RetryPolicy = defaultRetry): Promise<Map<string, Item>> {
  const answers = new Map<string, Item>();
  let pending = [...urls.keys()];
  for (let round = 1; pending.length; round++) {
    const body = await graph.change("POST", "/$batch", { requests: pending.map((id) => ({ id, method: "GET", url: urls.get(id) })) });
    const items = Array.isArray(body.responses) ? (body.responses as Item[]) : [];
    const again: string[] = [];
    let wait: string | null = null;
    for (const item of items) {
      const id = String(item.id);
      if ([429, 503, 504].includes(item.status) && round < retryRounds) {
        again.push(id);
        const after = item.headers?.["Retry-After"] ?? item.headers?.["retry-after"] ?? null;
        if (after && (wait === null || Number(after) > Number(wait))) wait = after;
      } else answers.set(id, item);
    }
    pending = again;
    if (pending.length) await pause(retryDelay(wait, round, retry), signal);
  }
  return answers;
}

function errorOf(item: Item | undefined): { status: number; code: string; message: string } {
  const error = ((item?.body as { error?: { code?: string; message?: string } } | undefined)?.error) ?? {};
  return { status: item?.status ?? 0, code: error.code ?? `HTTP${item?.status ?? "?"}`, message: error.message ?? "no answer for this request in the batch" };
}

/** Brings the photos of the run's users (or all the source's) in step with Entra ID. */
export async function syncPhotos(input: PhotoInput): Promise<PhotoOutcome> {
  const { db, graph, signal } = input;
  const users = await heldUsers(db, input);
  const outcome: PhotoOutcome = { changed: 0, warnings: 0, checked: users.length };
  const warnings: { user: Held; message: string }[] = [];
  const write = async (user: Held, photo: { bytes: Uint8Array; mediaEtag: string } | null) => {
    if (await writePhoto(db, { workspaceId: input.workspaceId, userId: user.id, subject: user.subject, actor: input.actor, runId: input.runId }, photo)) outcome.changed++;
  };
  for (let at = 0; at < users.length; at += batchSize) {
    signal.throwIfAborted();
    const chunk = users.slice(at, at + batchSize);
    const meta = await batchGet(graph, signal, new Map(chunk.map((u, i) => [String(i), `/users/${u.externalId}/photo`])), input.retry);
    const downloads = new Map<string, string>();
    const etags = new Map<string, string>();
    for (const [i, user] of chunk.entries()) {
      const item = meta.get(String(i));
      if (item?.status === 200) {
        const m = item.body as { "@odata.mediaEtag"?: string; width?: number; id?: string };
        const etag = m["@odata.mediaEtag"] ?? "";
        // The metadata of no photo, as the page's example 3 shows it: a 1x1 placeholder with an empty ETag.
        if (!etag || m.id === "1x1") { if (user.hasPhoto) await write(user, null); continue; }
        if (user.hasPhoto && etag === user.mediaEtag) continue;
        etags.set(String(i), etag);
        downloads.set(String(i), (m.width ?? 0) >= keptPhotoSize ? `/users/${user.externalId}/photos/${keptPhotoSize}x${keptPhotoSize}/$value` : `/users/${user.externalId}/photo/$value`);
      } else if (item?.status === 404) {
        // ImageNotFound: no photo; another 404 (the user left Entra ID since the listing) leaves it to the next run.
        if (errorOf(item).code === "ImageNotFound" && user.hasPhoto) await write(user, null);
      } else if (item?.status === 403) {
        throw new RollcallError("source_permission_missing", `Graph refused to read users' photos (403 ${errorOf(item).code}): in App registrations > API permissions, add the Microsoft Graph application permission User.Read.All (or ProfilePhoto.Read.All) and click "Grant admin consent", or turn off "Sync photos"`, { permission: "User.Read.All" });
      } else {
        const e = errorOf(item);
        warnings.push({ user, message: `The photo could not be checked (Graph answered ${e.status} ${e.code}: ${e.message}); the next run tries again` });
      }
    }
    if (!downloads.size) continue;
    const got = await batchGet(graph, signal, downloads, input.retry);
    for (const id of downloads.keys()) {
      const user = chunk[Number(id)]!;
      const item = got.get(id);
      if (item?.status === 404 && errorOf(item).code === "ImageNotFound") { if (user.hasPhoto) await write(user, null); continue; }
      if (item?.status !== 200 || typeof item.body !== "string") {
        const e = errorOf(item);
        warnings.push({ user, message: `The photo could not be downloaded (Graph answered ${e.status} ${e.code}: ${e.message}); the next run tries again` });
        continue;
      }
      const bytes = Buffer.from(item.body, "base64");
      try {
        photoType(bytes);
      } catch (error) {
        const why = bytes.length > photoMaxBytes ? `it is ${Math.ceil(bytes.length / 1024)} KiB, over the ${photoMaxBytes / 1024} KiB kept` : (error as Error).message;
        warnings.push({ user, message: `The photo was not kept: ${why}` });
        continue;
      }
      await write(user, { bytes, mediaEtag: etags.get(id)! });
    }
  }
  await recordChanges(db, warnings.map(({ user, message }) => ({
    workspaceId: input.workspaceId, runId: input.runId, userId: user.id, subject: user.subject, actor: input.actor, action: "warning" as const,
    after: { externalId: user.externalId, messages: [message] },
  })));
  outcome.warnings = warnings.length;
  await sql`update source_state set photos_checked_at = now() where source_id = ${input.sourceId} and ${input.all}`.execute(db);
  return outcome;
}

/**
 * The photo step of a run that applied (runner.ts), whose outcome the run's counts add. It comes after the apply's
 * transaction has committed (the run still running), so as never to hold it open over downloads; a failure of the whole
 * step (a missing permission, Graph unreachable) is a warning on the run, which ends succeeded.
 */
export async function photoStep(input: Omit<PhotoInput, "all"> & { mode: "full" | "delta" }): Promise<{ photosChanged: number; warnings: number }> {
  let outcome: { changed: number; warnings: number };
  try {
    outcome = await syncPhotos({ ...input, all: await checksAllPhotos(input.db, input.sourceId, input.mode) });
  } catch (error) {
    if (input.signal.aborted) throw error;
    const message = error instanceof RollcallError ? error.message : `Photos were not synced: ${(error as Error).message}`;
    await recordChanges(input.db, [{ workspaceId: input.workspaceId, runId: input.runId, subject: "photos", actor: input.actor, action: "warning", after: { messages: [message] } }]);
    outcome = { changed: 0, warnings: 1 };
  }
  return { photosChanged: outcome.changed, warnings: outcome.warnings };
}

/** The warning of a run whose photo step did not finish (cancelled, its database lost, or its process killed: lease.ts). */
export const photosUnfinishedMessage = (why: string) =>
  `Photos were not finished (${why}); the directory changes were applied. The next run checks every user's photo.`;

/** A run's photo step stopped before its end: a warning on the run, and the next run checks every photo (checksAllPhotos). */
export async function photosUnfinished(db: Db, run: { workspaceId: string; sourceId: string; runId: string; actor: string }, why: string): Promise<void> {
  await recordChanges(db, [{ workspaceId: run.workspaceId, runId: run.runId, subject: "photos", actor: run.actor, action: "warning", after: { messages: [photosUnfinishedMessage(why)] } }]);
  await sql`update source_state set photos_checked_at = null where source_id = ${run.sourceId}`.execute(db);
}

/** Whether this run checks every user's photo: a full run, or the first since the option was turned on. */
export async function checksAllPhotos(db: Db, sourceId: string, mode: "full" | "delta"): Promise<boolean> {
  if (mode === "full") return true;
  const { rows } = await sql<{ at: Date | null }>`select photos_checked_at as at from source_state where source_id = ${sourceId}`.execute(db);
  return !rows[0]?.at;
}
