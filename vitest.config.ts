import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// graphql 16 ships CJS (main) and ESM (module) builds. Node, and so production, loads the CJS one
// everywhere; vitest would hand our source the ESM one while yoga and pothos get CJS, and two
// copies of graphql break `instanceof GraphQLError` and schema realm checks. Pin the one Node uses.
const graphqlEntry = createRequire(import.meta.url).resolve("graphql");

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Files run in parallel: each gets its own database (cloned from a migrated template) and its own stream prefix.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
