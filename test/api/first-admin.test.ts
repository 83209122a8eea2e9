import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { startServer } from "../../src/api/server.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { TestStore } from "../support/db.ts";
import { testRuntime } from "./support.ts";

describe.each(engines)("first admin on %s", (engine) => {
  let rt: Runtime;
  let store: TestStore;
  const logged: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({ write: (chunk, _encoding, done) => { logged.push(String(chunk)); done(); } });
    ({ rt, store } = await testRuntime(engine, { adminEmail: "boss@example.com" }, pino({ level: "trace" }, sink)));
  });
  afterAll(() => store?.dispose());

  it("is created on the first start with a generated password printed once, and not on the second", async () => {
    const printed: string[] = [];
    const first = await startServer(rt, { host: "127.0.0.1", port: 0, print: (text) => printed.push(text) });
    let password: string;
    try {
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(printed).toHaveLength(1);
      expect(printed[0]).toContain("boss@example.com");
      password = /password: (\S+)/.exec(printed[0]!)![1]!;
      expect(password.length).toBeGreaterThanOrEqual(20);

      // Over real HTTP: the printed password signs in.
      const login = await fetch(`${first.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "boss@example.com", password }),
      });
      expect(login.status).toBe(200);
      expect((await login.json()).account).toMatchObject({ email: "boss@example.com", isOwner: true });
      expect(login.headers.get("set-cookie")).toMatch(/rollcall_session=.*HttpOnly.*SameSite=Lax/i);
    } finally {
      await first.close();
    }

    const second = await startServer(rt, { host: "127.0.0.1", port: 0, print: (text) => printed.push(text) });
    await second.close();
    expect(printed).toHaveLength(1);
    const accounts = await store.db.selectFrom("accounts").select(["email", "is_owner", "password_hash"]).execute();
    expect(accounts).toEqual([{ email: "boss@example.com", is_owner: true, password_hash: expect.stringMatching(/^scrypt\$/) }]);
    expect(accounts[0]!.password_hash).not.toContain(password);

    // The log saw the sign-in and the requests, never the password.
    expect(logged.join("")).toContain("admin signed in");
    expect(logged.join("")).not.toContain(password);
  });
});

describe("first admin with ROLLCALL_ADMIN_PASSWORD", () => {
  it("uses the configured password and does not print it", async () => {
    const { rt, store } = await testRuntime("pglite", { adminEmail: "set@example.com", adminPassword: "configured password 123" });
    try {
      const printed: string[] = [];
      const server = await startServer(rt, { host: "127.0.0.1", port: 0, print: (text) => printed.push(text) });
      try {
        expect(printed.join("")).toContain("ROLLCALL_ADMIN_PASSWORD");
        expect(printed.join("")).not.toContain("configured password 123");
        const login = await server.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { email: "set@example.com", password: "configured password 123" } });
        expect(login.statusCode).toBe(200);
      } finally {
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });
});
