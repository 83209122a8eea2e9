import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // Two cores: PGlite and the emulator are CPU-heavy, more workers only thrash.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll's own default (1 s) is shorter than a console round trip on a busy 2-core CI machine.
    expect: { poll: { timeout: 15_000 } },
    // The tests' Entra ID is the emulator, on loopback: as the operator of a test server would, they allow its URLs
    // (every Rollcall process a test starts inherits it). Tests of the refusal set it to false.
    env: { ROLLCALL_ENTRA_CUSTOM_URLS: "true" },
    setupFiles: ["test/support/no-network.ts"],
    globalSetup: ["test/support/global-setup.ts"],
  },
});
