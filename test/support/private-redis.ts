import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway redis-server on a free loopback port, for tests that stop or restart Redis. */
export class PrivateRedis {
  private process: ChildProcess | undefined;
  /** With `aof`, data survives a kill -9 and restart (appendfsync always, in a temp dir). */
  constructor(
    readonly port: number,
    private readonly aofDir?: string,
  ) {}

  static async create(opts: { aof?: boolean } = {}): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort(), opts.aof ? mkdtempSync(join(tmpdir(), "redis-aof-")) : undefined);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.aofDir
      ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", this.aofDir]
      : ["--appendonly", "no"];
    this.process = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", ...persistence],
      { stdio: "ignore" },
    );
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    probe.on("error", () => {});
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      try {
        await probe.connect().catch(() => {});
        if ((await probe.ping()) === "PONG") return probe.disconnect();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    probe.disconnect();
    throw new Error(`redis-server on ${this.port} did not start`);
  }

  /** Stops the server and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.aofDir) rmSync(this.aofDir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
