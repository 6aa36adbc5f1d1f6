/**
 * Child processes for benchmarks: the app (its bundle, dist/main.js, with the scratch
 * database and stream prefix), bench servers (peer, raw) and IPC load generators. Every start and
 * stop is bounded in time.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { log, ROOT, type Scratch } from "./scratch.ts";
import { BENCH_AUTH_ENV } from "./auth.ts";
import { sleep } from "../../src/platform/shared/backoff.ts";
// @ts-expect-error: a plain ES module without type declarations
import { buildApp } from "../../scripts/build.mjs";

export interface AppChild {
  child: ChildProcess;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  port: number;
  /** SIGTERM (graceful), SIGKILL after 20 s; logs the error lines the child printed. */
  stop(): Promise<void>;
  /** Kills at once with the signal and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  /** Script relative to the repo root: a .ts file (run with tsx) or the app's bundle. */
  script: string;
  env: Record<string, string>;
  /** Readiness URL; polled until it answers 2xx. */
  readyPath: string;
  port?: number;
  /** Port that serves readyPath, if not `port` (the app's health port: production serves /ready only there). */
  readyPort?: number;
  nodeArgs?: string[];
  label: string;
  readyTimeoutMs?: number;
}

export async function startChild(o: StartOptions): Promise<AppChild> {
  const port = o.port ?? (await freePort());
  // TypeScript (bench servers, load generators) through tsx; the app's bundle as it is.
  const loader = o.script.endsWith(".ts") ? ["--import", "tsx"] : ["--enable-source-maps"];
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...loader, o.script], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  // BENCH_CHILD_LOG=<file>: append everything the child prints (e.g. with --trace-gc) to that file.
  const tee = process.env.BENCH_CHILD_LOG;
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 50) output.shift();
    if (tee) appendFileSync(tee, chunk);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const readyBase = `http://127.0.0.1:${o.readyPort ?? port}`;
  // BENCH_READY_TIMEOUT_S (default 60): a busy shared machine can take longer to start the app.
  const deadline = Date.now() + (o.readyTimeoutMs ?? Number(process.env.BENCH_READY_TIMEOUT_S ?? 60) * 1000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${o.label} exited with ${child.exitCode}:\n${output.join("")}`);
    const ready = await fetch(`${readyBase}${o.readyPath}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${o.label} not ready in time:\n${output.join("")}`);
    }
    await sleep(200);
  }
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    url: `${base}/graphql`,
    port,
    async stop() {
      if (alive()) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(timer);
      }
      const errors = output
        .join("")
        .split("\n")
        .filter((l) => /"level":(50|60)/.test(l));
      if (errors.length) log(`${o.label} logged ${errors.length} error line(s); last: ${errors.at(-1)!.slice(0, 400)}`);
    },
    async kill(signal) {
      if (alive()) child.kill(signal);
      await exited;
    },
  };
}

let bundle: Promise<string> | undefined;
/** The app as `npm start` and the image run it: dist/main.js, built from the sources once per bench. */
function appBundle(): Promise<string> {
  return (bundle ??= (buildApp() as Promise<void>).then(() => "dist/main.js"));
}

/** The app with the scratch database and prefix; NODE_ENV=production, LOG_LEVEL=warn, bench auth (bench/lib/auth.ts). */
export async function startApp(
  scratch: Scratch,
  roles: string,
  pool: number,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
  port?: number,
): Promise<AppChild> {
  // NODE_ENV=production serves /ready on the health port only: give it a known one (unless the caller did).
  const healthPort = env.HEALTH_PORT ? Number(env.HEALTH_PORT) : await freePort();
  const app = await startChild({
    script: await appBundle(),
    label: `app (${roles})`,
    readyPath: "/ready",
    readyPort: healthPort,
    nodeArgs,
    port,
    env: {
      ROLES: roles,
      DATABASE_URL: scratch.databaseUrl,
      DATABASE_POOL_SIZE: String(pool),
      REDIS_URL: scratch.redisUrl,
      STREAM_PREFIX: scratch.streamPrefix,
      HEALTH_PORT: String(healthPort),
      NODE_ENV: "production",
      LOG_LEVEL: process.env.BENCH_APP_LOG_LEVEL ?? "warn",
      LOG_PRETTY: "false",
      ...BENCH_AUTH_ENV,
      ...env,
    },
  });
  log(`app started (pid ${app.child.pid}, ROLES=${roles}, DATABASE_POOL_SIZE=${pool}) at ${app.url}`);
  return app;
}

/** Forks a bench/ script with tsx and an IPC channel. */
export function forkScript(script: string): ChildProcess {
  return fork(path.join(ROOT, script), [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/** Resident set size of a process in bytes (0 if gone). */
export function rssBytes(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export { sleep };
