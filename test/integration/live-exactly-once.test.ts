/**
 * Exactly-once to subscribers: the relay publishes a batch again after a crash between XADD and its
 * commit (same envelopes, later entry ids). Every subscriber — live, replaying from before the
 * batch, resuming between the batch and its copies, on a hub started after the copies, and over
 * graphql-ws through the api — sees each eventId once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { drainAll, testHub } from "../support/hubs.ts";
import { StreamHub, type LiveEvent } from "../../src/platform/live/hub.ts";
import { publishOrders } from "../support/publisher.ts";
import { collect, typed, wsClient } from "../support/graphql-clients.ts";
import { delay } from "../support/wait.ts";

let env: TestEnv;
let key: string;
const hubs: StreamHub[] = [];

function newHub(dedupeWindow = 1000, readCount = 50) {
  const hub = testHub(env, key, {
    blockMs: 200,
    readCount,
    bufferSize: 5000,
    dedupeWindow,
  });
  hubs.push(hub);
  return hub;
}

/** What the relay does after a crash between XADD and commit: XADD the same entries again. */
async function republish(ids: string[]): Promise<string[]> {
  const pipeline = env.redis.pipeline();
  for (const id of ids) {
    const [[, fields]] = (await env.redis.xrange(key, id, id)) as [[string, string[]]];
    pipeline.xadd(key, "*", ...fields);
  }
  return ((await pipeline.exec()) ?? []).map(([err, id]) => {
    if (err) throw err;
    return id as string;
  });
}

const eventIds = (events: LiveEvent[]) => events.map((e) => e.envelope.eventId);

beforeAll(async () => {
  env = await createTestEnv("exactly-once", { seed: false });
  key = `${env.config.STREAM_PREFIX}:orders`;
});
afterAll(async () => {
  for (const hub of hubs) await hub.stop();
});

describe("exactly-once delivery to subscribers", () => {
  it("a republished batch reaches no subscriber twice: live, replaying, resuming between, and across the handover", async () => {
    const hub = newHub();
    await hub.start();
    const [start] = await publishOrders(env.redis, key, 1, "once");
    const live = hub.subscribe({ keys: ["customer:once"] });
    const fromStart = hub.subscribe({ keys: ["customer:once"] }, { after: start! });
    const batch = await publishOrders(env.redis, key, 40, "once");
    await delay(100);
    // A replay that is still running when the copies arrive: tiny pages force it across the handover.
    const racing = hub.subscribe({ keys: [] }, { after: start! });
    const copies = await republish(batch);
    const more = await publishOrders(env.redis, key, 10, "once");
    const betweenBatchAndCopies = hub.subscribe({ keys: ["customer:once"] }, { after: batch.at(-1)! });
    const afterCopies = hub.subscribe({ keys: ["customer:once"] }, { after: copies[5]! });

    const want = (await drainAll(fromStart)).map((e) => e.envelope.eventId);
    expect(want).toHaveLength(50);
    expect(new Set(want).size).toBe(50);
    expect(eventIds(await drainAll(live))).toEqual(want);
    expect(eventIds(await drainAll(racing))).toEqual(want);
    const tail = eventIds(await drainAll(betweenBatchAndCopies));
    expect(tail).toEqual(want.slice(40)); // the copies repeat what it saw before its cursor
    expect(eventIds(await drainAll(afterCopies))).toEqual(want.slice(40));
    expect(hub.duplicatesDropped).toBeGreaterThanOrEqual(40);
    void more;
  });

  it("a hub started after the copies (a restarted api) recognises them too, within its window", async () => {
    const [start] = await publishOrders(env.redis, key, 1, "restart");
    const batch = await publishOrders(env.redis, key, 20, "restart");
    await publishOrders(env.redis, key, 5, "restart");
    await republish(batch);
    const hub = newHub(200);
    await hub.start();
    const fromStart = hub.subscribe({ keys: ["customer:restart"] }, { after: start! });
    const between = hub.subscribe({ keys: ["customer:restart"] }, { after: batch.at(-1)! });
    const got = eventIds(await drainAll(fromStart));
    expect(got).toHaveLength(25);
    expect(new Set(got).size).toBe(25);
    expect(eventIds(await drainAll(between))).toEqual(got.slice(20));
  });

  it("a cursor older than the window: the replay looks back from its cursor and still drops the copies", async () => {
    const [start] = await publishOrders(env.redis, key, 1, "deep");
    const batch = await publishOrders(env.redis, key, 10, "deep");
    await republish(batch);
    await publishOrders(env.redis, key, 60, "filler"); // pushes the batch out of a 30-event window
    const hub = newHub(30);
    await hub.start();
    const between = hub.subscribe({ keys: ["customer:deep"] }, { after: batch.at(-1)! });
    const fromStart = hub.subscribe({ keys: ["customer:deep"] }, { after: start! });
    expect(await drainAll(between)).toEqual([]);
    expect(new Set(eventIds(await drainAll(fromStart))).size).toBe(10);
  });

  it("over graphql-ws, through the api: a live and a resuming subscriber see each eventId once", async () => {
    const port = (await env.start(["api"])).port!;
    const EVENTS = typed<{ orderEvents: { eventId: string } }, { customerId?: string; after?: string }>(
      `subscription($customerId: ID, $after: String) { orderEvents(customerId: $customerId, after: $after) { eventId } }`,
    );
    const [start] = await publishOrders(env.redis, key, 1, "ws");
    const client = wsClient(port);
    const live = collect(client, EVENTS, { customerId: "ws" });
    await delay(300);
    const batch = await publishOrders(env.redis, key, 8, "ws");
    await republish(batch);
    await publishOrders(env.redis, key, 2, "ws");
    const resumed = collect(client, EVENTS, { customerId: "ws", after: start! });
    await live.until(10);
    await resumed.until(10);
    await delay(500);
    for (const sub of [live, resumed]) {
      const ids = sub.values().map((d) => d.orderEvents.eventId);
      expect(ids).toHaveLength(10);
      expect(new Set(ids).size).toBe(10);
    }
    await client.dispose();
  });
});
