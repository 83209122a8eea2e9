import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

/**
 * The web console: a single-page app served by `rollcall serve` from `src/console/dist`.
 * During development, `npx vite --config src/console/vite.config.ts` proxies the API to a running server
 * (ROLLCALL_API, default http://127.0.0.1:3111).
 */
const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig(({ command }) => ({
  root,
  base: "/",
  plugins: [react()],
  logLevel: "warn",
  // Always React's production build, even when the build runs inside a test runner (NODE_ENV=test).
  define: command === "build" ? { "process.env.NODE_ENV": JSON.stringify("production") } : {},
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: { "/api": process.env.ROLLCALL_API ?? "http://127.0.0.1:3111" },
  },
}));
