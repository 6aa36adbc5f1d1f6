import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./private-redis.ts";

const run = promisify(execFile);

export interface ClusterOptions {
  /** Replicas per master (`--cluster-replicas`); 0: a master that dies takes its slots with it. */
  replicas?: number;
  /** How long a node may be unreachable before it is marked failed (and a replica promoted). */
  nodeTimeoutMs?: number;
  /** AOF with fsync always, so a killed and restarted node comes back with its data. */
  persistence?: boolean;
}

/**
 * A throwaway Redis Cluster of `masters` masters (and `replicas` replicas each) as redis-server
 * processes on free loopback ports, in a temp dir, joined with `redis-cli --cluster create`.
 * `cluster-require-full-coverage no`: the slots of a dead master fail, the others keep serving.
 * kill()/restart() stop and start one node; destroy() kills all and cleans up.
 */
export class RedisCluster {
  private readonly processes = new Map<number, ChildProcess>();
  private readonly args = new Map<number, string[]>();

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
    private readonly options: ClusterOptions,
  ) {}

  /** `host:port,…` for REDIS_CLUSTER_NODES. */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(",");
  }

  static async start(masters = 3, options: ClusterOptions = {}): Promise<RedisCluster> {
    const ports: number[] = [];
    while (ports.length < masters * (1 + (options.replicas ?? 0))) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const cluster = new RedisCluster(ports, mkdtempSync(join(tmpdir(), "redis-cluster-")), options);
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
      this.args.set(port, [
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
        String(this.options.nodeTimeoutMs ?? 5000),
        "--cluster-require-full-coverage",
        "no",
        "--dir",
        this.dir,
        "--save",
        "",
        ...(this.options.persistence
          ? [
              "--appendonly",
              "yes",
              "--appendfsync",
              "always",
              "--appendfilename",
              `aof-${port}.aof`,
              "--appenddirname",
              `aof-${port}`,
            ]
          : ["--appendonly", "no"]),
      ]);
      this.spawnNode(port);
    }
    for (const port of this.ports) await this.waitFor(port, async (r) => (await r.ping()) === "PONG", "to answer");
    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...this.ports.map((p) => `127.0.0.1:${p}`),
        "--cluster-replicas",
        String(this.options.replicas ?? 0),
        "--cluster-yes",
      ],
      { timeout: 30_000 },
    );
    for (const port of this.ports) {
      await this.waitFor(
        port,
        async (r) => String(await r.call("CLUSTER", "INFO")).includes("cluster_state:ok"),
        "to report cluster_state:ok",
      );
    }
    if (this.options.replicas) {
      // every replica attached and in sync before anyone relies on a failover
      for (const port of this.ports) {
        await this.waitFor(
          port,
          async (r) => {
            const info = String(await r.info("replication"));
            return info.includes("role:master") || info.includes("master_link_status:up");
          },
          "to sync with its master",
        );
      }
    }
  }

  private spawnNode(port: number): void {
    this.processes.set(port, spawn("redis-server", this.args.get(port)!, { stdio: "ignore" }));
  }

  /** SIGKILLs one node (no shutdown, no final fsync beyond `always`). */
  async kill(port: number): Promise<void> {
    const p = this.processes.get(port);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  }

  /** Starts a killed node again with its config (it rejoins; a replaced master comes back as a replica). */
  async restart(port: number): Promise<void> {
    this.spawnNode(port);
    await this.waitFor(port, async (r) => (await r.ping()) === "PONG", "to answer after restart");
  }

  /** The port of the master currently serving `key`'s slot, as `via` (a live node) sees it. */
  async masterOf(key: string, via?: number): Promise<number> {
    const port = via ?? (await this.anyLivePort());
    const r = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
    try {
      const slot = Number(await r.call("CLUSTER", "KEYSLOT", key));
      const slots = (await r.call("CLUSTER", "SLOTS")) as [
        number,
        number,
        [string, number, ...unknown[]],
        ...unknown[],
      ][];
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no node serves slot ${slot}`);
      return Number(range[2][1]);
    } finally {
      r.disconnect();
    }
  }

  /** The role of a node ("master" / "slave"), or undefined when it does not answer. */
  async roleOf(port: number): Promise<string | undefined> {
    const r = new Redis({
      port,
      host: "127.0.0.1",
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    r.on("error", () => {});
    try {
      await r.connect();
      return /role:(\w+)/.exec(String(await r.info("replication")))?.[1];
    } catch {
      return undefined;
    } finally {
      r.disconnect();
    }
  }

  private async anyLivePort(): Promise<number> {
    for (const [port, p] of this.processes) if (p.exitCode === null && p.signalCode === null) return port;
    throw new Error("no live node");
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
      [...this.processes.values()].map(
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
