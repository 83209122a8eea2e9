import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../storage/database.ts";
import { RollcallError, invalidInput, type FieldProblem } from "../errors.ts";
import { hashToken, randomToken } from "../security/hashing.ts";
import { isCountryCode } from "../domain/phone.ts";
import { recordChange } from "./change-log.ts";
import { translateDatabaseError, zodProblems, type WorkspaceContext } from "./context.ts";
import { toWorkspace, type Workspace } from "./workspaces.ts";
import { cleanCredential, sealCredential, type Credential } from "../sources/entra/token.ts";
import { credentialConfig, secretText, type SourceContext } from "./sources.ts";
import { secretDaysLeft } from "../domain/source.ts";
import { scimSignInProblems, scimSignInShape } from "./scim-signin-settings.ts";
import { fieldProblemsOf, nameProblems, notSaidYet, refuseAll, withoutRefused } from "./field-problems.ts";

/**
 * SCIM sources: Entra ID's provisioning service pushes users and groups to /scim/v2 with the source's secret token
 * (api/scim.ts). The token alone names the workspace and the source; only its hash is stored, and it is shown once,
 * when the source is added or a new one issued (which revokes the one before).
 */
export const scimRemovals = ["disable", "delete", "keep"] as const;
export type ScimRemoval = (typeof scimRemovals)[number];

export const scimConfigSchema = z
  .object({
    onRemove: z.enum(scimRemovals).default("disable").describe("what Rollcall does when Entra ID deletes a user (DELETE /Users/{id}): disable it and keep it managed here (default), delete it, or keep it enabled and managed here"),
    country: z
      .string()
      .trim()
      .toUpperCase()
      .refine(isCountryCode, "must be a two-letter country code (ISO 3166-1), e.g. DE")
      .nullable()
      .default(null)
      .describe("where local phone numbers are read (E.164 otherwise); null: the workspace's default country"),
    ...scimSignInShape,
  })
  .strict();
export type ScimConfig = z.infer<typeof scimConfigSchema>;

export interface ScimSource {
  id: string;
  name: string;
  type: "scim";
  config: ScimConfig;
  /** What to paste as the Tenant URL in the Azure portal. */
  tenantUrl: string;
  status: { users: number; groups: number; lastRequestAt: string | null; tokenIssuedAt: string };
  /** The client secret (or certificate, config.credential says which) sign-in with Microsoft redeems codes with: whether one is stored (it is never shown). */
  secret: { set: boolean; expiresOn: string | null; daysLeft: number | null; description: string };
  createdAt: string;
  updatedAt: string;
}

/** A source with the secret token just issued for it: shown this once. */
export type ScimSourceWithToken = ScimSource & { token: string };

/** The server's URL the provisioning service reaches: ROLLCALL_PUBLIC_URL, else the URL the request came to. */
export type ScimBaseUrl = string;

export const tenantUrlOf = (baseUrl: ScimBaseUrl): string => `${baseUrl.replace(/\/+$/, "")}/scim/v2`;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
const tokenPrefix = "rcscim_";

function parseConfig(raw: unknown): ScimConfig {
  const parsed = scimConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw invalidInput(zodProblems(parsed.error));
  return parsed.data;
}

async function assertFreeName(ctx: Pick<WorkspaceContext, "db" | "workspace">, name: string, ownId: string | null): Promise<void> {
  if (!namePattern.test(name) || ["manual", "import"].includes(name.toLowerCase())) {
    throw invalidInput([{ field: "name", message: "must be 1-63 letters, digits, spaces, '.', '_' or '-' (and not manual or import)", value: name }]);
  }
  const existing = await ctx.db.selectFrom("sources").select("id").where("workspace_id", "=", ctx.workspace.id).where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
  if (existing && existing.id !== ownId) throw new RollcallError("conflict", `A source called "${name}" already exists in workspace ${ctx.workspace.name}`, { field: "name" });
}

export type ScimSourceGiven = { name?: string | undefined; config?: Partial<ScimConfig> | undefined; credential?: Credential | undefined };

/**
 * Every problem of a new SCIM source (`before` undefined) or of a change to `before` (`name`: a new one), nothing
 * saved, each at its field (a name another source has too; alone it is the 409 conflict).
 */
export async function scimSourceProblems(ctx: ScimSourceContext, given: ScimSourceGiven, before: ScimSource | undefined): Promise<{ problems: FieldProblem[]; conflict?: RollcallError | undefined; config?: ScimConfig; credential?: Credential | undefined }> {
  const problems: FieldProblem[] = [];
  const named = given.name === undefined ? { problems: [] } : await nameProblems(() => assertFreeName(ctx, given.name!, before?.id ?? null));
  problems.push(...named.problems);
  let credential: Credential | undefined;
  let brought = {};
  const credentialProblems = await fieldProblemsOf(() => {
    if (!given.credential) return;
    credential = cleanCredential(given.credential);
    // A new secret or certificate brings its own expiry date (a certificate's, or the one given with it), as an Entra ID source's.
    brought = credentialConfig(credential, given.config);
  });
  problems.push(...credentialProblems);
  let config: ScimConfig | undefined;
  const raw = { ...before?.config, ...given.config, ...brought };
  const refused = await fieldProblemsOf(() => (config = parseConfig(raw)));
  problems.push(...refused);
  // Settings refused: sign-in is still checked with the others (before's, or the defaults, in their place).
  const after = config ?? (refused.length ? scimConfigSchema.safeParse(withoutRefused(raw, refused)).data : undefined);
  if (after) {
    // A credential given but refused is still given: sign-in does not also say one is missing.
    const secretGiven = given.credential !== undefined;
    const givenOk = withoutRefused(given.config ?? {}, refused) as Partial<ScimConfig>;
    problems.push(...notSaidYet(scimSignInProblems({ after, given: givenOk, before: before?.config ?? parseConfig({}), secretStored: before?.secret.set ?? false, secretGiven, customUrls: ctx.entraCustomUrls }), refused));
  }
  return { problems, conflict: named.conflict, ...(config && { config }), credential: credentialProblems.length ? undefined : credential };
}

async function checkScimSource(ctx: ScimSourceContext, given: ScimSourceGiven, before: ScimSource | undefined): Promise<{ config: ScimConfig; credential: Credential | undefined }> {
  const checked = await scimSourceProblems(ctx, given, before);
  refuseAll(checked.problems, checked.conflict);
  return { config: checked.config!, credential: checked.credential };
}

/**
 * Adds a SCIM source, with sign-in with Microsoft from the start if `config` says so: checked as an update checks it
 * (`credential`: the sign-in client secret or certificate, sealed and never shown).
 */
export async function createScimSource(ctx: ScimSourceContext, given: { name: string; config?: Partial<ScimConfig>; credential?: Credential | undefined }, baseUrl: ScimBaseUrl): Promise<ScimSourceWithToken> {
  const name = given.name.trim();
  const { config, credential } = await checkScimSource(ctx, { ...given, name }, undefined);
  const token = randomToken(tokenPrefix);
  const id = await ctx.db
    .transaction()
    .execute(async (trx) => {
      const secret = credential ? sealCredential(ctx.secrets, credential) : null;
      const row = await trx.insertInto("sources").values({ workspace_id: ctx.workspace.id, type: "scim", name, config: JSON.stringify(config), secret_ciphertext: secret }).returning("id").executeTakeFirstOrThrow();
      await trx.insertInto("scim_tokens").values({ source_id: row.id, token_hash: hashToken(token) }).execute();
      await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, subject: name, action: "add source", after: { name, type: "scim", config, ...(credential && { secret: "set" }) } });
      return row.id;
    })
    .catch(translateDatabaseError);
  return { ...(await getScimSource(ctx, id, baseUrl)), token };
}

/** What changing a SCIM source needs beyond its workspace: the secret box (a sign-in secret) and which login hosts are allowed. */
export type ScimSourceContext = WorkspaceContext & Pick<SourceContext, "secrets" | "entraCustomUrls">;

/**
 * Changes a SCIM source's settings or name; `newToken`: issues a new secret token, which revokes the one before at once;
 * `credential`: the sign-in client secret (or certificate), sealed as an Entra ID source's and never shown.
 * A new name is written on its users and groups too, and its history from then on is by `scim:NEW` (what came before
 * stays by the old name, as a renamed Entra ID source's runs do): the source's row is taken first, so a provisioning
 * request creating a user or group meanwhile (which shares it) ends before, or starts after with the new name.
 */
export async function updateScimSource(
  ctx: ScimSourceContext,
  key: string,
  given: { name?: string | undefined; config?: Partial<ScimConfig>; newToken?: boolean; credential?: Credential | undefined },
  baseUrl: ScimBaseUrl,
): Promise<ScimSource & { token?: string }> {
  const before = await getScimSource(ctx, key, baseUrl);
  const rename = given.name !== undefined && given.name.trim() !== before.name ? given.name.trim() : null;
  const { config, credential } = await checkScimSource(ctx, { ...given, name: rename ?? undefined }, before);
  const token = given.newToken ? randomToken(tokenPrefix) : undefined;
  const configChanged = JSON.stringify(config) !== JSON.stringify(before.config) || credential !== undefined;
  await ctx.db
    .transaction()
    .execute(async (trx) => {
      if (configChanged || rename !== null) {
        await trx
          .updateTable("sources")
          .set({ config: JSON.stringify(config), ...(rename !== null && { name: rename }), ...(credential && { secret_ciphertext: sealCredential(ctx.secrets, credential) }), updated_at: sql`now()` })
          .where("id", "=", before.id)
          .execute();
        if (rename !== null) {
          await sql`update users set source_name = ${rename} where source_id = ${before.id}`.execute(trx);
          await sql`update groups set source_name = ${rename} where source_id = ${before.id}`.execute(trx);
        }
        await recordChange(trx, {
          workspaceId: ctx.workspace.id, actor: ctx.actor, subject: rename ?? before.name, action: "update source",
          before: { ...(rename !== null && { name: before.name }), config: before.config },
          after: { ...(rename !== null && { name: rename }), config, ...(credential && { secret: "replaced" }) },
        });
      }
      if (token) {
        await trx.updateTable("scim_tokens").set({ token_hash: hashToken(token), created_at: sql`now()` }).where("source_id", "=", before.id).execute();
        await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, subject: rename ?? before.name, action: "update source", after: { token: "new secret token issued; the one before no longer works" } });
      }
    })
    .catch(translateDatabaseError);
  return { ...(await getScimSource(ctx, before.id, baseUrl)), ...(token && { token }) };
}

type Row = { id: string; name: string; config: unknown; created_at: Date; updated_at: Date; users: number; groups: number; last_request_at: Date | null; token_created_at: Date; secret_set: boolean };

function query(db: Db, workspaceId: string) {
  return db
    .selectFrom("sources as s")
    .innerJoin("scim_tokens as t", "t.source_id", "s.id")
    .select(["s.id", "s.name", "s.config", "s.created_at", "s.updated_at", "t.last_request_at", "t.created_at as token_created_at"])
    .select(sql<number>`(select count(*)::int from users where source_id = s.id)`.as("users"))
    .select(sql<number>`(select count(*)::int from groups where source_id = s.id)`.as("groups"))
    .select(sql<boolean>`s.secret_ciphertext is not null`.as("secret_set"))
    .where("s.workspace_id", "=", workspaceId)
    .where("s.type", "=", "scim");
}

const iso = (d: Date | string) => new Date(d).toISOString();

function present(row: Row, baseUrl: ScimBaseUrl): ScimSource {
  const config = parseConfig(row.config);
  const expiresOn = row.secret_set ? config.secretExpiresOn : null;
  const daysLeft = expiresOn ? secretDaysLeft(expiresOn, new Date()) : null;
  return {
    id: row.id,
    name: row.name,
    type: "scim",
    config,
    tenantUrl: tenantUrlOf(baseUrl),
    status: { users: row.users, groups: row.groups, lastRequestAt: row.last_request_at && iso(row.last_request_at), tokenIssuedAt: iso(row.token_created_at) },
    secret: { set: row.secret_set, expiresOn, daysLeft, description: `${config.credential === "certificate" ? "certificate " : ""}${secretText(expiresOn, daysLeft, row.secret_set)}` },
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export async function getScimSource(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string, baseUrl: ScimBaseUrl): Promise<ScimSource> {
  const row = await query(ctx.db, ctx.workspace.id)
    .where((eb) => eb.or([sql<boolean>`lower(s.name) = lower(${key})`, sql<boolean>`s.id::text = ${key}`]))
    .executeTakeFirst();
  if (!row) {
    const names = (await listScimSources(ctx, baseUrl)).map((s) => `"${s.name}"`);
    const has = names.length ? `its SCIM sources are ${names.join(", ")}` : "it has no SCIM sources (add one with `rollcall sources add scim --name NAME`)";
    throw new RollcallError("not_found", `no SCIM source is named "${key}" in workspace "${ctx.workspace.name}"; ${has}`, { resource: "source", key });
  }
  return present(row as Row, baseUrl);
}

export async function listScimSources(ctx: Pick<WorkspaceContext, "db" | "workspace">, baseUrl: ScimBaseUrl): Promise<ScimSource[]> {
  const rows = await query(ctx.db, ctx.workspace.id).orderBy(sql`lower(s.name)`).execute();
  return rows.map((row) => present(row as Row, baseUrl));
}

/** What a SCIM request acts as: the token's workspace and source, or undefined for a token that is no source's. */
export interface ScimCaller {
  workspace: Workspace;
  source: { id: string; name: string; config: ScimConfig };
}

export async function authenticateScimToken(db: Db, token: string): Promise<ScimCaller | undefined> {
  if (!token.startsWith(tokenPrefix)) return undefined;
  const row = await db
    .selectFrom("scim_tokens as t")
    .innerJoin("sources as s", "s.id", "t.source_id")
    .innerJoin("workspaces as w", "w.id", "s.workspace_id")
    .select(["s.id", "s.name", "s.config", "w.id as workspace_id", "w.name as workspace_name", "w.default_country", "w.created_at"])
    .where("t.token_hash", "=", hashToken(token))
    .executeTakeFirst();
  if (!row) return undefined;
  // When it last made a request, for the source's card; written at most once a minute, not on every request of a cycle.
  await db.updateTable("scim_tokens").set({ last_request_at: sql`now()` }).where("source_id", "=", row.id).where(sql<boolean>`(last_request_at is null or last_request_at < now() - interval '1 minute')`).execute();
  const workspace = toWorkspace({ id: row.workspace_id, name: row.workspace_name, default_country: row.default_country, created_at: row.created_at });
  return { workspace, source: { id: row.id, name: row.name, config: parseConfig(row.config) } };
}
