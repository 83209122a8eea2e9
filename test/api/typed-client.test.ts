import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openSignInHarness, type SignInHarness } from "../signin/support.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";

/**
 * The OpenAPI document as an embedder's typed contract: types generated from the document a real server serves
 * (openapi-typescript), an embedding script written against them (openapi-fetch) type-checked strictly beside a
 * file of mistakes the types must refuse, and the script run against that server and its Entra ID emulator.
 */
const here = fileURLToPath(new URL("./typed-client/", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

/** embedding.ts's entry point, typed loosely here: the project's own type-check cannot see the generated types it needs. */
type Embed = (options: { baseUrl: string; token: string; workspace: string; source: string }) => Promise<Record<string, any>>;

/** The strict type-check of an application's own project: every diagnostic, one line each. */
function typeCheck(folder: string, files: string[]): string[] {
  const program = ts.createProgram(
    files.map((f) => join(folder, f)),
    {
      strict: true, noUncheckedIndexedAccess: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
      module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, allowImportingTsExtensions: true, types: [],
    },
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName.slice(folder.length)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1} ` : "";
    return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  });
}

describe.each(engines)("a client generated from the OpenAPI document (%s)", (engine) => {
  let h: SignInHarness;
  let token: string;
  let project: string;

  beforeAll(async () => {
    h = await openSignInHarness(engine);
    await h.addSource("contoso");
    const workspace = await resolveWorkspace(h.store.db, "default");
    token = (await createApiToken(h.store.db, workspace, { name: "embedding app", role: "admin" }, "test")).token;
    project = mkdtempSync(join(tmpdir(), "rollcall-typed-client-"));
    symlinkSync(join(root, "node_modules"), join(project, "node_modules"), "dir");
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it("types the served document precisely enough to compile the embedding script and refuse its misuses, and the script runs", async () => {
    const types = astToString(await openapiTS(new URL(`${h.url}/api/v1/openapi.json`)));
    writeFileSync(join(project, "openapi.ts"), types);
    for (const file of ["embedding.ts", "misuses.ts"]) copyFileSync(join(here, file), join(project, file));
    expect(typeCheck(project, ["embedding.ts", "misuses.ts"])).toEqual([]);

    const { embed } = (await import(pathToFileURL(join(project, "embedding.ts")).href)) as { embed: Embed };
    const result = await embed({ baseUrl: h.url, token, workspace: "default", source: "contoso" });

    expect(result.created).toMatchObject({ source: "manual", warnings: [] });
    expect(result.errors).toEqual([
      { status: 409, code: "conflict", outcome: "already there" },
      { status: 404, code: "not_found", outcome: "no such user" },
      { status: 400, code: "invalid_input", outcome: "fix limit" },
    ]);
    expect(result.engineers).toEqual(["ada@example.com"]);
    expect(result.run).toMatchObject({ status: "succeeded", trigger: "api", mode: "full" });
    expect(result.run.phases.at(-1)).toBe("done");

    const synced = await h.store.db
      .selectFrom("users").innerJoin("sources", "sources.id", "users.source_id")
      .select("users.user_principal_name as upn").where("sources.name", "=", "contoso").execute();
    expect(synced.length).toBeGreaterThan(0);
    expect(result.syncedUsers.sort()).toEqual(synced.map((u) => u.upn).sort());
    expect(result.run.created).toBe(synced.length);
    expect(result.createActions).toBe(synced.length);
    expect(result.createdInRun).toHaveLength(synced.length);
    for (const change of result.createdInRun) expect(change).toMatchObject({ action: "create", kind: "create", runId: result.run.id, enabled: expect.any(Boolean) });
    expect(result.status).toEqual({ enabled: true, setBy: "create" });
    expect(result.editableGroups).toEqual(["Analysts (manual)"]);
    const person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().find((u) => u.userPrincipalName === result.syncedUsers[0]);
    expect(result.tried).toEqual({ id: person!.id, accountEnabled: person!.accountEnabled, externalId: person!.id });
    expect(result.checks).toEqual(["token ok", "users ok", "delta ok"]);
    expect(result.notices).toEqual([]);

    // What the run stored is what it answers: no count the schema leaves out.
    const stored = await h.store.db.selectFrom("sync_runs").select("counts").where("id", "=", result.run.id).executeTakeFirstOrThrow();
    expect(Object.keys(stored.counts as object).sort()).toEqual(Object.keys(result.run.counts).sort());
  }, 60_000);
});
