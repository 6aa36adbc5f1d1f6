/**
 * Scratch resources for one benchmark run: a fresh database migrated with the real
 * `prisma migrate deploy` (offline, through the project's schema-engine shim), a random stream
 * prefix, and cleanup of both. Nothing here touches the development database, the test template or
 * another run's keys.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { Redis } from "ioredis";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

export function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface Scratch {
  id: string;
  database: string;
  databaseUrl: string;
  streamPrefix: string;
  redisUrl: string;
  /** Drops the database and deletes every key under the prefix. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Creates `bench_<name>_<rand>`, migrates it, and registers cleanup on SIGINT/SIGTERM too. */
export async function createScratch(name: string): Promise<Scratch> {
  const id = `${name}_${randomBytes(3).toString("hex")}`;
  const database = `bench_${id}`.toLowerCase();
  const databaseUrl = urlFor(database);
  const streamPrefix = `bench:${name}:${randomBytes(3).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await deleteKeys(REDIS_URL, `${streamPrefix}:*`).catch((err) => console.error("redis cleanup failed:", err));
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)).catch((err) =>
      console.error("database cleanup failed:", err),
    );
  };
  const onSignal = () => {
    console.error("\ninterrupted: cleaning up");
    void cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const t0 = performance.now();
    await promisify(execFile)(process.execPath, ["node_modules/prisma/build/index.js", "migrate", "deploy"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      timeout: 120_000,
    });
    log(`scratch database ${database} migrated in ${ms(performance.now() - t0)}; stream prefix ${streamPrefix}`);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { id, database, databaseUrl, streamPrefix, redisUrl: REDIS_URL, cleanup };
}

export async function deleteKeys(redisUrl: string, pattern: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== "0");
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

/** Progress goes to stderr so stdout stays the tables. */
export function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}
