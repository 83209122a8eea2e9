import { sql } from "kysely";
import { invalidInput } from "../errors.ts";
import type { SecretBox } from "../security/encryption.ts";
import type { Config } from "../config.ts";
import { endpoints, entraConfigSchema, type EntraConfig, type EntraConfigInput } from "../sources/entra/config.ts";
import { openCredential, sealCredential, type Credential } from "../sources/entra/token.ts";
import { entraFetch } from "../sources/entra/custom-urls.ts";
import { testConnection, type ConnectResult } from "../sources/entra/connect.ts";
import type { Runtime } from "../runtime.ts";
import { nextRunAt } from "../sync/schedule.ts";
import { translateDatabaseError, zodProblems, type WorkspaceContext } from "./context.ts";
import { recordChange } from "./change-log.ts";
import { lockIdleSource } from "../sync/lease.ts";
import { markDirtyOutsideRun } from "../sync/dirty.ts";
import { assertIfMatch, versionOf } from "./versions.ts";
import { secretDaysLeft } from "../domain/source.ts";
import { runCountsOf, type RunCounts } from "../domain/run-counts.ts";
import type { RunMode, RunStatus } from "../storage/schema.ts";
import { deleteAtGraph, reconcileSubscriptions, subscribingSource, subscriptionIdsOf, subscriptionStatuses, type SubscriptionStatus } from "./change-subscriptions.ts";
import { unknownSource } from "./source-not-found.ts";
import { checkEntraSource } from "./entra-source-checks.ts";
import { refuseAll } from "./field-problems.ts";

export { credentialConfig } from "./entra-source-checks.ts";

/**
 * Entra ID sources of a workspace. The client secret is sealed with the runtime's SecretBox, write-only:
 * no read returns it, only whether it is set and when it expires.
 */
export interface SourceContext extends WorkspaceContext {
  secrets: SecretBox;
  /** Whether login and Graph URLs other than Microsoft's clouds' may be saved (ROLLCALL_ENTRA_CUSTOM_URLS). */
  entraCustomUrls: Config["entraCustomUrls"];
  /** Where Microsoft Graph reaches this server (ROLLCALL_PUBLIC_URL): sync on change needs it. */
  publicUrl?: Config["publicUrl"];
}

/** A workspace operation's context with what sources need from the runtime: its secrets, and which URLs it allows. */
export function sourceContext(rt: Pick<Runtime, "secrets" | "config">, ctx: WorkspaceContext): SourceContext {
  return { ...ctx, secrets: rt.secrets, entraCustomUrls: rt.config.entraCustomUrls, publicUrl: rt.config.publicUrl };
}

export interface SourceStatus {
  syncedUsers: number;
  syncedGroups: number;
  /** With its counts: a run's conflicts and warnings are what still needs an admin's eye (each run plans them again). */
  lastRun: { id: string; status: RunStatus; mode: RunMode; dryRun: boolean; counts: RunCounts; startedAt: string; finishedAt: string | null } | null;
  running: string | null;
  /** The newest real run, when it stopped at the deletion threshold and waits for an admin to approve or reject it (a preview after it does not hide it). */
  awaitingReview: string | null;
  /**
   * Other Entra ID sources of the workspace reading the same tenant for some of the same users (either one all
   * users, or a scope group in both): a user both claim is a conflict that neither source changes.
   */
  overlapping: string[];
  nextRunAt: string | null;
  /** Sync on change: its Graph subscriptions (users, and groups when it reads them), each with its expiry or why it could not be made. */
  subscriptions: SubscriptionStatus[];
}

export interface Source {
  id: string;
  name: string;
  type: "entra";
  config: EntraConfig;
  /** daysLeft: secretDaysLeft of expiresOn when the answer was made (0 or less: expired). */
  secret: { set: boolean; expiresOn: string | null; daysLeft: number | null; description: string };
  status: SourceStatus;
  createdAt: string;
  updatedAt: string;
}

export function parseEntraConfig(raw: unknown): EntraConfig {
  const parsed = entraConfigSchema.safeParse(raw);
  if (!parsed.success) throw invalidInput(zodProblems(parsed.error));
  return parsed.data;
}

export function secretText(expiresOn: string | null, daysLeft: number | null, set: boolean): string {
  if (!set) return "not set";
  if (!expiresOn || daysLeft === null) return "set";
  if (daysLeft <= 0) return `set, EXPIRED on ${expiresOn}`;
  return `set, expires on ${expiresOn}${daysLeft <= 30 ? ` (in ${daysLeft} day${daysLeft === 1 ? "" : "s"})` : ""}`;
}

/** A new source connects with a client secret or a certificate: without one (`undefined`, none given) it is refused. Checked whole first (checkEntraSource). */
export async function createEntraSource(ctx: SourceContext, given: { name: string; config: EntraConfigInput; credential: Credential | undefined }): Promise<Source> {
  const checked = await checkEntraSource(ctx, given, undefined);
  refuseAll(checked.problems, checked.conflict);
  const [config, input] = [checked.config!, { name: given.name, credential: checked.credential! }];
  await ctx.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto("sources")
      .values({ workspace_id: ctx.workspace.id, type: "entra", name: input.name, config: JSON.stringify(config), secret_ciphertext: sealCredential(ctx.secrets, input.credential) })
      .returning("id")
      .executeTakeFirstOrThrow()
      .catch(translateDatabaseError);
    await trx.insertInto("source_state" as never).values({ source_id: row.id, next_run_at: nextRunAt(config.schedule, new Date()) } as never).execute();
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, subject: input.name, action: "add source", after: { name: input.name, type: "entra", config } });
  });
  if (config.syncOnChange) await subscribe(ctx, input.name);
  return getSource(ctx, input.name);
}

/** The source's Graph subscriptions brought in line with its settings; a failure is the source's warning, never an error here. */
async function subscribe(ctx: SourceContext, key: string): Promise<void> {
  await reconcileSubscriptions({ db: ctx.db, secrets: ctx.secrets, fetch: entraFetch(ctx), publicUrl: ctx.publicUrl }, await loadSourceForSync(ctx, key), { retryFailed: true });
}

/**
 * Changes a source's settings, secret or name. A new name is written on the source's users and groups too
 * (what "source" shows on them), so it waits for a running sync, which writes the old one on users it creates.
 */
export async function updateEntraSource(
  ctx: SourceContext,
  key: string,
  given: { name?: string; config?: Partial<EntraConfigInput>; credential?: Credential | null },
  options: { ifMatch?: string | undefined } = {},
): Promise<Source> {
  const before = await getSource(ctx, key);
  const checked = await checkEntraSource(ctx, given, before);
  refuseAll(checked.problems, checked.conflict);
  const [config, input] = [checked.config!, { ...given, credential: checked.credential }];
  const rename = input.name !== undefined && input.name !== before.name ? input.name : null;
  // A different scope, mapping or on-remove invalidates what the mirror says: the next run lists everything
  // again (the stored delta links carry the old $select) and plans every user, those that left Entra ID
  // and the source still holds included (a new on-remove applies to them).
  // Syncing photos changes nothing of the listing: turned on, its next run checks every user's photo (sync/photos.ts).
  const replan = JSON.stringify({ ...config, schedule: null, secretExpiresOn: null, signIn: false, syncOnChange: false, photos: false }) !== JSON.stringify({ ...before.config, schedule: null, secretExpiresOn: null, signIn: false, syncOnChange: false, photos: false });
  // Graph subscriptions belong to a tenant and an app in a cloud: a source moved to others leaves them (deleted there
  // with the credential that made them) and has new ones made where it now reads.
  const leaving = graphHome(config) !== graphHome(before.config) ? await subscriptionsLeft(ctx, before.id) : null;
  await ctx.db.transaction().execute(async (trx) => {
    if (leaving) await sql`delete from graph_subscriptions where source_id = ${before.id}`.execute(trx);
    if (options.ifMatch !== undefined) {
      await trx.selectFrom("sources").select("id").where("id", "=", before.id).forUpdate().execute();
      const now = await getSource({ db: trx, workspace: ctx.workspace }, before.id).catch(() => null);
      assertIfMatch(options.ifMatch, now && sourceVersion(now), "source");
    }
    // A run goes on with the settings it started with, and would store its delta links and clear the marks
    // over this change: refused until it ends (a schedule, secret or sign-in change does not touch a run).
    if (replan && rename === null) await lockIdleSource(trx, before, "a run uses the settings it started with, so change them once it ends (or stop it)");
    if (rename !== null) {
      await lockIdleSource(trx, before);
      await sql`update users set source_name = ${rename} where source_id = ${before.id}`.execute(trx);
      await sql`update groups set source_name = ${rename} where source_id = ${before.id}`.execute(trx);
    }
    await trx
      .updateTable("sources")
      .set({
        config: JSON.stringify(config),
        ...(rename !== null && { name: rename }),
        ...(input.credential !== undefined && { secret_ciphertext: sealCredential(ctx.secrets, input.credential) }),
        updated_at: sql`now()`,
      })
      .where("id", "=", before.id)
      .execute()
      .catch(translateDatabaseError);
    if (JSON.stringify(config.schedule) !== JSON.stringify(before.config.schedule)) {
      await sql`update source_state set next_run_at = ${nextRunAt(config.schedule, new Date())} where source_id = ${before.id}`.execute(trx);
    }
    if (config.photos && !before.config.photos) await sql`update source_state set photos_checked_at = null where source_id = ${before.id}`.execute(trx);
    if (replan) {
      await sql`update source_state set users_delta_link = null, groups_delta_link = null where source_id = ${before.id}`.execute(trx);
      await markDirtyOutsideRun(trx, sql`select source_id, id from entra_users where source_id = ${before.id}
        union select source_id, external_id from users where source_id = ${before.id} and external_id is not null`);
    }
    await recordChange(trx, {
      workspaceId: ctx.workspace.id, actor: ctx.actor, subject: rename ?? before.name, action: "update source",
      before: { ...(rename !== null && { name: before.name }), config: before.config },
      after: { ...(rename !== null && { name: rename }), config, ...(input.credential !== undefined && { secret: "replaced" }) },
    });
  });
  if (leaving?.source) await deleteAtGraph({ fetch: entraFetch(ctx) }, leaving.source, leaving.ids);
  if (config.syncOnChange || before.config.syncOnChange) await subscribe(ctx, before.id);
  return getSource(ctx, before.id);
}

/** Where a source's Graph subscriptions live: its tenant, its app and its cloud's endpoints. */
function graphHome(config: EntraConfig): string {
  return JSON.stringify({ tenantId: config.tenantId.toLowerCase(), clientId: config.clientId.toLowerCase(), ...endpoints(config) });
}

/** A source's Graph subscriptions with the source as it made them (its credential: null when this process cannot open it). */
async function subscriptionsLeft(ctx: SourceContext, sourceId: string): Promise<{ source: Awaited<ReturnType<typeof subscribingSource>>; ids: string[] }> {
  return { source: await subscribingSource(ctx.db, ctx.secrets, sourceId).catch(() => null), ids: await subscriptionIdsOf(ctx.db, sourceId) };
}

/** A source's version (ETag): its settings, name and secret; not its sync status, which every run changes. */
export function sourceVersion(source: Source): string {
  return versionOf({ id: source.id, name: source.name, config: source.config, secret: source.secret.set, updatedAt: source.updatedAt });
}

type SourceRow = { id: string; name: string; type: string; config: unknown; secret_ciphertext: string | null; created_at: Date; updated_at: Date };

async function findRow(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<SourceRow> {
  const row = await ctx.db
    .selectFrom("sources")
    .selectAll()
    .where("workspace_id", "=", ctx.workspace.id)
    .where("type", "=", "entra")
    .where((eb) => eb.or([sql<boolean>`lower(name) = lower(${key})`, sql<boolean>`id::text = ${key}`]))
    .executeTakeFirst();
  if (!row) throw await unknownSource(ctx, key);
  return row as SourceRow;
}

export async function getSource(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<Source> {
  return present(ctx, await findRow(ctx, key));
}

export async function listSources(ctx: Pick<WorkspaceContext, "db" | "workspace">): Promise<Source[]> {
  const rows = await ctx.db.selectFrom("sources").selectAll().where("workspace_id", "=", ctx.workspace.id).where("type", "=", "entra").orderBy(sql`lower(name)`).execute();
  return Promise.all(rows.map((r) => present(ctx, r as SourceRow)));
}

/** What a run needs: the parsed config and the opened credential. Never leaves the server. */
export async function loadSourceForSync(ctx: Pick<SourceContext, "db" | "workspace" | "secrets">, key: string): Promise<{ id: string; name: string; config: EntraConfig; credential: Credential | null }> {
  const row = await findRow(ctx, key);
  const config = parseEntraConfig(row.config);
  // Local phone numbers are read in the user's usage location, else the source's country, else the workspace's.
  if (config.country === null && ctx.workspace.defaultCountry) config.country = ctx.workspace.defaultCountry;
  return { id: row.id, name: row.name, config, credential: openCredential(ctx.secrets, row.secret_ciphertext) };
}

/** Connects as the source: a fresh token with its stored credential, then each Graph permission it needs, proved. */
export async function testSource(ctx: SourceContext, key: string): Promise<ConnectResult> {
  const source = await loadSourceForSync(ctx, key);
  return testConnection(source.config, source.credential, entraFetch(ctx), { name: source.name, workspace: ctx.workspace.name });
}

/** Whether two sources read the same tenant for some of the same users (see SourceStatus.overlapping). */
function overlaps(a: EntraConfig, b: EntraConfig): boolean {
  if (a.tenantId.toLowerCase() !== b.tenantId.toLowerCase()) return false;
  if (a.users === "all" || b.users === "all") return true;
  const groups = new Set(a.scopeGroups.map((g) => g.toLowerCase()));
  return b.scopeGroups.some((g) => groups.has(g.toLowerCase()));
}

type LastRunRow = { id: string; status: RunStatus; mode: RunMode; dry_run: boolean; counts: unknown; started_at: Date; finished_at: Date | null };

export function lastRunOf(last: LastRunRow): NonNullable<SourceStatus["lastRun"]> {
  const iso = (d: Date) => new Date(d).toISOString();
  return { id: last.id, status: last.status, mode: last.mode, dryRun: last.dry_run, counts: runCountsOf(last.counts as Record<string, unknown>), startedAt: iso(last.started_at), finishedAt: last.finished_at ? iso(last.finished_at) : null };
}

export type RunStateColumns = { next_run_at: Date | null; running: string | null; awaiting_review: string | null };

/**
 * A source's run state as columns of a query over `sources s`: its next scheduled run, the run going on now (one
 * holding a live lease), and the newest real run when it stopped awaiting review. One definition for a source's
 * card and the workspaces' overview (workspace-overview.ts), which reads every source of many workspaces at once.
 */
export const runStateColumns = sql`
  (select next_run_at from source_state where source_id = s.id) as next_run_at,
  (select r.id::text from sync_runs r join source_state st on st.lease_run_id = r.id and st.lease_expires_at > now()
    where r.source_id = s.id and r.status = 'running') as running,
  (select case when status = 'stopped' then id::text end from sync_runs
    where source_id = s.id and not dry_run and status <> 'running' order by started_at desc limit 1) as awaiting_review`;

async function present(ctx: Pick<WorkspaceContext, "db" | "workspace">, row: SourceRow): Promise<Source> {
  const config = parseEntraConfig(row.config);
  const { rows } = await sql<{ users: number; groups: number } & RunStateColumns>`
    select (select count(*)::int from users where source_id = s.id) as users,
           (select count(*)::int from groups where source_id = s.id) as groups,
           ${runStateColumns}
    from sources s where s.id = ${row.id}`.execute(ctx.db);
  const s = rows[0]!;
  const others = await ctx.db.selectFrom("sources").select(["name", "config"]).where("workspace_id", "=", ctx.workspace.id).where("type", "=", "entra").where("id", "<>", row.id).orderBy(sql`lower(name)`).execute();
  const last = await ctx.db.selectFrom("sync_runs").select(["id", "status", "mode", "dry_run", "counts", "started_at", "finished_at"]).where("source_id", "=", row.id).orderBy("started_at", "desc").limit(1).executeTakeFirst();
  const set = row.secret_ciphertext !== null;
  const daysLeft = config.secretExpiresOn ? secretDaysLeft(config.secretExpiresOn, new Date()) : null;
  return {
    id: row.id,
    name: row.name,
    type: "entra",
    config,
    secret: { set, expiresOn: config.secretExpiresOn, daysLeft, description: `${config.credential === "certificate" ? "certificate " : ""}${secretText(config.secretExpiresOn, daysLeft, set)}` },
    status: {
      syncedUsers: s.users,
      syncedGroups: s.groups,
      lastRun: last ? lastRunOf(last) : null,
      running: s.running,
      awaitingReview: s.awaiting_review,
      overlapping: others.filter((o) => overlaps(config, parseEntraConfig(o.config))).map((o) => o.name),
      nextRunAt: config.schedule && s.next_run_at ? new Date(s.next_run_at).toISOString() : null,
      subscriptions: await subscriptionStatuses(ctx.db, row.id),
    },
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
