// Workspaces' overview benchmark: GET /workspace-overview's core (workspaceOverview: four queries whatever the number of
// workspaces) against the same read the way each workspace's Sync page makes it (listSources per workspace: several
// queries per source), at W workspaces of S sources each, every source with R finished runs (one in five failed) and
// 200 users. Milliseconds, the median of 5 rounds, each way first in turn.
// Run: node bin/run-ts.js bench/workspace-overview.ts [--engine pglite|postgres] [--workspaces W] [--sources S] [--runs R]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { createWorkspace, listWorkspaces } from "../src/core/workspaces.ts";
import { createEntraSource, listSources } from "../src/core/sources.ts";
import { workspaceOverview } from "../src/core/workspace-overview.ts";
import { secretBox } from "../src/security/encryption.ts";
import { openBenchStore } from "./bench-store.ts";
import { log, medianMs } from "./measure.ts";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "pglite" },
    workspaces: { type: "string", default: "50" },
    sources: { type: "string", default: "2" },
    runs: { type: "string", default: "20" },
  },
});
const [workspaceCount, sourceCount, runCount] = [Number(values.workspaces), Number(values.sources), Number(values.runs)];

const { store, dispose } = await openBenchStore(values.engine!, "workspace-overview");
try {
  const db = store.db;
  const secrets = secretBox(randomBytes(32));
  log(`seeding ${workspaceCount} workspaces × ${sourceCount} sources × ${runCount} runs on ${values.engine}`);
  for (let w = 0; w < workspaceCount; w++) {
    const workspace = await createWorkspace(db, { name: `customer-${w}` });
    const ctx = { db, workspace, actor: "bench", secrets, entraCustomUrls: false as const };
    for (let s = 0; s < sourceCount; s++) {
      const config = { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", secretExpiresOn: "2027-01-01", schedule: null };
      const source = await createEntraSource(ctx, { name: `entra-${s}`, config, credential: { kind: "secret", secret: "bench" } });
      await sql`insert into sync_runs (workspace_id, source_id, trigger, mode, status, started_at, finished_at, counts)
        select ${workspace.id}, ${source.id}, 'schedule', 'delta', case when i % 5 = 0 then 'failed' else 'succeeded' end,
          now() - make_interval(hours => i), now() - make_interval(hours => i), '{"created": 1, "conflicts": 0}'::jsonb
        from generate_series(1, ${runCount}) i`.execute(db);
      await sql`insert into users (workspace_id, email, display_name, source_type, source_name, source_id)
        select ${workspace.id}, 'u' || i || '-' || ${s} || '@example.com', 'User ' || i, 'entra', ${source.name}, ${source.id}
        from generate_series(1, 100) i`.execute(db);
    }
  }
  const workspaces = (await listWorkspaces(db)).map((w) => ({ ...w, role: "admin" as const }));
  const overview = () => workspaceOverview(db, workspaces);
  const perWorkspace = () => Promise.all(workspaces.map((workspace) => listSources({ db, workspace })));
  const items = await overview();
  log(`${items.length} workspaces, ${items.reduce((n, w) => n + w.sources.length, 0)} sources, ${items.filter((w) => w.attention.level).length} needing attention`);
  const results: Record<string, number[]> = { overview: [], "listSources per workspace": [] };
  for (let round = 0; round < 5; round++) {
    const order = round % 2 ? (["listSources per workspace", "overview"] as const) : (["overview", "listSources per workspace"] as const);
    for (const name of order) results[name]!.push(await medianMs(1, name === "overview" ? overview : perWorkspace));
  }
  for (const [name, times] of Object.entries(results)) {
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`${values.engine}: ${name}: ${sorted[2]!.toFixed(1)} ms (median of 5)`);
  }
} finally {
  await dispose();
}
