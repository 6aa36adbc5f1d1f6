/**
 * The import walls of issue 18, as eslint.config.js encodes them: small snippets are linted at virtual paths (the
 * files need not exist), so the walls are proven before and after the tree moves, without Postgres or Redis.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint, type Linter } from "eslint";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const eslint = new ESLint({ cwd: root });

async function lint(filePath: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  return result!.messages;
}

/** A snippet that imports `specifier` and uses the binding (so no-unused-vars stays quiet). */
const importing = (specifier: string) => `import { x } from "${specifier}";\nexport const y = x;\n`;

const WALL = {
  platform: "Wall: src/platform/ knows no order",
  observability: "Wall: src/platform/observability/ is a leaf",
  module: (own: string) => `Wall: src/modules/${own}/ never imports another module`,
  contracts: "Wall: src/contracts/ is the published event contract",
  test: "src/ never imports test/",
};

async function expectWall(filePath: string, code: string, message: string) {
  const messages = await lint(filePath, code);
  expect(messages, `${filePath}: ${code}`).toContainEqual(
    expect.objectContaining({
      ruleId: "no-restricted-imports",
      severity: 2,
      message: expect.stringContaining(message),
    }),
  );
}

async function expectClean(filePath: string, code: string) {
  expect(await lint(filePath, code), `${filePath}: ${code}`).toEqual([]);
}

describe("import walls", () => {
  describe("src/platform/ never imports modules, contracts or the composition root", () => {
    it.each([
      ["src/platform/live/hub.ts", "../../modules/orders/index.ts"],
      ["src/platform/live/hub.ts", "../../modules/inventory"],
      ["src/platform/events/registry.ts", "../../contracts/index.ts"],
      ["src/platform/events/registry.ts", "../../contracts/orders.ts"],
      ["src/platform/graphql/server.ts", "../../app.ts"],
      ["src/platform/roles.ts", "../modules.ts"],
      ["src/platform/roles.ts", "./../modules/products/index.ts"],
      ["src/platform/graphql/admin/dead-letters.ts", "../../../modules/orders/saga.ts"],
      ["src/platform/observability/readiness.ts", "../../modules/orders/index.ts"],
    ])("%s ↛ %s", async (file, specifier) => {
      await expectWall(file, importing(specifier), WALL.platform);
    });

    it("also type-only imports and re-exports", async () => {
      await expectWall(
        "src/platform/consumers/router.ts",
        'import type { Order } from "../../modules/orders/index.ts";\nexport type O = Order;\n',
        WALL.platform,
      );
      await expectWall(
        "src/platform/events/registry.ts",
        'export * from "../../contracts/orders.ts";\n',
        WALL.platform,
      );
      await expectWall(
        "src/platform/events/registry.ts",
        'export { orderPlaced } from "../../contracts/orders.ts";\n',
        WALL.platform,
      );
    });

    it("a dynamic import() of a relative file is refused (no-restricted-imports would not see it)", async () => {
      const messages = await lint(
        "src/platform/live/hub.ts",
        'export const load = () => import("../../modules/orders/index.ts");\n',
      );
      expect(messages).toContainEqual(expect.objectContaining({ ruleId: "no-restricted-syntax", severity: 2 }));
    });

    it("never imports the root's config, schema or module list: the root hands the platform its settings", async () => {
      await expectWall("src/platform/infra/database.ts", importing("../../config.ts"), WALL.platform);
      await expectWall("src/platform/observability/logger.ts", importing("../../config.ts"), WALL.platform);
      await expectWall("src/platform/graphql/server.ts", importing("../../schema.ts"), WALL.platform);
      await expectWall("src/platform/graphql/server.ts", importing("../../graphiql-examples.ts"), WALL.platform);
    });

    it("may import other platform features and shared", async () => {
      await expectClean("src/platform/outbox/relay.ts", importing("../events/envelope.ts"));
      await expectClean("src/platform/outbox/relay.ts", importing("../observability/logger.ts"));
      await expectClean("src/platform/graphql/admin/system-status.ts", importing("../../consumers/dead-letters.ts"));
      await expectClean("src/platform/roles.ts", importing("./shared/backoff.ts"));
      await expectClean("src/platform/graphql/server.ts", importing("graphql-yoga"));
    });
  });

  describe("src/platform/observability/ is a leaf", () => {
    const features = ["events", "infra", "outbox", "consumers", "live", "graphql", "auth", "idempotency", "retention"];

    it.each(features)("observability ↛ ../%s", async (feature) => {
      await expectWall("src/platform/observability/metrics.ts", importing(`../${feature}/x.ts`), WALL.observability);
      await expectWall("src/platform/observability/metrics.ts", importing(`../${feature}`), WALL.observability);
      await expectWall(
        "src/platform/observability/metrics.ts",
        importing(`../../platform/${feature}/x.ts`),
        WALL.observability,
      );
    });

    it("observability ↛ ../roles.ts", async () => {
      await expectWall("src/platform/observability/health-server.ts", importing("../roles.ts"), WALL.observability);
    });

    it("may import ../shared/, its own folder and packages", async () => {
      await expectClean("src/platform/observability/metrics.ts", importing("../shared/deadline.ts"));
      await expectClean("src/platform/observability/yoga.ts", importing("./tracing.ts"));
      await expectClean("src/platform/observability/yoga.ts", importing("graphql"));
      await expectClean("src/platform/observability/tracing.ts", importing("@opentelemetry/api"));
    });
  });

  describe("a module never imports another module", () => {
    const modules = ["orders", "inventory", "products"];
    const pairs = modules.flatMap((own) => modules.filter((other) => other !== own).map((other) => [own, other]));

    it.each(pairs)("%s ↛ %s", async (own, other) => {
      const wall = WALL.module(own);
      await expectWall(`src/modules/${own}/index.ts`, importing(`../${other}/index.ts`), wall);
      await expectWall(`src/modules/${own}/index.ts`, importing(`../${other}`), wall);
      await expectWall(`src/modules/${own}/index.ts`, importing(`../../modules/${other}/decide.ts`), wall);
      await expectWall(`src/modules/${own}/graphql/fields.ts`, importing(`../../${other}/index.ts`), wall);
      await expectWall(`src/modules/${own}/graphql/fields.ts`, importing(`../../../modules/${other}/index.ts`), wall);
    });

    it.each(modules)(
      "%s may import the platform, the contracts (also contracts/<other>.ts) and itself",
      async (own) => {
        const file = `src/modules/${own}/index.ts`;
        await expectClean(file, importing("../../platform/outbox/enqueue.ts"));
        await expectClean(file, importing("../../platform/observability/logger.ts"));
        await expectClean(file, importing("../../contracts/index.ts"));
        for (const other of modules) await expectClean(file, importing(`../../contracts/${other}.ts`));
        await expectClean(file, importing("./decide.ts"));
        await expectClean(`src/modules/${own}/graphql/fields.ts`, importing("../decide.ts"));
        await expectClean(file, importing("../../config.ts"));
      },
    );
  });

  describe("src/contracts/ imports only the platform", () => {
    it.each([["../modules/orders/index.ts"], ["../modules/inventory"], ["../app.ts"], ["../modules.ts"]])(
      "contracts ↛ %s",
      async (specifier) => {
        await expectWall("src/contracts/orders.ts", importing(specifier), WALL.contracts);
      },
    );

    it("may import the platform and other contracts", async () => {
      await expectClean("src/contracts/orders.ts", importing("../platform/events/envelope.ts"));
      await expectClean("src/contracts/orders.ts", importing("../platform/shared/ids.ts"));
      await expectClean("src/contracts/index.ts", importing("./inventory.ts"));
      await expectClean("src/contracts/orders.ts", importing("zod"));
    });
  });

  describe("nothing in src/ imports test/", () => {
    it.each([
      ["src/app.ts", "../test/support/env.ts"],
      ["src/main.ts", "../test/support"],
      ["src/platform/live/hub.ts", "../../../test/support/wait.ts"],
      ["src/platform/observability/metrics.ts", "../../../test/support/wait.ts"],
      ["src/modules/orders/saga.ts", "../../../test/support/env.ts"],
      ["src/contracts/orders.ts", "../../test/support/documents.ts"],
      ["src/dashboard/main.ts", "../../test/support/documents.ts"],
    ])("%s ↛ %s", async (file, specifier) => {
      await expectWall(file, importing(specifier), WALL.test);
    });
  });

  it("the composition root may import everything in src/; tests may import anything", async () => {
    await expectClean("src/app.ts", importing("./modules/orders/index.ts"));
    await expectClean("src/app.ts", importing("./modules.ts"));
    await expectClean("src/app.ts", importing("./platform/graphql/server.ts"));
    await expectClean("src/modules.ts", importing("./modules/inventory/index.ts"));
    await expectClean("src/main.ts", importing("./app.ts"));
    await expectClean("test/unit/decide.test.ts", importing("../../src/modules/orders/decide.ts"));
    await expectClean("test/integration/relay.test.ts", importing("../support/env.ts"));
  });
});
