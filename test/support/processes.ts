import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RUN_PID } from "./databases.ts";
import type { TestEnv } from "./test-env.ts";
import { TEST_JWT_SECRET } from "./auth.ts";

/** A role of the app as a real OS process (the bundle of src/main.ts), JSON logs collected line by line. */
export class AppProcess {
  readonly logs: Record<string, unknown>[] = [];
  stderr = "";
  private exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    let buffer = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line));
        } catch {
          /* not a log line */
        }
      }
    });
    // Kept (the tail) so a role that dies at start-up can say why: see exitReport().
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  /** Exit code, last error logs and stderr: for failure messages. */
  exitReport(): string {
    const errors = this.logs
      .filter((l) => Number(l.level) >= 50)
      .slice(-3)
      .map((l) => JSON.stringify(l));
    return `exit ${this.child.exitCode}; errors: ${errors.join(" | ") || "none"}; stderr: ${this.stderr.trim() || "(empty)"}`;
  }

  count(msg: string): number {
    return this.logs.filter((l) => l.msg === msg).length;
  }

  /** SIGTERM and wait for the graceful exit. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Per-run bundles of the app, one folder per test run (named by its pid); swept when that run is gone. */
export const BUNDLES_DIR = path.join(ROOT, "test-artifacts", "app-bundles");
/** The app as `npm start` and the image run it, bundled from the sources by the global setup. */
export const APP_BUNDLE = path.join(BUNDLES_DIR, String(RUN_PID), "main.js");

export function spawnRole(env: TestEnv, roles: string, extraEnv: Record<string, string> = {}): AppProcess {
  const child = spawn(process.execPath, ["--enable-source-maps", APP_BUNDLE], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "test",
      ROLES: roles,
      DATABASE_URL: env.config.DATABASE_URL,
      REDIS_URL: env.config.REDIS_URL,
      STREAM_PREFIX: env.config.STREAM_PREFIX,
      PORT: "0",
      HEALTH_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      LOG_PRETTY: "false",
      DATABASE_POOL_SIZE: "4",
      CONSUMER_BLOCK_MS: "200",
      CONSUMER_RETRY_BASE_MS: "20",
      CONSUMER_RETRY_MAX_MS: "300",
      CONSUMER_CLAIM_IDLE_MS: "1500",
      RELAY_POLL_MS: "200",
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_MUTATIONS: "0",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new AppProcess(child);
}
