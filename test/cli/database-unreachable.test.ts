import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server, type Socket } from "node:net";
import { runCli } from "../support/cli.ts";

/** The CLI against a PostgreSQL server it cannot reach: it fails fast, says so and where, and exits non-zero. */
describe("the CLI when DATABASE_URL names a server that cannot be reached", () => {
  const sockets: Socket[] = [];
  // Takes connections and never answers, like a server that is frozen or behind a firewall that drops packets.
  const silent: Server = createServer((socket) => void sockets.push(socket));
  let silentPort = 0;
  let closedPort = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("a server that refuses connections (stopped): database_unreachable at once, naming the URL without its password", async () => {
    const started = performance.now();
    const result = await runCli(["users", "list", "--json"], { DATABASE_URL: `postgres://rollcall:s3cret@127.0.0.1:${closedPort}/rollcall` });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const { error } = JSON.parse(result.stderr.trim().split("\n").at(-1)!);
    expect(error).toMatchObject({ code: "database_unreachable", message: expect.stringContaining(`could not connect to PostgreSQL at postgres://rollcall:***@127.0.0.1:${closedPort}/rollcall (DATABASE_URL): connect ECONNREFUSED`) });
    expect(result.stderr).not.toContain("s3cret");
    expect(performance.now() - started).toBeLessThan(15_000); // a process start, not a wait
  });

  it("a server that never answers: gives up after ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS, saying so", async () => {
    const started = performance.now();
    const result = await runCli(["users", "list"], { DATABASE_URL: `postgres://postgres@127.0.0.1:${silentPort}/postgres`, ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS: "0.5" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error [database_unreachable]: Database unreachable: could not connect to PostgreSQL at");
    expect(result.stderr).toContain("no answer within 0.5 s (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS)");
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it("refuses a connect timeout that is not a number of seconds from 0.1 to 300", async () => {
    for (const value of ["0", "soon", "301"]) {
      const result = await runCli(["users", "list"], { DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/postgres`, ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS: value });
      expect(result.code, value).toBe(2);
      expect(result.stderr).toMatch(/ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS: must be (a number of seconds|from 0\.1 to 300 seconds)/);
    }
  });
});
