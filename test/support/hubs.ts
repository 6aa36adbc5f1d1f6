import { expect } from "vitest";
import type { Redis } from "ioredis";
import { StreamHub, type HubOptions } from "../../src/platform/live/hub.ts";
import { compareIds } from "../../src/platform/events/stream-ids.ts";
import { decodeEntry } from "../../src/platform/events/stream-entry.ts";
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

/** Subscribers resuming, each from a random cursor of `history`: one in five a firehose, the others on one of `customers`. */
export function resumeAtRandom(hub: StreamHub, history: string[], customers: string[], count: number) {
  return Array.from({ length: count }, (_, i) => {
    const after = history[Math.floor(Math.random() * history.length)]!;
    const customer = i % 5 === 0 ? undefined : customers[i % customers.length]!;
    const queue = hub.subscribe({ keys: customer ? [`customer:${customer}`] : [] }, { after });
    return { after, customer, queue };
  });
}

/** Each subscriber got exactly the stream's entries after its cursor that match its filter, in order, cursors included, and nothing more. */
export async function expectExactlyTheirEvents(redis: Redis, key: string, subs: ReturnType<typeof resumeAtRandom>) {
  const all = ((await redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id, fields]) => ({
    id,
    customer: decodeEntry(id, fields).keys.find((k) => k.startsWith("customer:")),
  }));
  for (const { after, customer, queue } of subs) {
    const expected = all
      .filter((e) => compareIds(e.id, after) > 0 && (!customer || e.customer === `customer:${customer}`))
      .map((e) => e.id);
    const got = await drain(queue, expected.length);
    expect(got.map((e) => e.id)).toEqual(expected);
    expect(got.map((e) => e.cursor)).toEqual(expected);
    expect(queue.size).toBe(0); // nothing more: no duplicate
    await queue.return();
  }
}
