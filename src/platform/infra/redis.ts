import { Cluster, Redis } from "ioredis";
import type { Logger } from "../observability/logger.ts";

/** A single Redis or a Redis Cluster: the same commands, but on a cluster one command spans one slot. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL, or cluster seed nodes (host:port) with the URL lending credentials and TLS. */
export interface RedisTarget {
  url: string;
  clusterNodes?: string[] | undefined;
}

/**
 * A Redis connection that reconnects forever with capped backoff. Blocking readers (XREAD BLOCK)
 * get their own connection each, so one slow reader never stalls commands of another part.
 */
export function createRedis(url: string, name: string, log?: Logger): Redis;
export function createRedis(target: RedisTarget, name: string, log?: Logger): RedisClient;
export function createRedis(target: string | RedisTarget, name: string, log?: Logger): RedisClient {
  const { url, clusterNodes } = typeof target === "string" ? { url: target, clusterNodes: undefined } : target;
  const retry = (attempt: number) => Math.min(50 * 2 ** attempt, 2_000);
  const options = {
    connectionName: name,
    // RESP2: ioredis 6 defaults to RESP3, where raw replies (redis.call) of stream commands change
    // shape (XREADGROUP becomes a map). RESP2 shapes are the ones documented for every command.
    protocol: 2 as const,
    // Commands wait while reconnecting instead of failing after N retries; callers decide via their own timeouts.
    maxRetriesPerRequest: null,
  };
  let redis: RedisClient;
  if (clusterNodes?.length) {
    const u = new URL(url);
    redis = new Cluster(
      clusterNodes.map((n) => ({
        host: n.slice(0, n.lastIndexOf(":")),
        port: Number(n.slice(n.lastIndexOf(":") + 1)),
      })),
      {
        redisOptions: {
          ...options,
          ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
          ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
          ...(u.protocol === "rediss:" ? { tls: {} } : {}),
        },
        clusterRetryStrategy: retry,
        // A failover or resharding moves slots: follow MOVED/ASK and wait out CLUSTERDOWN instead of failing.
        retryDelayOnClusterDown: 200,
        retryDelayOnFailover: 200,
        retryDelayOnTryAgain: 100,
      },
    );
  } else {
    redis = new Redis(url, { ...options, lazyConnect: false, retryStrategy: retry });
  }
  watch(redis, name, log);
  return redis;
}

/** How each connection made here reports errors, so that its duplicates report them the same way. */
const watchers = new WeakMap<RedisClient, (copy: RedisClient) => void>();

/**
 * Logs the first error of an outage and the recovery. Also keeps ioredis from printing
 * "Unhandled error event" for every failed slots refresh of a cluster connection during a failover.
 */
function watch(redis: RedisClient, name: string, log?: Logger): void {
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) log?.warn({ err: err.message, connection: name }, "redis connection error");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log?.info({ connection: name }, "redis connection restored");
    down = false;
  });
  watchers.set(redis, (copy) => watch(copy, name, log));
}

/** Another connection like this one (blocking reads need their own); same options and error reporting, cluster or not. */
export function duplicateRedis(redis: RedisClient): RedisClient {
  const copy = redis.isCluster ? (redis as Cluster).duplicate() : (redis as Redis).duplicate();
  watchers.get(redis)?.(copy);
  return copy;
}
