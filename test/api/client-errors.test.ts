import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/api/server.ts";
import type { TestStore } from "../support/db.ts";
import { testRuntime } from "./support.ts";

/** What Node's HTTP parser refuses before a route sees it still answers in the API's error shape, over a real socket. */
describe("requests refused by the HTTP parser", () => {
  let app: FastifyInstance;
  let store: TestStore;
  let port: number;

  beforeAll(async () => {
    const runtime = await testRuntime("pglite");
    store = runtime.store;
    app = await buildApp(runtime.rt);
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  const exchange = (request: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.end(request));
      let answer = "";
      socket.on("data", (chunk) => (answer += chunk.toString()));
      socket.on("error", reject);
      socket.on("close", () => {
        const [head = "", body = ""] = answer.split("\r\n\r\n");
        resolve({ status: Number(head.split(" ")[1]), body: body ? JSON.parse(body) : undefined });
      });
    });

  it("a URL too long for the server is a 431 saying what to shorten", async () => {
    const filter = "x".repeat(100_000);
    const reply = await exchange(`GET /api/v1/workspaces/acme/users?search=${filter} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(reply.status).toBe(431);
    expect(reply.body.error.code).toBe("headers_too_large");
    expect(reply.body.error.message).toContain("shorten the URL");
  });

  it("a request that is not HTTP is a 400 in the same shape", async () => {
    const reply = await exchange("HELLO THERE\r\n\r\n");
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: "invalid_input", message: "The request is not valid HTTP" });
  });
});
