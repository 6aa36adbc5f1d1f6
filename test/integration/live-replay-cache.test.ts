/**
 * The hub's replay cache: resumes from recent cursors are answered from memory (no stream read),
 * each with exactly the events after its cursor, while events keep arriving; a hub started over an
 * existing stream serves them from the tail it read at start, never replaying a copy; older
 * cursors, or more history than a subscriber's buffer, still take a replay pass over the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { drainAll, expectExactlyTheirEvents, resumeAtRandom, testHub } from "../support/hubs.ts";
import type { StreamHub } from "../../src/platform/live/hub.ts";
import { publishOrders, steadyPublisher } from "../support/publisher.ts";

let env: TestEnv;
let key: string;
const hubs: StreamHub[] = [];

async function startHub(replayCache: number, bufferSize = 5000): Promise<StreamHub> {
  const hub = testHub(env, key, { blockMs: 200, readCount: 100, bufferSize, dedupeWindow: 1000, replayCache });
  hubs.push(hub);
  await hub.start();
  return hub;
}

beforeAll(async () => {
  env = await createTestEnv("replay-cache", { seed: false });
  key = `${env.config.STREAM_PREFIX}:orders`;
});
afterAll(async () => {
  await Promise.all(hubs.map((h) => h.stop()));
});

describe("replay cache", () => {
  it("200 resumes from recent cursors, with events arriving, each get exactly their events from memory", async () => {
    const hub = await startHub(5000);
    const customers = Array.from({ length: 10 }, (_, i) => `rc${i}`);
    for (const c of customers) await publishOrders(env.redis, key, 50, c);
    const history = ((await env.redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id]) => id);
    const publisher = steadyPublisher(env.redis, key, 300, { batch: 3, everyMs: 5, customerId: "rc3" });
    const subs = resumeAtRandom(hub, history, customers, 200);
    await publisher.done;
    await expectExactlyTheirEvents(env.redis, key, subs);
    expect(hub.replayReads).toBe(0);
    expect(hub.resumesFromMemory).toBe(200);
    await hub.stop();
  });

  it("a hub started over an existing stream serves resumes from the tail it read, without the copies in it", async () => {
    await env.redis.del(key);
    const originals = await publishOrders(env.redis, key, 300, "tail");
    // What a relay crash between XADD and commit leaves: 20 entries published again at later ids.
    const pipeline = env.redis.pipeline();
    for (const [, fields] of (await env.redis.xrange(key, originals[100]!, originals[119]!)) as [string, string[]][])
      pipeline.xadd(key, "*", ...fields);
    await pipeline.exec();
    await publishOrders(env.redis, key, 10, "tail");
    const hub = await startHub(1000);
    const queue = hub.subscribe({ keys: ["customer:tail"] }, { after: originals[49]! });
    const got = await drainAll(queue);
    expect(got).toHaveLength(250 + 10);
    expect(new Set(got.map((e) => e.envelope.eventId)).size).toBe(got.length);
    expect(got.map((e) => e.cursor)).toEqual(got.map((e) => e.id));
    expect(hub.resumesFromMemory).toBe(1);
    expect(hub.replayReads).toBe(0);
    await queue.return();
    await hub.stop();
  });

  it("an older cursor than it holds, or more history than the buffer, is replayed from the stream", async () => {
    await env.redis.del(key);
    const ids = await publishOrders(env.redis, key, 1500, "old");
    const hub = await startHub(1000, 500); // holds the last 1,000 entries; buffers 500 events per subscriber
    const old = hub.subscribe({ keys: ["customer:old"] }, { after: ids[9]! }); // older than what it holds
    const many = hub.subscribe({ keys: ["customer:old"] }, { after: ids[799]! }); // held, but 700 events > 500
    const recent = hub.subscribe({ keys: ["customer:old"] }, { after: ids[1199]! }); // 300 events: from memory
    const [fromOld, fromMany, fromRecent] = await Promise.all([old, many, recent].map((q) => drainAll(q)));
    expect(fromOld!.map((e) => e.id)).toEqual(ids.slice(10));
    expect(fromMany!.map((e) => e.id)).toEqual(ids.slice(800));
    expect(fromRecent!.map((e) => e.id)).toEqual(ids.slice(1200));
    expect(hub.resumesFromMemory).toBe(1);
    expect(hub.replayReads).toBeGreaterThan(0);
    await Promise.all([old, many, recent].map((q) => q.return()));
    await hub.stop();
  });
});
