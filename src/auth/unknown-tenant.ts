import { sql } from "kysely";
import { isGuid } from "../domain/guid.ts";
import { RollcallError } from "../errors.ts";
import { discover, issuerTenant, refused } from "./oidc.ts";
import type { SignInDeps } from "./signin.ts";
import { signInAppOf, type SignInSource } from "./signin-sources.ts";

/**
 * An ID token from a tenant this sign-in does not accept (reason unknown_tenant), said as precisely as the
 * workspace's sources allow; any other error is returned as it is.
 */
export async function explainUnknownTenant(deps: SignInDeps, error: unknown, workspaceId: string, loginUrl: string, sources: SignInSource[]): Promise<unknown> {
  return (await tenantWithoutSignIn(deps, error, workspaceId, loginUrl)) ?? tenantsOffered(error, sources);
}

/**
 * Signed in as someone of an organization the workspace synchronizes after all, through a source that does
 * not sign people in: says which source, and what turns it on, instead of "not one this workspace synchronizes".
 */
async function tenantWithoutSignIn(deps: SignInDeps, error: unknown, workspaceId: string, loginUrl: string): Promise<RollcallError | null> {
  if (!(error instanceof RollcallError) || error.details.reason !== "unknown_tenant") return null;
  const rows = await deps.db
    .selectFrom("sources as s")
    .innerJoin("workspaces as w", "w.id", "s.workspace_id")
    .select(["s.name", "s.type", "s.config", "w.name as workspace"])
    .where("s.workspace_id", "=", workspaceId)
    .where("s.type", "in", ["entra", "scim"])
    .where(sql<boolean>`(s.config->>'signIn')::boolean is not true`)
    .orderBy(sql`lower(s.name)`)
    .execute();
  for (const row of rows) {
    const app = signInAppOf(row.type, row.config, { signingIn: false });
    if (!app) continue;
    const { tenantId } = app;
    const tid = isGuid(tenantId) ? tenantId.toLowerCase() : await discover(deps.fetch, loginUrl, tenantId).then((m) => issuerTenant(m.issuer), () => undefined);
    if (tid !== error.details.tenantId) continue;
    return refused("not_offered", `Your organization is synchronized into workspace "${row.workspace}" by source "${row.name}", which does not offer sign-in with Microsoft. ` +
      `Ask an admin to turn it on (rollcall sources update ${row.name} --sign-in, or "Use for Sign in with Microsoft" in the source's settings).`, { tenantId: tid, source: row.name }, error);
  }
  return null;
}

/**
 * Signed in at /organizations as someone of an organization the workspace does not synchronize: perhaps a
 * guest of one that it does, whom Microsoft signed in at home. The refusal names each organization, so
 * the person can sign in through theirs (its own authority).
 */
function tenantsOffered(error: unknown, sources: SignInSource[]): unknown {
  const byTenant = new Map(sources.map((s) => [s.config.tenantId.toLowerCase(), s.name]));
  if (!(error instanceof RollcallError) || error.details.reason !== "unknown_tenant" || byTenant.size < 2) return error;
  const organizations = [...byTenant.values()];
  return refused(
    "unknown_tenant",
    `${error.message}. If you are a guest in one of its organizations, sign in through that organization: ${organizations.join(", ")}.`,
    { ...error.details, workspace: sources[0]!.workspace, organizations },
    error,
  );
}
