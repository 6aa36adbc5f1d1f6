import { randomBytes } from "node:crypto";
import { afterAll } from "vitest";
import type { Redis } from "ioredis";
import { loadConfig, type Config } from "../../src/config.ts";
import { createLogger, type Logger } from "../../src/platform/observability/logger.ts";
import { createDatabase, type Database } from "../../src/platform/infra/database.ts";
import { createRedis } from "../../src/platform/infra/redis.ts";
import { startApp, type RunningApp } from "../../src/app.ts";
import { seed } from "../../prisma/seed.ts";
import {
  RUN_PID,
  TEMPLATE_DB,
  TEST_DB_PREFIX,
  TEST_KEY_PREFIX,
  admin,
  deleteKeysOf,
  dropDatabase,
  urlFor,
} from "./databases.ts";
import { TEST_JWT_SECRET } from "./auth.ts";

/**
 * Teardown of every env this file created. The hook is registered here, at the top level of this
 * module, which the test file imports while it is being collected: an `afterAll` registered inside a
 * `beforeAll` (where files create their env) is silently never run, and that left every file's
 * database and keys behind. Files run isolated (their own module graph), so this runs once per file.
 */
const disposers: (() => Promise<void>)[] = [];
afterAll(async () => {
  const errors = (await Promise.allSettled(disposers.splice(0).map((d) => d()))).filter((r) => r.status === "rejected");
  if (errors.length) throw (errors[0] as PromiseRejectedResult).reason;
});

export interface TestEnv {
  name: string;
  config: Config;
  db: Database;
  redis: Redis;
  log: Logger;
  /** Starts roles in this process against this file's database and streams (PORT 0). */
  start(roles: Config["ROLES"], overrides?: Record<string, string>): Promise<RunningApp>;
}

/**
 * A private world for one test file: its own database cloned from the migrated template, its own
 * stream prefix on the shared Redis, a seeded catalog. Torn down (database dropped, keys deleted)
 * after the file.
 */
export async function createTestEnv(name: string, opts: { seed?: boolean; redisUrl?: string } = {}): Promise<TestEnv> {
  const id = `${RUN_PID}_${name.replace(/\W/g, "_")}_${randomBytes(3).toString("hex")}`.toLowerCase();
  const database = `${TEST_DB_PREFIX}${id}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}" TEMPLATE "${TEMPLATE_DB}"`));
  const env = {
    NODE_ENV: "test",
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    DATABASE_URL: urlFor(database),
    STREAM_PREFIX: `${TEST_KEY_PREFIX}${id}`,
    PORT: "0",
    HEALTH_PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    RELAY_POLL_MS: "200",
    HUB_BLOCK_MS: "1000",
    SHUTDOWN_TIMEOUT_MS: "5000",
    CONSUMER_BLOCK_MS: "200",
    CONSUMER_RETRY_BASE_MS: "20",
    CONSUMER_RETRY_MAX_MS: "300",
    CONSUMER_CLAIM_IDLE_MS: "1500",
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    // Tests place thousands of orders as one admin; the limit has its own test.
    RATE_LIMIT_MUTATIONS: "0",
  };
  const config = loadConfig(env);
  const log = createLogger(config, { test: name });
  const db = createDatabase(config.DATABASE_URL, 5, `test-${name}`);
  const redis = createRedis(config.REDIS_URL, `test-${name}`);
  if (opts.seed !== false) await seed(config.DATABASE_URL);

  const apps: RunningApp[] = [];
  disposers.push(async () => {
    await Promise.allSettled(apps.map((a) => a.stop()));
    // A file's private Redis may be gone already (its keys with it): never wait for a reconnect.
    if (redis.status === "ready")
      await Promise.race([
        deleteKeysOf(redis, config.STREAM_PREFIX).catch(() => {}),
        new Promise((r) => setTimeout(r, 5_000)),
      ]);
    redis.disconnect();
    await db.close().catch(() => {});
    await dropDatabase(database);
  });

  return {
    name,
    config,
    db,
    redis,
    log,
    async start(roles, overrides = {}) {
      const app = await startApp(loadConfig({ ...env, ...overrides, ROLES: roles.join(",") }), log);
      apps.push(app);
      return app;
    },
  };
}
