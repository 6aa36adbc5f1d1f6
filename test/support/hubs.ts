import { StreamHub, type HubOptions } from "../../src/platform/live/hub.ts";
import { createRedis } from "../../src/platform/infra/redis.ts";
import { eventRegistry } from "../../src/modules.ts";
import type { TestEnv } from "./test-env.ts";

/** A live hub over this file's stream `key`, reading on a Redis connection of its own; `options` tune it. */
export function testHub(
  env: TestEnv,
  key: string,
  options: Omit<HubOptions, "events" | "redis" | "commands" | "key" | "log">,
): StreamHub {
  return new StreamHub({
    events: eventRegistry,
    redis: createRedis(env.config.REDIS_URL, "live-hub:test"),
    commands: env.redis,
    key,
    log: env.log,
    ...options,
  });
}
