/**
 * GraphQL Code Generator: typed documents from schema.graphql (`npm run codegen`). The output is committed, so the
 * image and the dashboard bundle need no codegen step; test/unit/codegen.test.ts fails when it is stale.
 *
 * - src/dashboard/generated/: the dashboard's operations, and persisted-documents.json, the allow-list a production
 *   api loads with TRUSTED_DOCUMENTS=true (README: Trusted documents).
 * - test/generated/: the operations of test/support/documents.ts.
 */
import type { CodegenConfig } from "@graphql-codegen/cli";

/** Strings, not graphql-js ASTs: the dashboard sends text (no graphql in its bundle), the tests too. */
const shared = {
  documentMode: "string",
  enumsAsTypes: true,
  useTypeImports: true,
  scalars: { DateTime: "string" },
  // Plain result types: no fragment masking (the documents here use no fragments).
  fragmentMasking: false,
} as const;

const config: CodegenConfig = {
  schema: "schema.graphql",
  ignoreNoDocuments: false,
  generates: {
    "src/dashboard/generated/": {
      preset: "client",
      documents: ["src/dashboard/**/*.ts", "!src/dashboard/generated/**"],
      presetConfig: {
        fragmentMasking: false,
        // Each document carries its sha256 (sent beside the text); the manifest maps hash → text.
        persistedDocuments: { mode: "embedHashInDocument", hashAlgorithm: "sha256" },
      },
      config: shared,
    },
    "test/generated/": {
      preset: "client",
      documents: ["test/support/documents.ts"],
      presetConfig: { fragmentMasking: false },
      config: shared,
    },
  },
};

export default config;
