import { createServer, type Server } from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTls } from "../../src/emulator/tls.ts";
import { httpFetch, trustExtraCa } from "../../src/net/http.ts";

// Outbound HTTPS shares one TLS context across connections: it must still refuse a server whose CA is not
// trusted, and trust it once the CA is added.
describe("outbound HTTPS", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollcall-http-"));
  let server: Server;
  let url = "";
  let connections = 0;
  let caPem = "";

  beforeAll(async () => {
    const tls = await loadTls(dir);
    caPem = tls.caPem;
    server = createServer({ key: tls.keyPem, cert: tls.certPem }, (_req, res) => res.end("ok"));
    server.on("secureConnection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a certificate from an untrusted CA", async () => {
    const failure = await httpFetch(url).then(() => null, (error: Error) => error);
    expect(String((failure?.cause as Error | undefined)?.message ?? failure)).toMatch(/certificate/i);
  });

  it("trusts the CA once added, and each new connection verifies against it", async () => {
    trustExtraCa(caPem);
    const before = connections;
    const bodies = await Promise.all(Array.from({ length: 4 }, () => httpFetch(url).then((r) => r.text())));
    expect(bodies).toEqual(["ok", "ok", "ok", "ok"]);
    expect(connections - before).toBeGreaterThan(1);
  });
});
