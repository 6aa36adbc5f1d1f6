import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { codeOf, collect, firstError, gql, gqlOk, wsClient } from "../support/graphql-clients.ts";
import {
  CREATE_ORDER,
  DEAD_LETTERS,
  DISCARD_DEAD_LETTER,
  ORDER_EVENTS,
  REPLAY_DEAD_LETTER,
  placeOrder,
  type EventStream,
} from "../support/documents.ts";
import { waitFor } from "../support/wait.ts";
import { spawnRole } from "../support/processes.ts";
import { PrivateRedis } from "../support/private-redis.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { encodeEntryFields } from "../../src/platform/events/stream-entry.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";
import { createOrder } from "../../src/modules/orders/create-order.ts";
import { eventCatalog } from "../../src/contracts/index.ts";
import { streamKey } from "../support/streams.ts";

async function addProduct(env: TestEnv, sku: string, onHand: number) {
  await env.db.prisma.product.create({
    data: { sku, name: sku, priceCents: 100, currency: "EUR", stock: { create: { onHand } } },
  });
}
const statusOf = async (env: TestEnv, id: string) =>
  (await env.db.prisma.order.findUniqueOrThrow({ where: { id } })).status;

describe("poison events and dead letters", () => {
  let env: TestEnv;
  let port: number;
  const deadLetters = async (stream: EventStream) =>
    (await gqlOk(port, DEAD_LETTERS, { stream, first: 50 })).deadLetters.edges.map((e) => e.node);

  beforeAll(async () => {
    env = await createTestEnv("poison");
    port = (await env.start(["api", "relay", "inventory", "orders"])).port!;
    await addProduct(env, "POISON-1", 100);
  });

  it("dead-letters each kind of poison with its reason while the next good event is processed", async () => {
    const orders = streamKey(env.config.STREAM_PREFIX, "orders");
    const inventory = streamKey(env.config.STREAM_PREFIX, "inventory");
    const trace = continueTrace();
    const good = eventCatalog.create(
      "OrderCreated",
      "01a21254-e1f1-7133-a952-000000000001",
      { customerId: "p", currency: "EUR", totalCents: 1, items: [{ sku: "SKU-001", quantity: 1, unitPriceCents: 1 }] },
      { trace },
    );
    const poison: [string, string[], string][] = [
      ["not JSON", ["type", "OrderCreated", "agg", "x", "keys", "", "env", "{nope"], "invalid-envelope"],
      [
        "no envelope fields",
        ["type", "OrderCreated", "agg", "x", "keys", "", "env", JSON.stringify({ hello: 1 })],
        "invalid-envelope",
      ],
      [
        "unknown type",
        [
          "type",
          "OrderTeleported",
          "agg",
          "x",
          "keys",
          "",
          "env",
          JSON.stringify({ ...good, eventType: "OrderTeleported" }),
        ],
        "unknown-event-type",
      ],
      [
        "unknown version",
        encodeEntryFields(good, eventCatalog.routingKeys(good), JSON.stringify({ ...good, version: 9 })),
        "unknown-version",
      ],
      [
        "bad payload",
        encodeEntryFields(
          good,
          eventCatalog.routingKeys(good),
          JSON.stringify({ ...good, payload: { customerId: "p", items: "many" } }),
        ),
        "invalid-payload",
      ],
    ];
    const ids: Record<string, string> = {};
    for (const [what, fields] of poison) ids[what] = (await env.redis.xadd(orders, "*", ...fields))!;
    // A StockRejected for an order that does not exist: the saga can never apply it (nothing is held,
    // so nothing to compensate: a StockReserved for no order is released instead, orphan-reservations.test.ts).
    const orphan = eventCatalog.create(
      "StockRejected",
      "01a21254-e1f1-7133-a952-00000000dead",
      { orderId: "01a21254-e1f1-7133-a952-00000000dead", reason: "stray", shortSkus: [] },
      { trace },
    );
    const orphanId = await env.redis.xadd(
      inventory,
      "*",
      ...encodeEntryFields(orphan, eventCatalog.routingKeys(orphan)),
    );

    const after = (await placeOrder(port, { customerId: "after-poison", items: [{ sku: "SKU-002", quantity: 1 }] }))
      .order.id;
    await waitFor(async () => (await statusOf(env, after)) === "CONFIRMED", {
      what: "the good order behind the poison",
    });

    const letters = await waitFor(async () => {
      const l = await deadLetters("ORDERS");
      return l.length >= poison.length ? l : null;
    });
    for (const [what, , reason] of poison) {
      expect(
        letters.find((l) => l.originalEntryId === ids[what]),
        what,
      ).toMatchObject({ reason, group: "inventory", deliveries: 1 });
    }
    const orphanLetter = await waitFor(async () => (await deadLetters("INVENTORY"))[0]);
    expect(orphanLetter).toMatchObject({
      originalEntryId: orphanId,
      reason: "permanent-error",
      group: "orders",
      eventType: "StockRejected",
    });
    expect(orphanLetter.error).toContain("does not exist");
    expect(JSON.parse(orphanLetter.envelope).eventId).toBe(orphan.eventId);
    // Nothing left pending: the groups moved on.
    expect(((await env.redis.xpending(orders, "inventory")) as [number])[0]).toBe(0);
  });

  it("retries a failing handler with backoff, dead-letters it after N deliveries, and a replay applies it once", async () => {
    // A real, repeatable handler failure: the database refuses reservations of POISON-1 for now.
    await env.db.pool.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.sku = 'POISON-1' THEN RAISE EXCEPTION 'warehouse system rejected POISON-1'; END IF; RETURN NEW; END $$`);
    await env.db.pool.query(
      `CREATE TRIGGER refuse_poison BEFORE INSERT ON reservation_items FOR EACH ROW EXECUTE FUNCTION refuse_poison()`,
    );
    const poisoned = (await placeOrder(port, { customerId: "retry", items: [{ sku: "POISON-1", quantity: 1 }] })).order
      .id;
    const fine = (await placeOrder(port, { customerId: "retry", items: [{ sku: "SKU-003", quantity: 1 }] })).order.id;
    await waitFor(async () => (await statusOf(env, fine)) === "CONFIRMED", {
      what: "the order behind the failing one",
    });

    const letter = await waitFor(async () => (await deadLetters("ORDERS")).find((l) => l.aggregateId === poisoned), {
      what: "the dead letter",
    });
    expect(letter).toMatchObject({
      reason: "max-deliveries-exceeded",
      deliveries: 5,
      group: "inventory",
      eventType: "OrderCreated",
    });
    expect(letter.error).toContain("warehouse system rejected POISON-1");
    expect(await statusOf(env, poisoned)).toBe("PENDING");

    // The bug is fixed; replay puts the event back, once.
    await env.db.pool.query(`DROP TRIGGER refuse_poison ON reservation_items; DROP FUNCTION refuse_poison()`);
    const [first, second] = await Promise.all([
      gql(port, REPLAY_DEAD_LETTER, { id: letter.id }),
      gql(port, REPLAY_DEAD_LETTER, { id: letter.id }),
    ]);
    const outcomes = [first, second].map((r) => (r.errors ? codeOf(r) : "replayed")).sort();
    expect(outcomes).toEqual(["NOT_FOUND", "replayed"]);
    await waitFor(async () => (await statusOf(env, poisoned)) === "CONFIRMED", { what: "the replayed order" });
    expect((await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: "POISON-1" } })).reserved).toBe(1);
    expect((await deadLetters("ORDERS")).some((l) => l.id === letter.id)).toBe(false);
  });

  it("discards a dead letter and pages through the rest", async () => {
    const before = await deadLetters("ORDERS");
    const page1 = (await gqlOk(port, DEAD_LETTERS, { stream: "ORDERS", first: 2 })).deadLetters;
    expect(page1.edges).toHaveLength(2);
    expect(page1.hasNextPage).toBe(true);
    const page2 = (await gqlOk(port, DEAD_LETTERS, { stream: "ORDERS", first: 50, after: page1.endCursor }))
      .deadLetters;
    expect(page2.edges.length).toBe(before.length - 2);
    const oldest = before[0]!.id;
    expect((await gqlOk(port, DISCARD_DEAD_LETTER, { id: oldest })).discardDeadLetter.id).toBe(oldest);
    expect(codeOf(await gql(port, DISCARD_DEAD_LETTER, { id: oldest }))).toBe("NOT_FOUND");
    expect(firstError(await gql(port, DISCARD_DEAD_LETTER, { id: "nonsense" })).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "id",
    });
    expect(await deadLetters("ORDERS")).toHaveLength(before.length - 1);
  });
});

describe("crash recovery", () => {
  it("a consumer killed with messages pending: another claims them and completes the work", async () => {
    const env = await createTestEnv("crash-recovery");
    const app = await env.start(["api", "relay", "orders"]);
    await addProduct(env, "HELD-1", 10);
    const victim = spawnRole(env, "inventory");
    await waitFor(() => victim.count("consumer started") === 1, { timeoutMs: 30_000, what: "worker start" });
    // Hold the stock row so the worker's reservation blocks mid-transaction, then kill it.
    const holder = await env.db.pool.connect();
    await holder.query("BEGIN; SELECT * FROM stock_levels WHERE sku = 'HELD-1' FOR UPDATE");
    const { id } = (await placeOrder(app.port!, { customerId: "crash", items: [{ sku: "HELD-1", quantity: 2 }] }))
      .order;
    const key = streamKey(env.config.STREAM_PREFIX, "orders");
    const [pendingBefore] = await waitFor(
      async () => {
        const p = (await env.redis.xpending(key, "inventory", "-", "+", 10)) as [string, string, number, number][];
        return p.length ? p : null;
      },
      { what: "the entry to be pending on the worker" },
    );
    await victim.kill();
    await holder.query("ROLLBACK");
    holder.release();

    const rescuer = await env.start(["inventory"]);
    await waitFor(async () => (await statusOf(env, id)) === "CONFIRMED", { what: "the claimed order to complete" });
    const [router] = rescuer.consumers;
    expect(router!.stats.claimed).toBeGreaterThanOrEqual(1);
    expect(pendingBefore![1]).not.toBe(router!.consumer); // it was the dead worker's
    expect((await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: "HELD-1" } })).reserved).toBe(2);
    // Nothing left pending: the inventory group also reads the OrderConfirmed that just followed (and
    // skips it), so allow that one its moment in flight.
    await waitFor(async () => ((await env.redis.xpending(key, "inventory")) as [number])[0] === 0, {
      what: "no entry pending in the inventory group",
    });
  });
});

describe("outages", () => {
  it("Postgres unreachable: mutations fail fast with SERVICE_UNAVAILABLE and write nothing; everything resumes by itself", async () => {
    const env = await createTestEnv("pg-outage");
    const proxy = await TcpProxy.create({ host: "127.0.0.1", port: 5432 });
    const url = new URL(env.config.DATABASE_URL);
    url.port = String(proxy.port);
    const app = await env.start(["api", "relay", "inventory", "orders"], { DATABASE_URL: url.toString() });
    const port = app.port!;
    try {
      const first = (await placeOrder(port, { customerId: "pg", items: [{ sku: "SKU-001", quantity: 1 }] })).order.id;
      await waitFor(async () => (await statusOf(env, first)) === "CONFIRMED");

      await proxy.cut();
      const orders = await env.db.prisma.order.count();
      let started = Date.now();
      const res = await gql(port, CREATE_ORDER, {
        input: { customerId: "pg", items: [{ sku: "SKU-001", quantity: 1 }] },
      });
      expect(Date.now() - started).toBeLessThan(6_000);
      expect(codeOf(res)).toBe("SERVICE_UNAVAILABLE");
      expect(firstError(res).message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/); // no internals leak
      expect(await env.db.prisma.order.count()).toBe(orders);
      expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(503);

      // Work that reaches the database meanwhile (another api instance) is picked up once it is back.
      started = Date.now();
      const during = await createOrder(
        env.db.prisma,
        { customerId: "pg", items: [{ sku: "SKU-002", quantity: 1 }] },
        { trace: continueTrace() },
      );
      await new Promise((r) => setTimeout(r, 1_000));
      await proxy.restore();
      console.log(`pg outage: direct write took ${Date.now() - started} ms`);
      started = Date.now();
      await waitFor(async () => (await statusOf(env, during.orderId)) === "CONFIRMED", {
        timeoutMs: 30_000,
        what: "the saga to resume",
      });
      console.log(`pg outage: saga resumed ${Date.now() - started} ms after the database came back`);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, { what: "readiness" });
      const again = await gql(port, CREATE_ORDER, {
        input: { customerId: "pg", items: [{ sku: "SKU-001", quantity: 1 }] },
      });
      expect(again.errors).toBeUndefined();
    } finally {
      await proxy.restore();
    }
  }, 60_000);

  it("Redis killed and restarted (AOF): relay keeps the outbox, hub and consumers reconnect, the subscriber misses nothing", async () => {
    const redis = await PrivateRedis.create({ aof: true });
    await redis.start();
    const env = await createTestEnv("redis-restart", { redisUrl: redis.url });
    const app = await env.start(["api", "relay", "inventory", "orders"]);
    const port = app.port!;
    const client = wsClient(port);
    try {
      const sub = collect(client, ORDER_EVENTS, { customerId: "rr" });
      await new Promise((r) => setTimeout(r, 300));
      const a = (await placeOrder(port, { customerId: "rr", items: [{ sku: "SKU-001", quantity: 1 }] })).order.id;
      await sub.until(2);

      await redis.stop(); // kill -9
      const bId = (await placeOrder(port, { customerId: "rr", items: [{ sku: "SKU-002", quantity: 1 }] })).order.id; // writes need only Postgres: the event waits in the outbox
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 503, { what: "not ready" });
      expect(await env.db.prisma.outboxEvent.count()).toBe(1);

      await redis.start();
      await waitFor(async () => (await statusOf(env, bId)) === "CONFIRMED", {
        timeoutMs: 20_000,
        what: "the saga after the restart",
      });
      await sub.until(4, 15_000);
      expect(sub.values().map((e) => [e.orderEvents.__typename, e.orderEvents.orderId])).toEqual([
        ["OrderCreated", a],
        ["OrderConfirmed", a],
        ["OrderCreated", bId],
        ["OrderConfirmed", bId],
      ]);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, {
        what: "ready again",
      });
      sub.dispose();
    } finally {
      await client.dispose();
      await app.stop();
      await redis.destroy();
    }
  });
});
