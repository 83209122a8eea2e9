import { sql } from "kysely";
import { RollcallError, invalidInput, type FieldProblem } from "../errors.ts";
import { cronProblem, timeZoneProblem, endpoints, entraConfigSchema, graphPropertyProblem, tenantIdProblem, type EntraConfig, type EntraConfigInput } from "../sources/entra/config.ts";
import { checkCredential, cleanCredential, type Credential } from "../sources/entra/token.ts";
import { customUrlProblems, isMicrosoftUrl } from "../sources/entra/custom-urls.ts";
import { publicUrlProblem } from "../sources/entra/subscriptions.ts";
import { ignoringRule } from "../sync/plan-groups.ts";
import { zodProblems, type WorkspaceContext } from "./context.ts";
import { fieldProblemsOf, nameProblems, notSaidYet, withoutRefused } from "./field-problems.ts";
import type { Source, SourceContext } from "./sources.ts";

/**
 * What an Entra ID source's create or change is checked for before anything is saved. Every check runs, so one answer
 * says every field's problem (an admin fixing one does not meet the next on the following try).
 */

/** A tenant or client ID the checks after a refused one look at in its place (none of them reads it). */
const standIn = "00000000-0000-0000-0000-000000000000";
const namePattern = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
const reserved = new Set(["manual", "import"]);

/**
 * Settings someone gives: parsed, and what they give checked more strictly than what is stored: a tenant ID
 * (tenantIdProblem), and the user properties the mapping and group attribute read (graphPropertyProblem).
 */
export function parseGivenConfig(raw: Record<string, unknown>, given: Record<string, unknown> | undefined): EntraConfig {
  const parsed = entraConfigSchema.safeParse(raw);
  const tenantId = given?.tenantId;
  const tenant = typeof tenantId === "string" && tenantId.trim() ? tenantIdProblem(tenantId.trim()) : undefined;
  const read: [string, unknown][] = [
    ...Object.entries((given?.mapping ?? {}) as Record<string, unknown>).map(([to, path]): [string, unknown] => [`mapping.${to}`, path]),
    ["groupAttribute", given?.groupAttribute],
  ];
  const properties = read.flatMap(([field, path]) => {
    const message = typeof path === "string" ? graphPropertyProblem(path) : undefined;
    return message ? [{ field, message, value: path }] : [];
  });
  const { cron, timeZone } = (given?.schedule ?? {}) as { cron?: unknown; timeZone?: unknown };
  const zone = typeof timeZone === "string" && !timeZoneProblem(timeZone) ? timeZone : undefined;
  const cronMessage = typeof cron === "string" && cron.trim() ? cronProblem(cron, zone) : undefined;
  const problems = [
    ...(tenant ? [{ field: "tenantId", message: tenant, value: tenantId }] : []),
    ...(cronMessage ? [{ field: "schedule.cron", message: cronMessage, value: cron }] : []),
    ...properties,
    ...(parsed.success ? [] : zodProblems(parsed.error).filter((p) => !tenant || p.field !== "tenantId")),
  ];
  if (problems.length || !parsed.success) throw invalidInput(problems);
  return parsed.data;
}

/** A name a source of the workspace may take: well-formed, not reserved, not another source's. */
export async function assertFreeName(ctx: Pick<WorkspaceContext, "db" | "workspace">, name: string, ownId: string | null): Promise<void> {
  if (!namePattern.test(name) || reserved.has(name.toLowerCase())) {
    throw invalidInput([{ field: "name", message: "must be 1-63 letters, digits, spaces, '.', '_' or '-' (and not manual or import)", value: name }]);
  }
  const existing = await ctx.db.selectFrom("sources").select("id").where("workspace_id", "=", ctx.workspace.id).where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
  if (existing && existing.id !== ownId) throw new RollcallError("conflict", `A source called "${name}" already exists in workspace ${ctx.workspace.name}`, { field: "name" });
}

/** Sync on change turned on: Microsoft Graph must be able to reach this server, else it is refused, saying what to set. */
export function assertReachableFromGraph(ctx: SourceContext): void {
  const problem = publicUrlProblem(ctx.publicUrl);
  if (problem) throw invalidInput([{ field: "syncOnChange", message: problem, value: true }]);
}

/** A group both selected and ignored would never be synced, and a run would delete it: such settings are refused. */
export function assertSelectionNotIgnored(config: EntraConfig): void {
  if (config.groupMode !== "selected") return;
  const filter = { ignore: config.ignoreGroups, ignoreContaining: config.ignoreGroupsContaining };
  const problems = config.groups.flatMap((group) => {
    const by = ignoringRule(group, filter);
    return by ? [{ field: "groups", value: group, message: `"${group}" is also ignored ("${by.rule}" in ${by.list}), so it would not be synced: take it out of one of the two lists` }] : [];
  });
  if (problems.length) throw invalidInput(problems);
}

export function assertUrlsAllowed(ctx: SourceContext, config: EntraConfig): void {
  const problems = customUrlProblems(config, ctx.entraCustomUrls);
  if (problems.length) throw invalidInput(problems);
}

/**
 * The settings a new secret or certificate brings: its kind, and its expiry date. The date given with it wins;
 * else a certificate's own; a secret given without one has none, not the date of the secret it replaces.
 */
export function credentialConfig(credential: Credential, config: { secretExpiresOn?: string | null | undefined } | undefined): Pick<EntraConfigInput, "credential" | "secretExpiresOn"> {
  const { expiresOn } = checkCredential(credential);
  return { credential: credential.kind, secretExpiresOn: config?.secretExpiresOn !== undefined ? config.secretExpiresOn : expiresOn };
}

/**
 * The stored credential goes only to the login URL it was entered for (or Microsoft's own), and the tokens it
 * earns only to that Graph URL: pointing a source at another host needs the secret (or certificate) given again,
 * else whoever may edit the source could have Rollcall send its write-only secret to a host of their choosing.
 */
export function assertCredentialStaysHome(before: EntraConfig, after: EntraConfig): void {
  const [was, now] = [endpoints(before), endpoints(after)];
  const moved = (["loginUrl", "graphUrl"] as const).filter((key) => was[key] !== now[key] && !isMicrosoftUrl(now[key]));
  if (moved.length === 0) return;
  throw invalidInput([{
    field: before.credential === "certificate" ? "certificatePem" : "clientSecret",
    message: `must be given again when the ${moved.map((k) => (k === "loginUrl" ? "login URL" : "Graph URL")).join(" and ")} change${moved.length > 1 ? "" : "s"} (${moved.map((k) => `${was[k]} → ${now[k]}`).join(", ")}): the stored credential is only sent where it was entered for`,
  }]);
}

/** What a create (`before` undefined) or a change of `before` gives: its name, settings and credential (undefined: unchanged). */
export interface EntraSourceGiven {
  name?: string | undefined;
  config?: Partial<EntraConfigInput> | undefined;
  credential?: Credential | null | undefined;
}

/**
 * Every problem of a new source (`before` undefined) or of a change to `before`, nothing saved; when there is none,
 * the settings and (cleaned) credential to save. A name another source has is a problem here too (`conflict`: alone,
 * it is answered as the 409 it is).
 */
export async function checkEntraSource(ctx: SourceContext, given: EntraSourceGiven, before: Source | undefined): Promise<{ problems: FieldProblem[]; conflict?: RollcallError | undefined; config?: EntraConfig; credential?: Credential | null | undefined }> {
  const problems: FieldProblem[] = [];
  if (!before && !given.credential) problems.push({ field: "clientSecret", message: "is required (or certificatePem and privateKeyPem)" });
  let credential = given.credential;
  let brought: Partial<EntraConfigInput> = {};
  problems.push(...(await fieldProblemsOf(() => {
    if (!given.credential) return;
    credential = cleanCredential(given.credential);
    brought = credentialConfig(credential, given.config);
  })));
  const name = before ? (given.name !== undefined && given.name !== before.name ? given.name : null) : (given.name ?? "");
  const named = name === null ? { problems: [] } : await nameProblems(() => assertFreeName(ctx, name, before?.id ?? null));
  problems.push(...named.problems);
  let config: EntraConfig | undefined;
  const raw = { ...before?.config, ...(given.config ?? {}), ...brought };
  const refused = await fieldProblemsOf(() => (config = parseGivenConfig(raw, given.config)));
  problems.push(...refused);
  // Settings refused: the checks below still look at the others (stand-ins for a refused tenant or client ID, which they do not read).
  const after = config ?? (refused.length ? entraConfigSchema.safeParse({ tenantId: standIn, clientId: standIn, ...before?.config, ...withoutRefused(raw, refused) }).data : undefined);
  if (after) {
    const more: FieldProblem[] = [];
    // On a change, checked when it touches them: a source saved while they were allowed keeps working while other settings change.
    const touches = (keys: string[]) => !before || keys.some((key) => given.config && key in given.config);
    if (before && given.credential === undefined && before.secret.set) more.push(...(await fieldProblemsOf(() => assertCredentialStaysHome(before.config, after))));
    if (touches(["cloud", "loginUrl", "graphUrl"])) more.push(...(await fieldProblemsOf(() => assertUrlsAllowed(ctx, after))));
    if (touches(["groupMode", "groups", "ignoreGroups", "ignoreGroupsContaining"])) more.push(...(await fieldProblemsOf(() => assertSelectionNotIgnored(after))));
    if (after.syncOnChange && !before?.config.syncOnChange) more.push(...(await fieldProblemsOf(() => assertReachableFromGraph(ctx))));
    problems.push(...notSaidYet(more, refused));
  }
  return { problems, conflict: named.conflict, ...(config && { config }), credential };
}
