import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import type { Redis } from "ioredis";

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
/**
 * One template per test run (named after the run's main process, handed to the test workers
 * through the environment): concurrent runs on one Postgres must not drop each other's template.
 */
export const TEMPLATE_DB = process.env.GATEWAY_TEST_TEMPLATE_DB ?? `gateway_test_template_${process.pid}`;
process.env.GATEWAY_TEST_TEMPLATE_DB = TEMPLATE_DB;
/**
 * The run's main process id, in the name of every database and stream prefix a test file creates
 * (`gw_test_<pid>_…`, `test:<pid>_…`): the run drops its own at the end, and the next run sweeps
 * those of runs whose process is gone (crashed or killed) without touching a concurrent run's.
 */
export const RUN_PID = Number(process.env.GATEWAY_TEST_RUN_PID ?? process.pid);
process.env.GATEWAY_TEST_RUN_PID = String(RUN_PID);
export const TEST_DB_PREFIX = "gw_test_";
export const TEST_KEY_PREFIX = "test:";

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

export const dropDatabase = (name: string) => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));

/** Runs the real Prisma CLI (through the project's schema-engine shim) against a database. */
export async function prismaCli(args: string[], databaseUrl: string) {
  return promisify(execFile)(process.execPath, ["node_modules/prisma/build/index.js", ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    cwd: new URL("../..", import.meta.url).pathname,
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The run pid a test database or key belongs to (`gw_test_<pid>_…`, `test:<pid>_…`, `{test:<pid>_…`), if it has one. */
export function runPidOf(name: string): number | undefined {
  const m = /^(?:gw_test_|\{?test:)(\d+)_/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Test databases (this run's, or every one whose run is gone). */
export async function testDatabases(which: (pid: number) => boolean): Promise<string[]> {
  const { rows } = await admin((c) =>
    c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'gw\\_test\\_%'"),
  );
  return rows
    .map((r) => r.datname)
    .filter((n) => {
      const pid = runPidOf(n);
      return pid !== undefined && which(pid);
    });
}

/** Keys of test stream prefixes (this run's, or every one whose run is gone) on one Redis. */
export async function testKeys(redis: Redis, which: (pid: number) => boolean): Promise<string[]> {
  const keys: string[] = [];
  for (const match of [`${TEST_KEY_PREFIX}*`, `{${TEST_KEY_PREFIX}*`]) {
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      for (const k of batch) {
        const pid = runPidOf(k);
        if (pid !== undefined && which(pid)) keys.push(k);
      }
    } while (cursor !== "0");
  }
  return keys;
}

/** Deletes keys by prefix: `<prefix>:*` and cluster hash-tagged `{<prefix>:…}…`. */
export async function deleteKeysOf(redis: Redis, prefix: string): Promise<number> {
  let n = 0;
  for (const match of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      if (batch.length) n += await redis.del(...batch);
    } while (cursor !== "0");
  }
  return n;
}
