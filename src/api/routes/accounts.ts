import { z } from "zod";
import { createAccount, deleteAccount, getAccount, listAccounts, removeWorkspaceRole, resetPassword, setWorkspaceRole } from "../../core/accounts.ts";
import { resolveWorkspace } from "../../core/workspaces.ts";
import { route, type RouteModule } from "../route.ts";
import { accountSchema, listOf, roleSchema } from "../schemas.ts";
import { actorOf, type Principal } from "../auth.ts";

const grantSchema = z.object({ workspaceId: z.string(), workspace: z.string(), role: roleSchema });
const accountWithGrants = accountSchema.extend({ workspaces: z.array(grantSchema).describe("roles held; owners administer every workspace regardless") });
const withPassword = z.object({ account: accountSchema, workspaces: z.array(grantSchema), password: z.string().describe("generated; shown only in this response") });
const accountParams = z.object({ id: z.string().describe("account id or email") });
const grantParams = accountParams.extend({ workspace: z.string().describe("workspace name or id") });

function actingId(principal: Principal): string {
  return principal.kind === "session" ? principal.account.id : "";
}

export const accountRoutes: RouteModule = {
  tag: "Admin accounts",
  description: "People who sign in with a password to run Rollcall. Owners only. (`rollcall admins …` does the same from the command line.)",
  routes: [
    route({
      method: "GET",
      url: "/accounts",
      summary: "List admin accounts and their workspace roles",
      access: "owner",
      response: listOf(accountWithGrants),
      async handler({ rt }) {
        const items = await listAccounts(rt.store.db);
        return { items, total: items.length, limit: items.length, offset: 0 };
      },
    }),
    route({
      method: "POST",
      url: "/accounts",
      summary: "Create an admin account; answers its generated password once",
      access: "owner",
      status: 201,
      body: z
        .object({
          email: z.string().trim().min(1, "is required").max(254),
          displayName: z.string().trim().max(256).optional(),
          owner: z.boolean().default(false),
          workspace: z.string().optional().describe("required unless owner"),
          role: roleSchema.default("admin"),
        })
        .strict(),
      response: withPassword,
      async handler({ rt, body, principal }) {
        const workspace = body.workspace === undefined ? undefined : await resolveWorkspace(rt.store.db, body.workspace);
        return createAccount(rt.store.db, { ...body, workspace }, actorOf(principal));
      },
    }),
    route({
      method: "POST",
      url: "/accounts/:id/reset-password",
      summary: "Give an account a new generated password (answered once) and end its sessions",
      access: "owner",
      params: accountParams,
      response: withPassword,
      async handler({ rt, params, principal }) {
        const account = await getAccount(rt.store.db, params.id);
        const { password } = await resetPassword(rt.store.db, account.email, actorOf(principal));
        const { workspaces, ...plain } = account;
        return { account: plain, workspaces, password };
      },
    }),
    route({
      method: "PUT",
      url: "/accounts/:id/workspaces/:workspace",
      summary: "Grant or change an account's role in a workspace",
      access: "owner",
      params: grantParams,
      body: z.object({ role: roleSchema }).strict(),
      response: accountWithGrants,
      async handler({ rt, params, body, principal }) {
        const account = await getAccount(rt.store.db, params.id);
        const workspace = await resolveWorkspace(rt.store.db, params.workspace);
        return { ...account, workspaces: await setWorkspaceRole(rt.store.db, account, workspace, body.role, actorOf(principal)) };
      },
    }),
    route({
      method: "DELETE",
      url: "/accounts/:id/workspaces/:workspace",
      summary: "Take away an account's role in a workspace",
      access: "owner",
      params: grantParams,
      response: accountWithGrants,
      async handler({ rt, params, principal }) {
        const account = await getAccount(rt.store.db, params.id);
        const workspace = await resolveWorkspace(rt.store.db, params.workspace);
        return { ...account, workspaces: await removeWorkspaceRole(rt.store.db, account, workspace, actorOf(principal)) };
      },
    }),
    route({
      method: "DELETE",
      url: "/accounts/:id",
      summary: "Delete an account (not your own, not the last owner); answers it as it was",
      access: "owner",
      params: accountParams,
      response: accountWithGrants,
      async handler({ rt, params, principal }) {
        const account = await getAccount(rt.store.db, params.id);
        await deleteAccount(rt.store.db, account, actingId(principal), actorOf(principal));
        return account;
      },
    }),
  ],
};
