import { z } from "zod";
import { createApiToken, listApiTokens, revokeApiToken } from "../../core/tokens.ts";
import { route, type RouteModule } from "../route.ts";
import { createdTokenSchema, listOf, roleSchema, tokenSchema, workspaceParams } from "../schemas.ts";

export const tokenRoutes: RouteModule = {
  tag: "API tokens",
  description: "Tokens for scripts, scoped to one workspace and one role. Only a hash is stored; the value is shown once.",
  routes: [
    route({
      method: "GET",
      url: "/workspaces/:workspace/tokens",
      summary: "List tokens (never their values)",
      access: "workspace",
      params: workspaceParams,
      response: listOf(tokenSchema),
      async handler({ ctx }) {
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
      body: z.object({ name: z.string().trim().max(100).optional(), role: roleSchema.default("admin") }).strict().prefault({}),
      response: createdTokenSchema,
      handler: ({ ctx, body }) => createApiToken(ctx.db, ctx.workspace, body, ctx.actor),
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/tokens/:id",
      summary: "Revoke a token",
      access: "workspace",
      params: workspaceParams.extend({ id: z.string() }),
      response: tokenSchema,
      handler: ({ ctx, params }) => revokeApiToken(ctx.db, ctx.workspace, params.id, ctx.actor),
    }),
  ],
};
