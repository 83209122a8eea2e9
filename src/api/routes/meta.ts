import { z } from "zod";
import { sql } from "kysely";
import { route, type RouteModule } from "../route.ts";
import { version } from "../../version.ts";
import { databaseUnreachable } from "../../errors.ts";

export const metaRoutes: RouteModule = {
  tag: "Service",
  routes: [
    route({
      method: "GET",
      url: "/health",
      summary: "Readiness: the server answers and reaches its database (no credentials needed)",
      description:
        "For a load balancer's readiness check: 503 database_unreachable while the PostgreSQL server cannot be reached (within ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS), 200 again once it is back; 503 database_unreachable too while `rollcall serve` waits at start for its PostgreSQL server (ROLLCALL_DATABASE_WAIT_SECONDS). On the embedded database the check waits while a sync or an import writes (one statement at a time): give it a timeout of 30 seconds or more there, or use /health/live.",
      access: "public",
      quiet: true,
      response: z.object({ status: z.literal("ok"), database: z.enum(["pglite", "postgres"]), version: z.string() }),
      async handler({ rt }) {
        const check = sql`select 1`.execute(rt.store.db);
        // A PostgreSQL server that stopped answering on a connection already made (frozen, cut off without a reset)
        // is said unreachable in the time a new connection gets, rather than holding the probe; the embedded
        // database is waited for (above).
        await (rt.store.kind === "postgres" ? answeredWithin(check, rt.config.databaseConnectTimeoutMs) : check);
        return { status: "ok" as const, database: rt.store.kind, version };
      },
    }),
    route({
      method: "GET",
      url: "/health/live",
      summary: "Liveness: the process answers, whatever its database is doing (no credentials needed)",
      description: "For a liveness probe: it never waits for the database, so a long sync on the embedded database, or a PostgreSQL server being unreachable (also while `rollcall serve` waits for it at start), does not get the process restarted.",
      access: "public",
      quiet: true,
      withoutDatabase: true,
      response: z.object({ status: z.literal("ok"), version: z.string() }),
      async handler() {
        return { status: "ok" as const, version };
      },
    }),
  ],
};

function answeredWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(databaseUnreachable(`no answer within ${ms / 1000} s (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS)`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
