import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyStatic from "@fastify/static";

/** Where the web console's build lands (`src/console/dist`). */
export const consoleDist = fileURLToPath(new URL("../console/dist/", import.meta.url));

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rollcall</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:.1rem .3rem}</style>
</head><body><h1>Rollcall</h1>
<p>The API is running at <a href="/api/v1/openapi.json"><code>/api/v1</code></a>, but the web console has not been built.</p>
<p>Build it with <code>npm run build:console</code> (it writes <code>src/console/dist</code>) and restart <code>rollcall serve</code>.</p>
</body></html>`;

/**
 * Serves the console's files at `/`, and its `index.html` for any other non-API GET so the
 * console's own router can handle deep links. Returns the fallback for unknown non-API GETs.
 */
export async function registerConsole(app: FastifyInstance, dist = consoleDist): Promise<(request: FastifyRequest, reply: FastifyReply) => FastifyReply> {
  const built = existsSync(`${dist}/index.html`);
  if (!built) {
    app.get("/", (_request, reply) => reply.type("text/html; charset=utf-8").send(notBuiltPage));
    return (_request, reply) => reply.type("text/html; charset=utf-8").send(notBuiltPage);
  }
  await app.register(fastifyStatic, { root: dist, prefix: "/", wildcard: true, index: ["index.html"] });
  return (_request, reply) => reply.type("text/html; charset=utf-8").sendFile("index.html");
}
