import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { drain, testHub } from "../support/hubs.ts";
import { StreamHub } from "../../src/platform/live/hub.ts";
import { SlowSubscriberError } from "../../src/platform/live/subscription-queue.ts";
import { encodeEntryFields } from "../../src/platform/events/stream-entry.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";
import { eventCatalog } from "../../src/contracts/index.ts";
import { Metrics } from "../../src/platform/observability/metrics.ts";

let env: TestEnv;
let hub: StreamHub;
let key: string;
const metrics = new Metrics();

const order = (n: number) => `0193a1b2-0000-7000-8000-${String(n).padStart(12, "0")}`;
const trace = continueTrace();
async function publish(type: "OrderCreated" | "OrderConfirmed", orderNo: number, customerId: string) {
  const e =
    type === "OrderCreated"
      ? eventCatalog.create(
          type,
          order(orderNo),
          { customerId, currency: "EUR", totalCents: 1, items: [{ sku: "S1", quantity: 1, unitPriceCents: 1 }] },
          { trace },
        )
      : eventCatalog.create(type, order(orderNo), { customerId }, { trace });
  return env.redis.xadd(key, "*", ...encodeEntryFields(e, eventCatalog.routingKeys(e)));
}

beforeAll(async () => {
  env = await createTestEnv("hub", { seed: false });
  key = `${env.config.STREAM_PREFIX}:orders`;
  await publish("OrderCreated", 0, "before-start"); // history: must not be replayed to live subscribers
  hub = testHub(env, key, {
    blockMs: 500,
    readCount: 100,
    bufferSize: 5,
    metrics,
    streamName: "orders",
  });
  await hub.start();
});
afterAll(() => hub.stop());

describe("stream hub", () => {
  it("routes by order, customer and type, sharing one parsed event between subscribers", async () => {
    const byOrder = hub.subscribe({ keys: [`order:${order(1)}`] });
    const byCustomer = hub.subscribe({ keys: ["customer:ann"] });
    const confirmedOnly = hub.subscribe({ keys: ["customer:ann"], types: ["OrderConfirmed"] });
    const firehose = hub.subscribe({ keys: [] });
    await publish("OrderCreated", 1, "ann");
    await publish("OrderCreated", 2, "ben");
    await publish("OrderConfirmed", 1, "ann");

    const orderEvents = await drain(byOrder, 2);
    expect(orderEvents.map((e) => e.envelope.eventType)).toEqual(["OrderCreated", "OrderConfirmed"]);
    expect((await drain(byCustomer, 2)).map((e) => e.envelope.aggregateId)).toEqual([order(1), order(1)]);
    expect((await drain(confirmedOnly, 1)).map((e) => e.envelope.eventType)).toEqual(["OrderConfirmed"]);
    const all = await drain(firehose, 3);
    expect(all.map((e) => (e.envelope.payload as { customerId: string }).customerId)).toEqual(["ann", "ben", "ann"]);
    expect(all[0]).toBe(orderEvents[0]); // the same object: parsed once, not per subscriber
    expect(all[0]!.traceId).toBe(trace.traceId);
    for (const q of [byOrder, byCustomer, confirmedOnly, firehose]) await q.return();
    expect(hub.subscriberCount).toBe(0);
  });

  it("cuts off a subscriber that stops reading, with its last cursor, without delaying the others", async () => {
    const slow = hub.subscribe({ keys: [] });
    const fast = hub.subscribe({ keys: [] });
    const first = await publish("OrderCreated", 10, "x");
    const [got] = await drain(slow, 1); // slow reads one event, then stops reading
    const fastReader = drain(fast, 10); // fast keeps reading while events flow
    const cursors = [first];
    for (let i = 11; i < 20; i++) cursors.push(await publish("OrderCreated", i, "x"));
    expect((await fastReader).map((e) => e.cursor)).toEqual(cursors);
    await expect(slow.next()).rejects.toBeInstanceOf(SlowSubscriberError);
    expect(got!.cursor).toBe(first);
    expect(slow.lastCursor).toBe(first);
    expect(slow.isClosed).toBe(true);
    await fast.return();
    // Counted for the SubscribersCutOff alert; the fast one closing normally is not a cut-off.
    const cutOff = (await metrics.liveCutOff.get()).values;
    expect(cutOff.map((v) => [v.labels.stream, v.value])).toEqual([["orders", 1]]);
  });

  it("skips an entry whose envelope is invalid and carries on", async () => {
    const q = hub.subscribe({ keys: [] });
    await env.redis.xadd(key, "*", "type", "OrderCreated", "agg", "x", "keys", "", "env", "{not json");
    const good = await publish("OrderCreated", 30, "y");
    expect((await drain(q, 1)).map((e) => e.cursor)).toEqual([good]);
    await q.return();
  });
});
