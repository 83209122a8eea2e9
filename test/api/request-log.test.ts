import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/api/server.ts";
import { testRuntime } from "./support.ts";
import type { FastifyInstance } from "fastify";
import type { TestStore } from "../support/db.ts";

/** The request log (JSON on standard error) never holds the credentials a URL can carry. */
describe("request log", () => {
  const lines: string[] = [];
  let app: FastifyInstance;
  let store: TestStore;

  beforeAll(async () => {
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    const runtime = await testRuntime("pglite", {}, pino({ level: "info" }, sink));
    store = runtime.store;
    app = await buildApp(runtime.rt);
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it("logs the sign-in callback without Microsoft's authorization code and state", async () => {
    const code = "0.AUoAcodeFromMicrosoft-secret";
    const state = "stateValue-that-binds-the-flow";
    const reply = await app.inject({ method: "GET", url: `/api/v1/auth/microsoft/callback?code=${code}&state=${state}&session_state=abc` });
    expect(reply.statusCode).toBe(403);
    const text = lines.join("");
    expect(text).toContain("/api/v1/auth/microsoft/callback?code=redacted&state=redacted&session_state=abc");
    expect(text).not.toContain(code);
    expect(text).not.toContain(state);
  });

  it("leaves health probes out of the info log, and answers them with the package's version", async () => {
    const packageVersion = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
    lines.length = 0;
    for (const url of ["/api/v1/health", "/api/v1/health/live"]) {
      const reply = await app.inject({ method: "GET", url });
      expect(reply.json(), url).toMatchObject({ status: "ok", version: packageVersion });
    }
    expect(lines).toEqual([]);
  });

  it("logs other URLs as they came", async () => {
    await app.inject({ method: "GET", url: "/api/v1/workspaces/default/users?q=ada&limit=5" });
    expect(lines.join("")).toContain('"url":"/api/v1/workspaces/default/users?q=ada&limit=5"');
  });
});
