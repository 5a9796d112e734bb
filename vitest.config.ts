import { defineConfig } from "vitest/config";

/** Tests start real servers on ephemeral loopback ports; each file gets its own process. */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["reflect-metadata"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
