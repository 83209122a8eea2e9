import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../src/storage/database.ts";
import { openScratchStore } from "../test/support/scratch-database.ts";
import { resolveWorkspace, type Workspace } from "../src/core/workspaces.ts";
import { generateUsers } from "../src/emulator/generator.ts";
import { Tenant } from "../src/emulator/tenant.ts";

/** The PostgreSQL server benchmarks create their scratch databases on. */
export const benchPgUrl = process.env.ROLLCALL_BENCH_DATABASE_URL ?? process.env.ROLLCALL_TEST_DATABASE_URL;

/**
 * A throw-away store for one benchmark: a scratch database on the PostgreSQL server, or a PGlite data folder in a
 * temporary directory; `dispose` drops it. `migrate: false` leaves the schema to the benchmark.
 */
export async function openBenchStore(engine: string, label: string, options: { migrate?: boolean } = {}): Promise<{ store: Store; dispose: () => Promise<void> }> {
  if (engine === "postgres") {
    if (!benchPgUrl) throw new Error("set ROLLCALL_BENCH_DATABASE_URL to a PostgreSQL server where databases may be created");
    const store = await openScratchStore(benchPgUrl, "rollcall_bench", options);
    return { store, dispose: () => store.dispose() };
  }
  const dir = mkdtempSync(join(tmpdir(), `rollcall-${label}-bench-`));
  const store = await openStore({ kind: "pglite", dataDir: dir }, options);
  return { store, dispose: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * The default workspace with `count` users generated as the emulator generates a tenant's, copied in as one import
 * would leave them (source bench.csv): the fields the list benchmarks search, filter and sort by.
 */
export async function seedGeneratedUsers(store: Store, count: number): Promise<{ workspace: Workspace; tenant: Tenant }> {
  const workspace = await resolveWorkspace(store.db, "default");
  const tenant = new Tenant("00000000-0000-0000-0000-000000000001", "contoso.example", "Contoso");
  generateUsers(tenant, count, 1);
  await store.copyRows(
    "users",
    ["workspace_id", "user_principal_name", "email", "display_name", "given_name", "surname", "employee_id", "department", "source_type", "source_name"],
    tenant.users.map(({ u }) => [workspace.id, u.userPrincipalName, u.mail, u.displayName, u.givenName, u.surname, u.employeeId, u.department ?? null, "import", "bench.csv"]),
  );
  return { workspace, tenant };
}
