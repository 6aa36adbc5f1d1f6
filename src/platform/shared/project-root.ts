import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project's root (the folder holding package.json), found by walking up from this module. The same
 * code runs from source (tsx, tests) and bundled into dist/main.js (`npm start`, the image), where a path
 * relative to `import.meta.url` would point somewhere else.
 */
export const projectRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  if (existsSync(join(dir, "package.json"))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
  return findRoot(parent);
}
