import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, gql, wsClient } from "../support/graphql-clients.ts";
import { CREATE_ORDER, placeOrder } from "../support/documents.ts";
import { waitFor } from "../support/wait.ts";
import { metric, parseMetrics } from "../support/metrics.ts";
import type { RunningApp } from "../../src/app.ts";
import { MAX_OPERATION_NAMES } from "../../src/platform/observability/yoga.ts";
import { dlqKey, streamKey } from "../support/streams.ts";

const WATCH = `subscription WatchCustomer($customerId: ID) { orderEvents(customerId: $customerId) { __typename orderId } }`;

async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return parseMetrics(await res.text());
}

describe("metrics", () => {
  let env: TestEnv;
  let app: RunningApp;
  let port: number;
  const statusOf = async (id: string) => (await env.db.prisma.order.findUniqueOrThrow({ where: { id } })).status;

  beforeAll(async () => {
    env = await createTestEnv("obs-metrics");
    // Claim idle time well above the retry backoff: on a busy machine our own retries must not also be
    // taken over by XAUTOCLAIM, so the delivery counts below stay exact.
    app = await env.start(["api", "relay", "inventory", "orders"], { CONSUMER_CLAIM_IDLE_MS: "10000" });
    port = app.port!;
    await env.db.prisma.product.create({
      data: {
        sku: "METRICS-SHORT",
        name: "almost sold out",
        priceCents: 100,
        currency: "EUR",
        stock: { create: { onHand: 1 } },
      },
    });
    await env.db.prisma.product.create({
      data: {
        sku: "METRICS-BAD",
        name: "refused by the warehouse",
        priceCents: 100,
        currency: "EUR",
        stock: { create: { onHand: 100 } },
      },
    });
  });

  it("counts orders through relay, consumers and live delivery, and reports backlog, lag and connections", async () => {
    const before = await scrape(port);
    expect(metric(before, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(metric(before, "websocket_connections")).toBe(0);

    const client = wsClient(port);
    const sub = collect(client, WATCH, { customerId: "metrics-1" });
    await waitFor(async () => metric(await scrape(port), "live_subscriptions", { stream: "orders" }) === 1, {
      what: "the subscription to register",
    });
    expect(metric(await scrape(port), "websocket_connections")).toBe(1);

    // CREATE_ORDER, the operation placeOrder sends, is named PlaceOrder.
    const confirmed = (await placeOrder(port, { customerId: "metrics-1", items: [{ sku: "SKU-005", quantity: 1 }] }))
      .order.id;
    const rejected = (
      await placeOrder(port, { customerId: "metrics-1", items: [{ sku: "METRICS-SHORT", quantity: 5 }] })
    ).order.id;
    await waitFor(
      async () => (await statusOf(confirmed)) === "CONFIRMED" && (await statusOf(rejected)) === "REJECTED",
      { what: "both orders to settle" },
    );
    await sub.until(4); // OrderCreated ×2, OrderConfirmed, OrderRejected

    const after = await waitFor(
      async () => {
        const m = await scrape(port);
        // Settled orders are not the end of the flow: inventory still handles OrderConfirmed and
        // OrderRejected after the saga has written them (4 events in all for the inventory group).
        const inventoryHandled =
          metric(m, "consumer_processing_duration_seconds_count", { group: "inventory" }) -
          metric(before, "consumer_processing_duration_seconds_count", { group: "inventory" });
        return metric(m, "consumer_processing_duration_seconds_count", { group: "orders" }) >= 2 &&
          metric(m, "relay_published_events_total", { stream: "orders" }) >= 4 &&
          inventoryHandled >= 4
          ? m
          : null;
      },
      { what: "the saga's and inventory's metrics" },
    );
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metric(after, name, labels) - metric(before, name, labels);

    // Relay: OrderCreated ×2 + OrderConfirmed + OrderRejected on orders; StockReserved + StockRejected on inventory.
    expect(delta("relay_published_events_total", { stream: "orders" })).toBe(4);
    expect(delta("relay_published_events_total", { stream: "inventory" })).toBe(2);
    // Consumers: processing time by group, event type and outcome.
    expect(
      delta("consumer_processing_duration_seconds_count", {
        group: "inventory",
        event_type: "OrderCreated",
        outcome: "handled",
      }),
    ).toBe(2);
    // The inventory group follows the saga's outcomes too (a confirmation verifies the reservation,
    // a rejection releases a stray one): nothing on the orders stream is skipped.
    for (const eventType of ["OrderConfirmed", "OrderRejected"])
      expect(
        delta("consumer_processing_duration_seconds_count", {
          group: "inventory",
          event_type: eventType,
          outcome: "handled",
        }),
      ).toBe(1);
    expect(delta("consumer_processing_duration_seconds_count", { group: "inventory", outcome: "skipped" })).toBe(0);
    expect(
      delta("consumer_processing_duration_seconds_count", {
        group: "orders",
        event_type: "StockReserved",
        outcome: "handled",
      }),
    ).toBe(1);
    expect(
      delta("consumer_processing_duration_seconds_count", {
        group: "orders",
        event_type: "StockRejected",
        outcome: "handled",
      }),
    ).toBe(1);
    // Live: each of the four order events reached the one subscriber, with a commit→delivery latency.
    expect(delta("live_delivered_events_total", { stream: "orders" })).toBe(4);
    expect(delta("live_commit_to_delivery_seconds_count", { stream: "orders" })).toBe(4);
    expect(metric(after, "live_commit_to_delivery_seconds_sum", { stream: "orders" })).toBeGreaterThan(0);
    // GraphQL operations by name (Yoga's prometheus plugin).
    expect(
      delta("graphql_envelop_request_duration_count", { operationName: "PlaceOrder", operationType: "mutation" }),
    ).toBe(2);
    // Nothing waiting: outbox drained, groups caught up.
    await waitFor(
      async () => {
        const m = await scrape(port);
        return (
          metric(m, "outbox_backlog") === 0 &&
          metric(m, "consumer_group_pending", { group: "inventory" }) === 0 &&
          metric(m, "consumer_group_lag", { group: "orders" }) === 0
        );
      },
      { what: "outbox and groups to drain" },
    );
    const drained = await scrape(port);
    expect(drained.has("outbox_oldest_age_seconds")).toBe(true);
    expect(metric(drained, "outbox_oldest_age_seconds")).toBe(0);
    expect(drained.has('consumer_group_lag{group="inventory",stream="orders"}')).toBe(true);
    expect(drained.has('consumer_group_pending{group="orders",stream="inventory"}')).toBe(true);

    client.dispose();
    // The socket closes, the subscription ends and leaves the hub; its duration is recorded when it ends.
    const closed = await waitFor(
      async () => {
        const m = await scrape(port);
        return metric(m, "websocket_connections") === 0 &&
          metric(m, "live_subscriptions", { stream: "orders" }) === 0 &&
          metric(m, "graphql_envelop_request_duration_count", { operationName: "WatchCustomer" }) > 0
          ? m
          : null;
      },
      { what: "the socket and its subscription to close" },
    );
    expect(
      metric(closed, "graphql_envelop_request_duration_count", {
        operationName: "WatchCustomer",
        operationType: "subscription",
      }) - metric(before, "graphql_envelop_request_duration_count", { operationName: "WatchCustomer" }),
    ).toBe(1);
  });

  it("counts GraphQL errors by operation", async () => {
    const before = await scrape(port);
    const res = await gql(port, CREATE_ORDER.replace("PlaceOrder", "BadOrder"), {
      input: { customerId: "metrics-2", items: [{ sku: "NO-SUCH-SKU", quantity: 1 }] },
    });
    expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const after = await scrape(port);
    expect(
      metric(after, "graphql_envelop_error_result", { operationName: "BadOrder" }) -
        metric(before, "graphql_envelop_error_result", { operationName: "BadOrder" }),
    ).toBe(1);
  });

  it("keeps operation names as label values only up to a bound (clients choose them)", async () => {
    for (let i = 0; i < MAX_OPERATION_NAMES + 50; i++) {
      const res = await gql(port, `query Flood${i} { __typename }`);
      expect(res.errors).toBeUndefined();
    }
    const names = new Set(
      [...(await scrape(port)).keys()]
        .filter((k) => k.startsWith("graphql_envelop_request{"))
        .map((k) => /operationName="([^"]*)"/.exec(k)![1]),
    );
    expect(names.size).toBeLessThanOrEqual(MAX_OPERATION_NAMES + 2);
    expect(names.has("other")).toBe(true);
    expect(names.has("PlaceOrder")).toBe(true); // names seen before the flood keep their own series
  }, 60_000);

  it("counts retries and dead letters by reason", async () => {
    const before = await scrape(port);
    // A handler failure that repeats: the database refuses this sku's reservations.
    await env.db.pool.query(`CREATE FUNCTION refuse_metrics_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.sku = 'METRICS-BAD' THEN RAISE EXCEPTION 'warehouse refused METRICS-BAD'; END IF; RETURN NEW; END $$`);
    await env.db.pool.query(
      `CREATE TRIGGER refuse_metrics_bad BEFORE INSERT ON reservation_items FOR EACH ROW EXECUTE FUNCTION refuse_metrics_bad()`,
    );
    const failing = (await placeOrder(port, { customerId: "metrics-3", items: [{ sku: "METRICS-BAD", quantity: 1 }] }))
      .order.id;
    // And poison: an entry that is not even JSON.
    await env.redis.xadd(
      streamKey(env.config.STREAM_PREFIX, "orders"),
      "*",
      "type",
      "OrderCreated",
      "agg",
      "x",
      "keys",
      "",
      "env",
      "{not json",
    );

    const after = await waitFor(
      async () => {
        const m = await scrape(port);
        return metric(m, "consumer_dead_letters_total", { group: "inventory" }) -
          metric(before, "consumer_dead_letters_total", { group: "inventory" }) >=
          2
          ? m
          : null;
      },
      { what: "both dead letters" },
    );
    const delta = (name: string, labels: Record<string, string>) =>
      metric(after, name, labels) - metric(before, name, labels);
    // CONSUMER_MAX_DELIVERIES = 5: four retries, then the fifth delivery goes to the dead-letter stream.
    expect(delta("consumer_retries_total", { group: "inventory", reason: "handler-error" })).toBe(4);
    expect(delta("consumer_retries_total", { group: "inventory", reason: "infrastructure" })).toBe(0);
    expect(delta("consumer_dead_letters_total", { group: "inventory", reason: "max-deliveries-exceeded" })).toBe(1);
    expect(delta("consumer_dead_letters_total", { group: "inventory", reason: "invalid-envelope" })).toBe(1);
    expect(
      delta("consumer_processing_duration_seconds_count", {
        group: "inventory",
        event_type: "OrderCreated",
        outcome: "retry",
      }),
    ).toBe(4);
    expect(delta("consumer_processing_duration_seconds_count", { group: "inventory", outcome: "dead-letter" })).toBe(2);
    expect(
      delta("consumer_processing_duration_seconds_count", {
        group: "inventory",
        event_type: "invalid",
        outcome: "dead-letter",
      }),
    ).toBe(0); // poison typed OrderCreated
    expect(await statusOf(failing)).toBe("PENDING");
    // Both letters wait in the orders stream's dead-letter stream until someone replays or discards them.
    expect(before.get('dead_letters_waiting{stream="orders"}')).toBe(0);
    // (A scrape may reuse a probe up to 250 ms old, so wait for the gauge rather than read `after`.)
    const waiting = await waitFor(
      async () => {
        const m = await scrape(port);
        return metric(m, "dead_letters_waiting", { stream: "orders" }) >= 2 ? m : null;
      },
      { what: "the dead letters to show as waiting" },
    );
    expect(metric(waiting, "dead_letters_waiting", { stream: "orders" })).toBe(2);
    expect(waiting.get('dead_letters_waiting{stream="inventory"}')).toBe(0);
    await env.redis.del(dlqKey(env.config.STREAM_PREFIX, "orders")); // as if discarded

    await waitFor(async () => metric(await scrape(port), "dead_letters_waiting", { stream: "orders" }) === 0, {
      what: "the gauge to drop once the letters are gone",
    });
    await env.db.pool.query(`DROP TRIGGER refuse_metrics_bad ON reservation_items; DROP FUNCTION refuse_metrics_bad()`);
  });

  it("serves the metrics of a worker process on its health port", async () => {
    const relay = await env.start(["relay"]);
    const res = await fetch(`http://127.0.0.1:${relay.healthPort}/metrics`);
    expect(res.status).toBe(200);
    const m = parseMetrics(await res.text());
    expect(m.has("outbox_backlog")).toBe(true);
    expect(m.has("nodejs_eventloop_lag_seconds")).toBe(true);
    expect([...m.keys()].some((k) => k.startsWith("graphql_envelop"))).toBe(false); // the api's metrics live in the api process
  });
});
