import { Redis } from "ioredis";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
// @ts-expect-error: a plain ES module without type declarations
import { buildApp } from "../../scripts/build.mjs";
import { APP_BUNDLE, BUNDLES_DIR } from "./processes.ts";
import {
  RUN_PID,
  TEMPLATE_DB,
  admin,
  dropDatabase,
  isAlive,
  prismaCli,
  testDatabases,
  testKeys,
  urlFor,
} from "./databases.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * Once per run: a template database migrated with the real `prisma migrate deploy`. Each test file
 * clones it (CREATE DATABASE … TEMPLATE, a file copy) instead of migrating its own.
 */
export default async function setup() {
  await dropOrphanedTemplates();
  // Debris of runs that crashed or were killed: their databases and stream keys.
  await sweep((pid) => pid !== RUN_PID && !isAlive(pid));
  mkdirSync(BUNDLES_DIR, { recursive: true });
  for (const dir of readdirSync(BUNDLES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()))
    if (!isAlive(Number(dir.name))) rmSync(path.join(BUNDLES_DIR, dir.name), { recursive: true, force: true });
  await dropDatabase(TEMPLATE_DB);
  await prismaCli(["migrate", "deploy"], urlFor(TEMPLATE_DB));
  // Nobody may connect to a template while it is being cloned.
  await admin((c) => c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`));
  // App processes (spawnRole) run the bundle production runs, built once per run from the sources.
  await buildApp(APP_BUNDLE);
  return async () => {
    rmSync(path.dirname(APP_BUNDLE), { recursive: true, force: true });
    await unmarkTemplate();
    await dropDatabase(TEMPLATE_DB);
    // Each file cleans up after itself; this catches a file whose worker died before its afterAll.
    const left = await sweep((pid) => pid === RUN_PID);
    if (left) console.warn(`test debris: ${left} database(s)/key(s) of this run were left by their files; swept`);
  };
}

/** Templates of runs that were killed (their process is gone). */
async function dropOrphanedTemplates() {
  const { rows } = await admin((c) =>
    c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'gateway\\_test\\_template%'"),
  );
  for (const { datname } of rows) {
    const pid = Number(/_(\d+)$/.exec(datname)?.[1]);
    if (datname === TEMPLATE_DB || !pid || isAlive(pid)) continue;
    await admin((c) => c.query(`ALTER DATABASE "${datname}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`)).catch(
      () => {},
    );
    await dropDatabase(datname).catch(() => {});
  }
}

/** Drops the test databases and deletes the test keys (on the shared Redis) of the runs `which` selects. */
async function sweep(which: (pid: number) => boolean): Promise<number> {
  const databases = await testDatabases(which);
  for (const name of databases) await dropDatabase(name).catch(() => {});
  let keyCount = 0;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  try {
    await redis.connect();
    const keys = await testKeys(redis, which);
    keyCount = keys.length;
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  } catch {
    // No Redis: the tests that need it will say so.
  } finally {
    redis.disconnect();
  }
  return databases.length + keyCount;
}

async function unmarkTemplate() {
  await admin(async (c) => {
    const { rowCount } = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [TEMPLATE_DB]);
    if (rowCount) await c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`);
  });
}
