import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { sql } from "kysely";
import type { Db, Store } from "../storage/database.ts";
import type { CopyValue } from "../storage/copy-format.ts";

/**
 * A dry run's (or a stopped run's) change set outlives the rollback of the apply that wrote it: read a page at a
 * time into a file of its own before the rollback, written back after. Held in memory, the 105,000 entries of a
 * 100,000-user dry run took the process to 1 GB.
 */
const defaultPage = 5000;
const columns = ["subject", "action", "before", "after", "actor"] as const;

export interface SpooledChanges {
  file: string;
  entries: number;
}

/** Writes the run's change log entries, in order, to a new private file (one JSON array per line). */
export async function spoolChanges(trx: Db, runId: string, page = defaultPage): Promise<SpooledChanges> {
  const dir = await mkdtemp(join(tmpdir(), "rollcall-changes-"));
  const file = join(dir, "changes.ndjson");
  const out = createWriteStream(file, { mode: 0o600 });
  let entries = 0;
  try {
    for (let after = "0"; ; ) {
      const { rows } = await sql<{ id: string; subject: string; action: string; before: string | null; after: string | null; actor: string | null }>`
        select id::text, subject, action, before::text, after::text, actor from change_log
        where run_id = ${runId} and id > ${after}::bigint order by id limit ${page}`.execute(trx);
      for (const r of rows) {
        if (!out.write(`${JSON.stringify(columns.map((c) => r[c]))}\n`)) await once(out, "drain");
      }
      entries += rows.length;
      if (rows.length < page) break;
      after = rows.at(-1)!.id;
    }
    out.end();
    await once(out, "finish");
  } catch (error) {
    out.destroy();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { file, entries };
}

/** Writes spooled entries back to the run's change log, a page at a time, and removes the file. */
export async function restoreChanges(store: Store, spooled: SpooledChanges, run: { id: string; workspaceId: string }, page = defaultPage): Promise<void> {
  try {
    let rows: CopyValue[][] = [];
    const flush = async () => {
      if (rows.length) await store.copyRows("change_log", ["workspace_id", "run_id", ...columns], rows);
      rows = [];
    };
    for await (const line of createInterface({ input: createReadStream(spooled.file), crlfDelay: Infinity })) {
      rows.push([run.workspaceId, run.id, ...(JSON.parse(line) as CopyValue[])]);
      if (rows.length === page) await flush();
    }
    await flush();
  } finally {
    await discardSpool(spooled);
  }
}

export async function discardSpool(spooled: SpooledChanges): Promise<void> {
  await rm(join(spooled.file, ".."), { recursive: true, force: true });
}
