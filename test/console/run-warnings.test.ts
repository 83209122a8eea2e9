import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { hasChromium, type ConsoleServer } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";

/**
 * A run counts warnings one per message, and logs them one entry per user: a user with two dropped values
 * is one entry with two messages. The run's page says both numbers, so the count and the list agree.
 */
async function runWithWarnings(server: ConsoleServer): Promise<string> {
  const db = server.rt.store.db;
  const workspace = await resolveWorkspace(db, "default");
  const ctx = { db, workspace, actor: "test", secrets: server.rt.secrets, entraCustomUrls: true };
  const config = { tenantId: "00000000-0000-4000-8000-000000000001", clientId: "00000000-0000-4000-8000-000000000002", schedule: null };
  const source = await createEntraSource(ctx, { name: "contoso", config, credential: { kind: "secret", secret: "not used" } });
  const { rows } = await sql<{ id: string }>`
    insert into sync_runs (workspace_id, source_id, trigger, mode, status, finished_at, counts)
    values (${workspace.id}, ${source.id}, 'manual', 'full', 'succeeded', now(), '{"created": 2, "warnings": 3}') returning id`.execute(db);
  const runId = rows[0]!.id;
  await sql`
    insert into change_log (workspace_id, run_id, subject, actor, action, after) values
      (${workspace.id}, ${runId}, 'ada@contoso.com', 'test', 'create', '{"email": "ada@contoso.com"}'),
      (${workspace.id}, ${runId}, 'grace@contoso.com', 'test', 'create', '{"email": "grace@contoso.com"}'),
      (${workspace.id}, ${runId}, 'ada@contoso.com', 'test', 'warning', '{"messages": ["mobile phone dropped", "business phone dropped"]}'),
      (${workspace.id}, ${runId}, 'grace@contoso.com', 'test', 'warning', '{"messages": ["alias dropped"]}')`.execute(db);
  return runId;
}

describe.skipIf(!hasChromium)("web console: a run's warnings", () => {
  let runId = "";
  const ui = signedInConsole(async (server) => {
    runId = await runWithWarnings(server);
  });

  it("says how many log entries hold the warnings it counts", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/runs/${runId}`);
    const count = page.getByRole("button", { name: /warnings/ });
    await expect.poll(() => count.textContent()).toBe("3 warnings in 2 entries");
    await count.click();
    await expect.poll(() => page.locator(".history-item").count()).toBe(2);
    expect(await page.getByLabel("Show").locator("option:checked").textContent()).toBe("Warning (2)");
  });
});
