import type { Db } from "../storage/database.ts";
import { endpoints } from "../sources/entra/config.ts";
import type { Config } from "../config.ts";
import { isAllowedEntraUrl } from "../sources/entra/custom-urls.ts";
import { signInAppOf } from "./signin-sources.ts";

/**
 * Signing out of Rollcall leaves the browser's Microsoft session alive (Outlook, Teams and other apps use it).
 * For someone signed in with Microsoft, this is where the browser goes to end that too: the tenant's sign-out
 * endpoint, which then sends it back to post_logout_redirect_uri, a URI that must be registered on the app
 * (Rollcall's callback is already). https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request
 *
 * The account's directory user tells the source, and so the tenant and login host; a source that has gone, or
 * whose login host Rollcall may no longer reach (ROLLCALL_ENTRA_CUSTOM_URLS), gives null: no browser is sent there.
 */
export async function microsoftSignOutUrl(db: Db, accountId: string, options: { postLogoutRedirectUri: string; customUrlsAllowed: Config["entraCustomUrls"]; logoutHint: string | null }): Promise<string | null> {
  const row = await db
    .selectFrom("accounts as a")
    .innerJoin("users as u", "u.id", "a.user_id")
    .innerJoin("sources as s", "s.id", "u.source_id")
    .select(["s.type", "s.config"])
    .where("a.id", "=", accountId)
    .where("s.type", "in", ["entra", "scim"])
    .executeTakeFirst();
  const app = row && signInAppOf(row.type, row.config, { signingIn: false });
  if (!app) return null;
  const { loginUrl } = endpoints(app);
  if (!isAllowedEntraUrl(loginUrl, options.customUrlsAllowed)) return null;
  const url = new URL(`${loginUrl}/${encodeURIComponent(app.tenantId)}/oauth2/v2.0/logout`);
  url.searchParams.set("post_logout_redirect_uri", options.postLogoutRedirectUri);
  // The session's login_hint claim: Microsoft signs that account out without asking which; without it, it always
  // asks, "even if there is only one user account to select" (the claim is an app registration's optional claim).
  if (options.logoutHint) url.searchParams.set("logout_hint", options.logoutHint);
  return url.toString();
}
