import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, dataOf, sse, wsClient } from "../support/graphql-clients.ts";
import { ORDER_EVENTS, placeOrder } from "../support/documents.ts";
import type { Client } from "graphql-ws";

let env: TestEnv;
let port: number;
let client: Client;

const ITEMS = [{ sku: "SKU-002", quantity: 3 }];

beforeAll(async () => {
  env = await createTestEnv("live");
  port = (await env.start(["api", "relay"])).port!;
  client = wsClient(port);
});
afterAll(() => client.dispose());

describe("live order events end to end (HTTP mutation → outbox → relay → stream → hub → subscriber)", () => {
  it("delivers OrderCreated over graphql-ws with the mutation's trace id and a cursor", async () => {
    const sub = collect(client, ORDER_EVENTS, { customerId: "ws-customer" });
    await new Promise((r) => setTimeout(r, 200)); // let the subscription register
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const { order } = await placeOrder(
      port,
      { customerId: "ws-customer", items: ITEMS },
      { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } },
    );
    await sub.until(1);
    sub.dispose();
    const event = sub.value(0); // throws if it carried errors
    expect(event.orderEvents).toMatchObject({
      __typename: "OrderCreated",
      eventType: "OrderCreated",
      orderId: order.id,
      customerId: "ws-customer",
      traceId,
      totalCents: order.totalCents,
      currency: "EUR",
      items: [{ sku: "SKU-002", quantity: 3, unitPriceCents: 1190 }],
    });
    const cursor = event.orderEvents.cursor;
    const entries = await env.redis.xrange(`${env.config.STREAM_PREFIX}:orders`, cursor, cursor);
    expect(entries.map(([id]) => id)).toEqual([cursor]); // the cursor is the stream entry id
  });

  it("delivers the same event over SSE", async () => {
    const stream = await sse(port, ORDER_EVENTS, { customerId: "sse-customer" });
    expect(stream.status).toBe(200);
    expect(stream.contentType).toContain("text/event-stream");
    await new Promise((r) => setTimeout(r, 200));
    const { order, traceId } = await placeOrder(port, { customerId: "sse-customer", items: ITEMS });
    const event = await stream.next();
    stream.close();
    expect(dataOf(event).orderEvents).toMatchObject({
      __typename: "OrderCreated",
      orderId: order.id,
      customerId: "sse-customer",
      traceId,
    });
  });

  it("delivers only matching events to filtered subscribers, everything to an unfiltered one", async () => {
    const all = collect(client, ORDER_EVENTS, {});
    const alice = collect(client, ORDER_EVENTS, { customerId: "alice" });
    const bob = collect(client, ORDER_EVENTS, { customerId: "bob" });
    await new Promise((r) => setTimeout(r, 200));
    const a1 = await placeOrder(port, { customerId: "alice", items: ITEMS });
    const b1 = await placeOrder(port, { customerId: "bob", items: ITEMS });
    const a2 = await placeOrder(port, { customerId: "alice", items: ITEMS });
    await all.until(3);
    await alice.until(2);
    await bob.until(1);
    // Subscribed after a2's event went out: live delivery only, so neither gets anything.
    const oneOrder = collect(client, ORDER_EVENTS, { orderId: a2.order.id });
    const wrongPair = collect(client, ORDER_EVENTS, { orderId: a2.order.id, customerId: "bob" });
    await new Promise((r) => setTimeout(r, 200));
    // Nothing else arrives for the filtered ones while unrelated orders flow.
    await placeOrder(port, { customerId: "carol", items: ITEMS });
    await all.until(4);
    await new Promise((r) => setTimeout(r, 300));
    const ids = (s: ReturnType<typeof collect<typeof ORDER_EVENTS>>) => s.values().map((e) => e.orderEvents.orderId);
    expect(ids(alice)).toEqual([a1.order.id, a2.order.id]);
    expect(ids(bob)).toEqual([b1.order.id]);
    expect(ids(all).slice(0, 3)).toEqual([a1.order.id, b1.order.id, a2.order.id]);
    expect(ids(oneOrder)).toEqual([]);
    expect(ids(wrongPair)).toEqual([]);
    for (const s of [all, alice, bob, oneOrder, wrongPair]) s.dispose();
  });

  it("rejects a malformed filter with a typed error", async () => {
    const sub = collect(client, ORDER_EVENTS, { orderId: "not-a-uuid" });
    await new Promise((r) => setTimeout(r, 300));
    const message = sub.received[0]?.errors?.[0] ?? (sub.error as any)?.[0];
    expect(message).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "orderId" } });
  });

  it("serializes an event's payload once for all the subscribers that share it, not once per subscriber", async () => {
    const subs = Array.from({ length: 20 }, () => collect(client, ORDER_EVENTS, { customerId: "shared-payload" }));
    await new Promise((r) => setTimeout(r, 300));
    const stringify = vi.spyOn(JSON, "stringify");
    try {
      const { order } = await placeOrder(port, { customerId: "shared-payload", items: ITEMS });
      await Promise.all(subs.map((s) => s.until(1)));
      const payloads = stringify.mock.results.filter(
        (r) =>
          typeof r.value === "string" && r.value.startsWith('{"data":{"orderEvents"') && r.value.includes(order.id),
      );
      expect(payloads).toHaveLength(1);
      for (const s of subs) expect(s.value(0).orderEvents.orderId).toBe(order.id);
    } finally {
      stringify.mockRestore();
      subs.forEach((s) => s.dispose());
    }
  });

  it("uses one Redis connection per stream for any number of subscribers", async () => {
    const subs = Array.from({ length: 50 }, (_, i) => collect(client, ORDER_EVENTS, { customerId: `many-${i}` }));
    await new Promise((r) => setTimeout(r, 300));
    const clients = (await env.redis.client("LIST")) as string;
    // Only this file's hubs: other files' apps on the shared Redis have their own stream prefix.
    const hubConnections = clients.split("\n").filter((l) => l.includes(` name=live-hub:${env.config.STREAM_PREFIX}`));
    subs.forEach((s) => s.dispose());
    // Two hubs (orders, inventory) for this api process, whatever the subscriber count.
    expect(hubConnections.length).toBeGreaterThanOrEqual(2);
    expect(hubConnections.length).toBeLessThan(10);
  });
});
