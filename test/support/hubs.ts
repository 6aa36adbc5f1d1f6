import { StreamHub, type HubOptions } from "../../src/platform/live/hub.ts";
import { createRedis } from "../../src/platform/infra/redis.ts";
import { eventRegistry } from "../../src/modules.ts";
import type { TestEnv } from "./test-env.ts";
import type { LiveEvent } from "../../src/platform/live/hub.ts";
import type { SubscriptionQueue } from "../../src/platform/live/subscription-queue.ts";
import { delay } from "./wait.ts";

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

/** Reads up to `n` events from a subscriber's queue, giving up after `timeoutMs` in all (or when it ends). */
export async function drain(queue: SubscriptionQueue<LiveEvent>, n: number, timeoutMs = 5_000): Promise<LiveEvent[]> {
  const out: LiveEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const next = await Promise.race([queue.next(), delay(Math.max(1, deadline - Date.now())).then(() => null)]);
    if (!next || next.done) break;
    out.push(next.value);
  }
  return out;
}

/** Reads until `quietMs` pass with nothing new (or the queue ends). */
export async function drainAll(queue: SubscriptionQueue<LiveEvent>, quietMs = 800): Promise<LiveEvent[]> {
  const out: LiveEvent[] = [];
  for (;;) {
    const next = await Promise.race([queue.next(), delay(quietMs).then(() => null)]);
    if (!next || next.done) return out;
    out.push(next.value);
  }
}
