import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { generate } from "@graphql-codegen/cli";
import config from "../../codegen.ts";

const root = new URL("../..", import.meta.url).pathname;

describe("generated GraphQL documents (codegen.ts)", () => {
  it("are up to date with schema.graphql and the documents (run `npm run codegen` after changing either)", async () => {
    const files = (await generate({ ...config, cwd: root, silent: true }, false)) as {
      filename: string;
      content: string;
    }[];
    // Every output of the config, the allow-list included: a document added, changed or removed shows up here.
    expect(files.map((f) => f.filename).sort()).toEqual([
      "src/dashboard/generated/gql.ts",
      "src/dashboard/generated/graphql.ts",
      "src/dashboard/generated/index.ts",
      "src/dashboard/generated/persisted-documents.json",
      "test/generated/gql.ts",
      "test/generated/graphql.ts",
      "test/generated/index.ts",
    ]);
    for (const file of files) {
      const committed = readFileSync(resolve(root, file.filename), "utf8");
      expect(committed, `${file.filename} is stale: run npm run codegen`).toBe(file.content);
    }
  }, 60_000);
});
