import { z } from "zod";
import { RollcallError } from "../../errors.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../../core/tokens.ts";
import { route, type RouteModule } from "../route.ts";
import type { Principal } from "../auth.ts";
import { createdTokenSchema, listOf, roleSchema, tokenSchema, workspaceParams } from "../schemas.ts";

export const tokenRoutes: RouteModule = {
  tag: "API tokens",
  description: "Tokens for scripts, scoped to one workspace and one role. Only a hash is stored; the value is shown once.",
  routes: [
    route({
      method: "GET",
      url: "/workspaces/:workspace/tokens",
      summary: "List tokens (never their values); admins only",
      description: "Viewers are refused (403 forbidden): which systems hold tokens, with which role, and when they last called are the admins' business.",
      access: "workspace",
      params: workspaceParams,
      response: listOf(tokenSchema),
      async handler({ ctx, role }) {
        if (role !== "admin") throw new RollcallError("forbidden", `Only the admins of workspace "${ctx.workspace.name}" see its API tokens`, { role });
        const items = await listApiTokens(ctx.db, ctx.workspace);
        return { items, total: items.length, limit: items.length, offset: 0 };
      },
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/tokens",
      summary: "Create a token; the response is the only time its value is shown",
      access: "workspace",
      status: 201,
      params: workspaceParams,
      description: "Only a person signed in (the console, `rollcall login`) may: a token that could make tokens would outlive its own revocation in the ones it made.",
      body: z
        .object({
          name: z.string().trim().max(100).optional(),
          role: roleSchema.default("admin"),
          expiresInDays: z.number().int().min(1).max(3650).optional().describe("the token is refused after this many days; left out, it never expires"),
        })
        .strict()
        .prefault({}),
      response: createdTokenSchema,
      handler: ({ ctx, body, principal }) => {
        refuseTokens(principal, "create");
        return createApiToken(ctx.db, ctx.workspace, body, ctx.actor, principal.kind === "session" ? principal.account.id : null);
      },
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/tokens/:id",
      summary: "Revoke a token",
      access: "workspace",
      params: workspaceParams.extend({ id: z.string() }),
      response: tokenSchema,
      handler: ({ ctx, params, principal }) => revokeApiToken(ctx.db, ctx.workspace, params.id, ctx.actor, () => refuseTokens(principal, "revoke")),
    }),
  ],
};

function refuseTokens(principal: Principal | undefined, what: "create" | "revoke"): void {
  if (principal?.kind === "token") {
    throw new RollcallError("forbidden", `An API token cannot ${what} API tokens: sign in as an admin (the console, or \`rollcall login\`) to ${what} one`, { principal: "token" });
  }
}
