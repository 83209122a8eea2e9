import { once } from "node:events";
import type { FastifyReply } from "fastify";

/** Streams CSV text to the client as a download, waiting whenever the socket is full. Check what can fail before calling. */
export async function sendCsv(reply: FastifyReply, fileName: string, chunks: AsyncIterable<string>): Promise<void> {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="${fileName}"`,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  try {
    for await (const chunk of chunks) if (!out.write(chunk)) await once(out, "drain");
    out.end();
  } catch (error) {
    // Headers are gone: cut the connection so the client sees a failed download, not a short file.
    out.destroy(error as Error);
  }
}
