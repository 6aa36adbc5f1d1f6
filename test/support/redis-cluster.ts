import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./private-redis.ts";

const run = promisify(execFile);

/**
 * A throwaway Redis Cluster of `masters` redis-server processes (no replicas) on free loopback
 * ports, in a temp dir, joined with `redis-cli --cluster create`. destroy() kills and cleans up.
 */
export class RedisCluster {
  private readonly processes: ChildProcess[] = [];

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  /** `host:port,…` for REDIS_CLUSTER_NODES. */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(",");
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const cluster = new RedisCluster(ports, mkdtempSync(join(tmpdir(), "redis-cluster-")));
    try {
      await cluster.launch();
      return cluster;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  private async launch(): Promise<void> {
    for (const port of this.ports) {
      // The cluster bus port is chosen explicitly (a free one) rather than port + 10000, which may be taken or out of range.
      const busPort = await freePort();
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(busPort),
          "--cluster-config-file",
          join(this.dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "5000",
          "--dir",
          this.dir,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        { stdio: "ignore" },
      );
      this.processes.push(child);
    }
    for (const port of this.ports) await this.waitFor(port, async (r) => (await r.ping()) === "PONG", "to answer");
    await run(
      "redis-cli",
      ["--cluster", "create", ...this.ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
      { timeout: 30_000 },
    );
    for (const port of this.ports) {
      await this.waitFor(
        port,
        async (r) => String(await r.call("CLUSTER", "INFO")).includes("cluster_state:ok"),
        "to report cluster_state:ok",
      );
    }
  }

  private async waitFor(port: number, check: (r: Redis) => Promise<boolean>, what: string): Promise<void> {
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: 1,
    });
    probe.on("error", () => {});
    const deadline = Date.now() + 20_000;
    try {
      while (Date.now() < deadline) {
        try {
          if (probe.status === "wait") await probe.connect();
          if (await check(probe)) return;
        } catch {
          /* not yet */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`redis cluster node ${port} did not come up ${what} within 20 s`);
    } finally {
      probe.disconnect();
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once("exit", () => resolve());
            p.kill("SIGKILL");
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
