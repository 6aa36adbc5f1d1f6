/**
 * `npm start` as an operator runs it (a real npm process tree): a bad variable stops it with the
 * one-line-per-problem config error before migrations or the seed run; SIGTERM sent to the npm
 * process (what a supervisor or `docker stop` does) shuts the server down, leaving no orphan.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, beforeAll, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { freePort } from "../support/private-redis.ts";
import { waitFor } from "../support/wait.ts";
import { TEST_JWT_SECRET } from "../support/auth.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv("npm-start", { seed: false });
});

const runs: ChildProcess[] = [];
// A test that fails half-way (e.g. npm start too slow to serve) must not leave npm, its scripts or the
// app running, still writing to this file's streams after its cleanup.
afterEach(() => {
  for (const child of runs.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL"); // npm may be gone while something it started is not
    } catch {
      /* the whole group is gone already */
    }
  }
});

function npmStart(extra: Record<string, string>) {
  const child = spawn("npm", ["start"], {
    cwd: new URL("../..", import.meta.url).pathname,
    env: {
      ...process.env,
      NODE_ENV: "test",
      DATABASE_URL: env.config.DATABASE_URL,
      REDIS_URL: env.config.REDIS_URL,
      STREAM_PREFIX: env.config.STREAM_PREFIX,
      HOST: "127.0.0.1",
      HEALTH_PORT: "0",
      LOG_LEVEL: "warn",
      LOG_PRETTY: "false",
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      ...extra,
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: whatever happens in a test, afterEach can stop npm and everything under it.
    detached: true,
  });
  runs.push(child);
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

const healthy = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true;

it("PORT=abc: the config error, one line per problem, before migrations and the seed", async () => {
  const run = npmStart({ PORT: "abc", SUBSCRIBER_BUFFER: "x" });
  expect(await run.exited).toBe(2);
  const out = run.output();
  expect(out).toContain("Invalid configuration:");
  expect(out).toMatch(/^\s+PORT: .+$/m);
  expect(out).toMatch(/^\s+SUBSCRIBER_BUFFER: .+$/m);
  expect(out).not.toMatch(/^\s+at /m); // no stack trace
  expect(out).not.toMatch(/Datasource|migrations? (found|applied)/i); // prisma migrate never ran
}, 60_000);

it("SIGTERM to npm stops the server: nothing keeps listening", async () => {
  const port = await freePort();
  const run = npmStart({ PORT: String(port) });
  // Bounds, not expectations: prestart checks the config, builds, migrates and seeds first.
  await waitFor(() => healthy(port), { timeoutMs: 150_000, what: `npm start serving: ${run.output().slice(-500)}` });
  run.child.kill("SIGTERM");
  await run.exited;
  await waitFor(async () => !(await healthy(port)), {
    timeoutMs: 15_000,
    what: "the server to stop (no orphan still listening)",
  });
}, 200_000);
