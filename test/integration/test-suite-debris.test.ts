/**
 * The test suite cleans up after itself: a real child test run (two files that create their env
 * inside beforeAll, as every file does) leaves no database and no Redis key behind, each file having
 * dropped its own; and a run sweeps the databases and keys of earlier runs that were killed.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { admin, dropDatabase, TEST_DB_PREFIX, TEST_KEY_PREFIX } from "../support/databases.ts";

const root = new URL("../..", import.meta.url).pathname;
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const tag = randomBytes(3).toString("hex");
let deadPid: number;

afterAll(() => redis.disconnect());

/** A process id that no longer runs: one a crashed test run could have had. */
function exitedPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", ""]);
    child.once("exit", () => resolve(child.pid!));
  });
}

function run(cmd: string[], env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, cmd, { cwd: root, env });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.once("exit", (code) => resolve({ code, output }));
  });
}

async function databasesLike(fragment: string): Promise<string[]> {
  const { rows } = await admin((c) =>
    c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE strpos(datname, $1) > 0", [fragment]),
  );
  return rows.map((r) => r.datname);
}

async function keysLike(fragment: string): Promise<string[]> {
  const all: string[] = [];
  for (const match of [`*${fragment}*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      all.push(...keys);
    } while (cursor !== "0");
  }
  return all;
}

beforeAll(async () => {
  // Debris of a killed run: a database and keys named after a process that is gone.
  deadPid = await exitedPid();
  await admin((c) => c.query(`CREATE DATABASE "${TEST_DB_PREFIX}${deadPid}_crashed_${tag}"`));
  await redis.xadd(`${TEST_KEY_PREFIX}${deadPid}_crashed_${tag}:orders`, "*", "f", "v");
  await redis.set(`{${TEST_KEY_PREFIX}${deadPid}_crashed_${tag}:orders}:1`, "x");
});

afterAll(async () => {
  for (const name of await databasesLike(tag)) await dropDatabase(name);
});

it("a test run leaves 0 databases and 0 keys, and sweeps those of a killed run", async () => {
  expect(await databasesLike(`crashed_${tag}`)).toHaveLength(1);
  expect(await keysLike(`crashed_${tag}`)).toHaveLength(2);

  // A separate run: its own template and run id, not this run's (whose files are still running).
  const env: NodeJS.ProcessEnv = { ...process.env, DEBRIS_TAG: tag };
  delete env.GATEWAY_TEST_RUN_PID;
  delete env.GATEWAY_TEST_TEMPLATE_DB;
  delete env.VITEST;
  delete env.VITEST_POOL_ID;
  delete env.VITEST_WORKER_ID;
  delete env.NODE_OPTIONS;
  const { code, output } = await run(
    ["node_modules/vitest/vitest.mjs", "run", "--config", "test/fixtures/debris/vitest.config.ts"],
    env,
  );
  expect(code, output).toBe(0);
  expect(output).toMatch(/2 passed/);
  // Each file dropped its own: the run's final sweep found nothing left.
  expect(output).not.toMatch(/test debris/);

  expect(await databasesLike(`debris_a_${tag}`)).toEqual([]);
  expect(await databasesLike(`debris_b_${tag}`)).toEqual([]);
  expect(await keysLike(`debris_a_${tag}`)).toEqual([]);
  expect(await keysLike(`debris_b_${tag}`)).toEqual([]);
  expect(await databasesLike(`crashed_${tag}`)).toEqual([]);
  expect(await keysLike(`crashed_${tag}`)).toEqual([]);
}, 120_000);
