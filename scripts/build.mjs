/**
 * Bundles the app into one ES module with esbuild: `node scripts/build.mjs [outfile]` (default
 * dist/main.js). Dependencies stay in node_modules (`packages: "external"`); the bundle holds our
 * code and the generated Prisma client, so starting it compiles no TypeScript. `npm start`, the image,
 * the tests' app processes and the benches all run a bundle made here.
 */
import { build } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Writes the bundle (and its source map) to `outfile`, relative to the project root. */
export async function buildApp(outfile = "dist/main.js") {
  await build({
    absWorkingDir: root,
    entryPoints: ["src/main.ts"],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildApp(process.argv[2]);
