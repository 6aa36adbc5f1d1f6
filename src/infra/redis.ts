import { Redis } from "ioredis";
import type { Logger } from "../observability/logger.ts";

/**
 * A Redis connection that reconnects forever with capped backoff. Blocking readers (XREAD BLOCK)
 * get their own connection each, so one slow reader never stalls commands of another part.
 */
export function createRedis(url: string, name: string, log?: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    // RESP2: ioredis 6 defaults to RESP3, where raw replies (redis.call) of stream commands change
    // shape (XREADGROUP becomes a map). RESP2 shapes are the ones documented for every command.
    protocol: 2,
    lazyConnect: false,
    // Commands wait while reconnecting instead of failing after N retries; callers decide via their own timeouts.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
  });
  let down = false;
  redis.on("error", (err) => {
    if (!down) log?.warn({ err: err.message, connection: name }, "redis connection error");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log?.info({ connection: name }, "redis connection restored");
    down = false;
  });
  return redis;
}
