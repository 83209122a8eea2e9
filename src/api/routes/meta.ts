import { z } from "zod";
import { sql } from "kysely";
import { route, type RouteModule } from "../route.ts";

export const metaRoutes: RouteModule = {
  tag: "Service",
  routes: [
    route({
      method: "GET",
      url: "/health",
      summary: "Liveness and database reachability (no credentials needed)",
      access: "public",
      response: z.object({ status: z.literal("ok"), database: z.enum(["pglite", "postgres"]), version: z.string() }),
      async handler({ rt }) {
        await sql`select 1`.execute(rt.store.db);
        return { status: "ok" as const, database: rt.store.kind, version: "0.1.0" };
      },
    }),
  ],
};
