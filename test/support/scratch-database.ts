import pg from "pg";
import { randomBytes } from "node:crypto";
import { openStore, type OpenOptions, type Store } from "../../src/storage/database.ts";

// Apart from db.ts, which imports vitest: the benches use this too, and vitest loaded in the syncing process
// added 20-90 MB to the peak RSS it measures (sessions 38-40's runs).

/**
 * A new database on the server adminUrl names (a user there may create databases), and a way to drop it: empty, or a
 * copy of `template` (a database nobody is connected to).
 */
export async function createScratchDatabase(adminUrl: string, prefix: string, template?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
  return { url: withDatabase(adminUrl, name), drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * A store on a new scratch database of that server (migrated unless told otherwise), a copy of `template` if given;
 * dispose drops the database.
 */
export async function openScratchStore(adminUrl: string, prefix: string, options: OpenOptions = {}, template?: string): Promise<Store & { url: string; dispose(): Promise<void> }> {
  const database = await createScratchDatabase(adminUrl, prefix, template);
  const store = await openStore({ kind: "postgres", url: database.url }, options);
  return {
    ...store,
    url: database.url,
    async dispose() {
      await store.close();
      await database.drop();
    },
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
