/**
 * Stray events never leak stock (issue 17): events a buggy producer, a restored backup or a replayed
 * dead letter could put on the streams, injected straight into them. Stock may stay reserved only
 * for an order that is PENDING or CONFIRMED; every other reservation is released, at once where the
 * saga can tell (no such order), or by the inventory role's periodic reconciliation, with a metric
 * and a log line for each orphan. The inventory role runs as its own process so its logs and
 * /metrics are the real ones.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { placeOrder } from "../support/documents.ts";
import { waitFor } from "../support/wait.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { metric, parseMetrics } from "../support/metrics.ts";
import { streamKey } from "../support/streams.ts";
import { encodeEntryFields } from "../../src/platform/events/stream-entry.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";
import { eventCatalog, type EventOf } from "../../src/contracts/index.ts";

const GRACE_MS = 1_500;
const SKU = "ORPHAN-1";
const ON_HAND = 100;
const ORPHAN_LOG = "orphan reservation released: stock was held for an order that is not pending or confirmed";
const CHECK_LOG = "reservation held past the grace period for an order not seen confirmed; asking the orders module";

let env: TestEnv;
let port: number;
let inventory: AppProcess;
let metricsUrl: string;

beforeAll(async () => {
  env = await createTestEnv("orphans");
  await env.db.prisma.product.create({
    data: { sku: SKU, name: SKU, priceCents: 100, currency: "EUR", stock: { create: { onHand: ON_HAND } } },
  });
  port = (await env.start(["api", "relay", "orders"])).port!;
  inventory = spawnRole(env, "inventory", {
    RECONCILE_INTERVAL_MS: "200",
    RECONCILE_GRACE_MS: String(GRACE_MS),
  });
  const started = await waitFor(() => inventory.logs.find((l) => l.msg === "started"), {
    timeoutMs: 60_000,
    what: `the inventory process to start (${inventory.exitReport()})`,
  });
  metricsUrl = `http://127.0.0.1:${started.healthPort}/metrics`;
});

afterAll(async () => {
  await inventory?.stop();
});

const trace = continueTrace();
const quantity = (n: number) => [{ sku: SKU, quantity: n, unitPriceCents: 100 }];

async function inject(e: EventOf) {
  const stream = eventCatalog.streamOf(e.eventType);
  await env.redis.xadd(
    streamKey(env.config.STREAM_PREFIX, stream),
    "*",
    ...encodeEntryFields(e, eventCatalog.routingKeys(e)),
  );
}
const orderCreated = (orderId: string, n: number) =>
  eventCatalog.create(
    "OrderCreated",
    orderId,
    { customerId: "stray", currency: "EUR", totalCents: 100 * n, items: quantity(n) },
    { trace },
  );

/** An order row as a restored backup would hold it: no event of it ever went through the outbox. */
async function orderRow(status: "PENDING" | "CONFIRMED" | "REJECTED" | "CANCELLED", n: number) {
  const id = randomUUID();
  await env.db.prisma.order.create({
    data: { id, customerId: "backup", status, totalCents: 100 * n, currency: "EUR", items: { create: quantity(n) } },
  });
  return id;
}

const reservation = (orderId: string) => env.db.prisma.reservation.findUnique({ where: { orderId } });
const reservedStock = async () => (await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: SKU } })).reserved;
/** What the RESERVED reservations hold of SKU: the stock row must always say exactly this. */
const heldByReservations = async () =>
  Number(
    (
      await env.db.pool.query(
        `SELECT COALESCE(SUM(ri.quantity), 0) AS held FROM reservation_items ri
         JOIN reservations r ON r.order_id = ri.order_id WHERE r.status = 'RESERVED' AND ri.sku = $1`,
        [SKU],
      )
    ).rows[0].held,
  );
const scrape = async () => parseMetrics(await (await fetch(metricsUrl)).text());
const orphansReleased = async (orderState: string) =>
  metric(await scrape(), "inventory_orphan_reservations_released_total", { order_state: orderState });
const logged = (msg: string, orderId: string) => inventory.logs.filter((l) => l.msg === msg && l.orderId === orderId);

/** Both groups have read and acknowledged everything on both streams. */
async function caughtUp(): Promise<boolean> {
  for (const stream of ["orders", "inventory"] as const) {
    for (const raw of (await env.redis.xinfo("GROUPS", streamKey(env.config.STREAM_PREFIX, stream))) as unknown[][]) {
      const info = Object.fromEntries(Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i], raw[2 * i + 1]]));
      if (info.pending !== 0 || info.lag !== 0) return false;
    }
  }
  return (await env.db.prisma.outboxEvent.count()) === 0;
}

describe("stray events never leak stock", () => {
  it("an OrderCreated for an order that does not exist is reserved, then released at once; replays reserve nothing", async () => {
    const before = await reservedStock();
    const ghost = randomUUID();
    const stray = orderCreated(ghost, 3);
    await inject(stray);
    await waitFor(async () => (await reservation(ghost))?.status === "RELEASED", {
      what: "the ghost order's reservation released",
    });
    await waitFor(() => logged(ORPHAN_LOG, ghost).length === 1, { what: "the orphan log line" });
    expect(logged(ORPHAN_LOG, ghost)[0]).toMatchObject({ orderState: "UNKNOWN", items: [{ sku: SKU, quantity: 3 }] });
    expect(await orphansReleased("UNKNOWN")).toBe(1);

    // Replayed: the same entry again (a dead letter replayed) and a copy with a new event id (a restored producer).
    await inject(stray);
    await inject(orderCreated(ghost, 3));
    await waitFor(caughtUp, { what: "both groups caught up" });
    expect((await reservation(ghost))?.status).toBe("RELEASED");
    expect(await reservedStock()).toBe(before);
    expect(await reservedStock()).toBe(await heldByReservations());
    expect(await orphansReleased("UNKNOWN")).toBe(1);
  });

  it("orders restored as REJECTED or CANCELLED, then reserved by a stray OrderCreated: the reconciliation releases them", async () => {
    const before = await reservedStock();
    const rejected = await orderRow("REJECTED", 2);
    const cancelled = await orderRow("CANCELLED", 4);
    await inject(orderCreated(rejected, 2));
    await inject(orderCreated(cancelled, 4));
    // Reserved first: the saga refuses to confirm them but has nothing to say to inventory.
    await waitFor(async () => (await reservation(cancelled))?.status !== undefined, { what: "the reservations" });

    for (const [orderId, state] of [
      [rejected, "REJECTED"],
      [cancelled, "CANCELLED"],
    ] as const) {
      await waitFor(async () => (await reservation(orderId))?.status === "RELEASED", {
        timeoutMs: 30_000,
        what: `the ${state} order's reservation released by the reconciliation`,
      });
      await waitFor(() => logged(ORPHAN_LOG, orderId).length === 1, { what: `the orphan log line (${state})` });
      expect(logged(CHECK_LOG, orderId).length).toBeGreaterThanOrEqual(1);
      expect((await reservation(orderId))?.reason).toBe(`order is ${state}`);
      expect(await orphansReleased(state)).toBe(1);
    }
    await waitFor(caughtUp, { what: "both groups caught up" });
    expect(await reservedStock()).toBe(before);
    expect(await reservedStock()).toBe(await heldByReservations());
    expect(metric(await scrape(), "inventory_reservation_checks_requested_total")).toBeGreaterThanOrEqual(2);
  });

  it("a stray StockRejected before the reservation tombstones it: the order is REJECTED and a late OrderCreated reserves nothing", async () => {
    const before = await reservedStock();
    const pending = await orderRow("PENDING", 5);
    await inject(
      eventCatalog.create("StockRejected", pending, { orderId: pending, reason: "stray", shortSkus: [] }, { trace }),
    );
    await waitFor(async () => (await reservation(pending))?.status === "RELEASED", {
      what: "the tombstone left by OrderRejected",
    });
    expect((await env.db.prisma.order.findUniqueOrThrow({ where: { id: pending } })).status).toBe("REJECTED");
    await inject(orderCreated(pending, 5));
    await waitFor(caughtUp, { what: "both groups caught up" });
    expect((await reservation(pending))?.status).toBe("RELEASED");
    expect(await reservedStock()).toBe(before);
    expect(logged(ORPHAN_LOG, pending)).toHaveLength(0); // nothing was ever held
  });

  it("keeps what PENDING and CONFIRMED orders hold: a confirmed order is never asked about, a pending one is kept", async () => {
    const confirmed = (await placeOrder(port, { customerId: "real", items: [{ sku: SKU, quantity: 1 }] })).order.id;
    await waitFor(async () => (await reservation(confirmed))?.verifiedAt != null, {
      what: "the confirmed order's reservation verified (OrderConfirmed)",
    });
    // A PENDING order holding stock whose StockReserved the saga never applied (dead-lettered, say):
    // written as inventory would have, straight into its tables.
    const pending = await orderRow("PENDING", 6);
    await env.db.pool.query(
      `WITH r AS (INSERT INTO reservations (order_id, status, updated_at) VALUES ($1, 'RESERVED', now()) RETURNING order_id),
       i AS (INSERT INTO reservation_items (order_id, sku, quantity) SELECT order_id, $2, 6 FROM r)
       UPDATE stock_levels SET reserved = reserved + 6 WHERE sku = $2`,
      [pending, SKU],
    );
    const checksBefore = logged(CHECK_LOG, pending).length;
    await waitFor(() => logged(CHECK_LOG, pending).length > checksBefore, {
      timeoutMs: 30_000,
      what: "the reconciliation to ask about the pending order",
    });
    await waitFor(caughtUp, { what: "the answer (PENDING) handled" });
    expect((await reservation(pending))?.status).toBe("RESERVED");
    expect((await reservation(confirmed))?.status).toBe("RESERVED");
    expect((await reservation(confirmed))?.checkedAt).toBeNull();
    expect(logged(CHECK_LOG, confirmed)).toHaveLength(0);
    expect(logged(ORPHAN_LOG, pending)).toHaveLength(0);
    expect(await reservedStock()).toBe(await heldByReservations());
    expect(await heldByReservations()).toBeGreaterThanOrEqual(7);
  });
});
