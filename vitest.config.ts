import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

/** Tests start real servers on ephemeral loopback ports; each file gets its own process. */
export default defineConfig({
  resolve: {
    // graphql 16 ships both index.js (CJS, what Node and type-graphql load) and index.mjs (what
    // Vite would pick for our sources). Two copies break `instanceof GraphQLScalarType`: pin one.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["reflect-metadata"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
