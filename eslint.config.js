// @ts-check
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

// ---------------------------------------------------------------------------------------------------------------------
// Import walls (issue 18). `no-restricted-imports` matches the import specifier as written, with .gitignore-style
// globs, not the resolved file: a wall lists the specifiers that can reach the forbidden folder from where the rule
// applies. In a flat config a later object that sets the same rule REPLACES the earlier options, so every folder
// gets its complete list from `walls(...)`, most general folder first, most specific last.
// ---------------------------------------------------------------------------------------------------------------------

/** The features of src/platform/ (each a folder). The observability leaf may import none of them but shared/. */
const PLATFORM_FEATURES = [
  "events",
  "infra",
  "outbox",
  "consumers",
  "live",
  "graphql",
  "auth",
  "idempotency",
  "retention",
];

/** The modules of src/modules/ (see src/modules.ts). A module never imports another. */
const MODULES = ["orders", "inventory", "products"];

/** @typedef {{ group: string[]; message: string }} Wall one `patterns` entry of no-restricted-imports */

/** `dir` itself and everything in it, for globs and for the directory import `dir` alone. */
const under = (/** @type {string} */ dir) => [dir, `${dir}/**`];

/** @type {Wall} */
const noTest = {
  group: under("**/test"),
  message: "src/ never imports test/: test helpers, fixtures and documents stay on the test side of the wall.",
};

/** @type {Wall} */
const platformWall = {
  group: [
    ...under("**/modules"),
    ...under("**/contracts"),
    "**/app.ts",
    "**/modules.ts",
    "**/main.ts",
    "**/schema.ts",
    "**/config.ts",
    "**/graphiql-examples.ts",
  ],
  message:
    "Wall: src/platform/ knows no order, sku or customer. It never imports src/modules/, src/contracts/ or the " +
    "composition root (src/app.ts, src/modules.ts, src/main.ts, src/schema.ts, src/config.ts); modules plug into " +
    "the platform, not the other way, and the root hands the platform its settings.",
};

/** @type {Wall} */
const observabilityWall = {
  group: [
    ...PLATFORM_FEATURES.flatMap((feature) => [...under(`../${feature}`), ...under(`**/platform/${feature}`)]),
    "../roles.ts",
  ],
  message:
    "Wall: src/platform/observability/ is a leaf. It imports only itself and ../shared/, never " +
    "another platform feature (events, infra, outbox, consumers, live, graphql, auth, idempotency, retention) " +
    "nor ../roles.ts.",
};

/**
 * From src/modules/<own>/, every specifier that reaches another module (through modules/ or as a sibling folder).
 * @returns {Wall}
 */
const moduleWall = (/** @type {string} */ own) => ({
  group: MODULES.filter((other) => other !== own).flatMap((other) => [
    ...under(`**/modules/${other}`),
    ...under(`../${other}`), // from src/modules/<own>/x.ts
    ...under(`../../${other}`), // from src/modules/<own>/<sub>/x.ts
  ]),
  message:
    `Wall: src/modules/${own}/ never imports another module. Share through the event contract (src/contracts/) ` +
    "or the platform; the composition root (src/app.ts, src/modules.ts) is the only place that knows every module.",
});

/** @type {Wall} */
const contractsWall = {
  group: [...under("**/modules"), "**/app.ts", "**/modules.ts", "**/main.ts"],
  message:
    "Wall: src/contracts/ is the published event contract shared by modules; it imports only src/platform/, " +
    "never a module or the composition root.",
};

/**
 * The complete `no-restricted-imports` setting for one folder.
 * @param {...Wall} patterns
 * @returns {["error", { patterns: Wall[] }]}
 */
const walls = (...patterns) => ["error", { patterns }];

export default defineConfig([
  globalIgnores([
    "src/generated/**",
    "src/dashboard/generated/**",
    "test/generated/**",
    "dist/**",
    "coverage/**",
    "test-artifacts/**",
    "test-results/**",
  ]),

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    name: "project/base",
    rules: {
      "no-empty": ["error", { allowEmptyCatch: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    name: "project/node-js-files",
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        WebAssembly: "readonly",
      },
    },
  },
  {
    name: "project/tests-benchmarks-scripts",
    files: ["test/**", "bench/**", "scripts/**"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
    },
  },

  // --- walls -------------------------------------------------------------------------------------------------------
  {
    name: "walls/src",
    files: ["src/**"],
    rules: {
      "no-restricted-imports": walls(noTest),
      // no-restricted-imports does not see import(): a relative or computed dynamic import would slip past the walls.
      "no-restricted-syntax": [
        "error",
        {
          selector: "ImportExpression[source.type='Literal'][source.value=/^\\./]",
          message:
            "Import relative files statically: the import walls (eslint no-restricted-imports) do not see import().",
        },
        {
          selector: "ImportExpression:not([source.type='Literal'])",
          message: "import() with a computed specifier escapes the import walls; import a literal package name.",
        },
      ],
    },
  },
  {
    name: "walls/platform",
    files: ["src/platform/**"],
    rules: { "no-restricted-imports": walls(noTest, platformWall) },
  },
  {
    name: "walls/platform-observability",
    files: ["src/platform/observability/**"],
    rules: { "no-restricted-imports": walls(noTest, platformWall, observabilityWall) },
  },
  ...MODULES.map((own) => ({
    name: `walls/modules-${own}`,
    files: [`src/modules/${own}/**`],
    rules: { "no-restricted-imports": walls(noTest, moduleWall(own)) },
  })),
  {
    name: "walls/contracts",
    files: ["src/contracts/**"],
    rules: { "no-restricted-imports": walls(noTest, contractsWall) },
  },
]);
