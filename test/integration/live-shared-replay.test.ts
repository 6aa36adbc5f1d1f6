/**
 * Shared replay: many subscribers resuming at once from different cursors, with events still
 * arriving, each get exactly their events (in order, no gap, no duplicate) through one forward
 * pass of the stream, counted in XRANGE pages, instead of one pass each.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { drainAll, expectExactlyTheirEvents, resumeAtRandom, testHub } from "../support/hubs.ts";
import { StreamHub } from "../../src/platform/live/hub.ts";
import { publishOrders, steadyPublisher } from "../support/publisher.ts";
import { delay } from "../support/wait.ts";

let env: TestEnv;
let key: string;
let hub: StreamHub;

beforeAll(async () => {
  env = await createTestEnv("shared-replay", { seed: false });
  key = `${env.config.STREAM_PREFIX}:orders`;
  hub = testHub(env, key, {
    blockMs: 200,
    readCount: 100,
    bufferSize: 5000,
    dedupeWindow: 1000,
  });
  await hub.start();
});
afterAll(() => hub.stop());

describe("shared replay", () => {
  it("200 subscribers resuming at once from different cursors share one pass and each get exactly their events", async () => {
    const customers = Array.from({ length: 10 }, (_, i) => `sr${i}`);
    for (let round = 0; round < 100; round++) await publishOrders(env.redis, key, 10, customers[round % 10]);
    const history = ((await env.redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id]) => id);
    const readsBefore = hub.replayReads;
    const publisher = steadyPublisher(env.redis, key, 300, { batch: 3, everyMs: 5, customerId: "sr3" });
    const subs = resumeAtRandom(hub, history, customers, 200);
    await publisher.done;
    await delay(1_000); // the live reader has dispatched the last events
    await expectExactlyTheirEvents(env.redis, key, subs);
    // One pass over ~1,300 entries is ~7 pages of 200; 200 separate replays would read > 200 × 3.
    const reads = hub.replayReads - readsBefore;
    expect(reads).toBeLessThanOrEqual(20);
    expect(reads).toBeGreaterThan(0);
  });

  it("a resume arriving while a pass runs past its cursor waits for the next pass, and still misses nothing", async () => {
    await publishOrders(env.redis, key, 500, "late");
    const history = ((await env.redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id]) => id);
    const early = hub.subscribe({ keys: ["customer:late"] }, { after: history[0]! });
    await delay(5);
    const late = hub.subscribe({ keys: ["customer:late"] }, { after: history[history.length - 600]! });
    const lateOnes = history.slice(-500);
    expect((await drainAll(early)).map((e) => e.id)).toEqual(lateOnes);
    expect((await drainAll(late)).map((e) => e.id)).toEqual(lateOnes);
  });
});
