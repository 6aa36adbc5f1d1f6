import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// graphql 16 ships CJS (main) and ESM (module) builds. Node, and so production, loads the CJS one
// everywhere; vitest would hand our source the ESM one while yoga and pothos get CJS, and two
// copies of graphql break `instanceof GraphQLError` and schema realm checks. Pin the one Node uses.
// Both projects inherit it (`extends: true`).
const graphqlEntry = createRequire(import.meta.url).resolve("graphql");

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    pool: "forks",
    // Vitest's default (cores − 1) runs one file at a time on a 2-core machine; the integration files
    // mostly wait on Postgres, Redis and child processes, so two at once use the machine better (three
    // starved the browser and Prisma CLI tests).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Reporters belong to the whole run: the summary line is printed once, for both projects.
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        // Pure tests: no Postgres, Redis, network or child process, so no database template either
        // and worker threads instead of processes. `npm run test:unit` runs only these, in seconds.
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 10_000, pool: "threads" },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // Files run in parallel: each gets its own database (cloned from a migrated template) and its own stream prefix.
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
