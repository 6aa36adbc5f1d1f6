import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
/**
 * One template per test run (named after the run's main process, handed to the test workers
 * through the environment): concurrent runs on one Postgres must not drop each other's template.
 */
export const TEMPLATE_DB = process.env.GATEWAY_TEST_TEMPLATE_DB ?? `gateway_test_template_${process.pid}`;
process.env.GATEWAY_TEST_TEMPLATE_DB = TEMPLATE_DB;

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
