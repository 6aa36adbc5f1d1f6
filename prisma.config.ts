import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";

// Prisma 7's CLI downloads a native schema-engine binary on first use, which fails on machines
// without internet access. scripts/prisma-schema-engine.mjs speaks the same protocol over the
// wasm engine that ships inside the `prisma` package, so point the CLI at it — unless the user
// opts into the native engine (PRISMA_NATIVE_SCHEMA_ENGINE=1) or names an engine binary already.
// This must happen here: the config file is loaded before the CLI resolves the engine path.
if (process.env.PRISMA_NATIVE_SCHEMA_ENGINE !== "1" && !process.env.PRISMA_SCHEMA_ENGINE_BINARY) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(
    new URL("./scripts/prisma-schema-engine.mjs", import.meta.url),
  );
}

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: {
    path: "prisma/migrations",
    seed: "tsx prisma/seed.ts",
  },
  datasource: {
    // A default for local development. Never throw when DATABASE_URL is unset (as `env()` would):
    // `prisma generate` runs in postinstall on a fresh clone and needs no database at all.
    url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/orders",
  },
});
