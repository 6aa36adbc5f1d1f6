import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { placeOrder } from "../support/documents.ts";
import { waitFor } from "../support/wait.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import type { RunningApp } from "../../src/app.ts";
import { streamKey } from "../support/streams.ts";

let env: TestEnv;
let app: RunningApp;
let secondInventory: RunningApp;
let port: number;

async function addProduct(sku: string, onHand: number) {
  await env.db.prisma.product.create({
    data: { sku, name: sku, priceCents: 100, currency: "EUR", stock: { create: { onHand } } },
  });
}
const pendingCount = (ids: string[]) => env.db.prisma.order.count({ where: { id: { in: ids }, status: "PENDING" } });
const invariantHolds = async () =>
  (await env.db.pool.query(`SELECT count(*)::int AS bad FROM stock_levels WHERE reserved < 0 OR on_hand < reserved`))
    .rows[0].bad === 0;

/** Every group has read to the end of its stream and acknowledged everything. */
async function groupsCaughtUp(): Promise<boolean> {
  for (const stream of ["orders", "inventory"] as const) {
    for (const raw of (await env.redis.xinfo("GROUPS", streamKey(env.config.STREAM_PREFIX, stream))) as unknown[][]) {
      const info = Object.fromEntries(Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i], raw[2 * i + 1]]));
      if (info.pending !== 0 || info.lag !== 0) return false;
    }
  }
  return true;
}

beforeAll(async () => {
  env = await createTestEnv("saga-concurrency");
  // Two inventory consumers in this process plus the saga: handlers really do race on the stock rows.
  app = await env.start(["api", "relay", "inventory", "orders"], {
    CONSUMER_CONCURRENCY: "16",
    DATABASE_POOL_SIZE: "20",
  });
  secondInventory = await env.start(["inventory"], { CONSUMER_CONCURRENCY: "16" });
  port = app.port!;
});

describe("inventory under concurrency", () => {
  it("200 orders racing for 50 units: exactly 50 confirmed, 150 rejected, never oversold", async () => {
    await addProduct("RACE-1", 50);
    const ids = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        placeOrder(port, { customerId: `racer-${i}`, items: [{ sku: "RACE-1", quantity: 1 }] }).then((p) => p.order.id),
      ),
    );
    await waitFor(async () => (await pendingCount(ids)) === 0, { timeoutMs: 60_000, what: "all 200 orders to settle" });
    const counts = Object.fromEntries(
      (await env.db.prisma.order.groupBy({ by: ["status"], where: { id: { in: ids } }, _count: true })).map((g) => [
        g.status,
        g._count,
      ]),
    );
    expect(counts).toEqual({ CONFIRMED: 50, REJECTED: 150 });
    const stock = await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: "RACE-1" } });
    expect(stock).toMatchObject({ onHand: 50, reserved: 50 });
    expect(stock.onHand - stock.reserved).toBe(0);
    expect(
      await env.db.prisma.reservationItem.aggregate({ where: { sku: "RACE-1" }, _sum: { quantity: true } }),
    ).toEqual({ _sum: { quantity: 50 } });
    expect(await invariantHolds()).toBe(true);
    console.log(
      `concurrency: 200 orders for 50 units → ${counts.CONFIRMED} confirmed, ${counts.REJECTED} rejected; on hand ${stock.onHand}, reserved ${stock.reserved}`,
    );
  });

  it("an event delivered twice, or the whole stream replayed, changes nothing the second time", async () => {
    await addProduct("DUP-1", 10);
    const { id } = (await placeOrder(port, { customerId: "dup", items: [{ sku: "DUP-1", quantity: 3 }] })).order;
    await waitFor(async () => (await pendingCount([id])) === 0);
    // The order settling is not the end of its flow: inventory still consumes OrderConfirmed (and the first
    // test's 200 outcomes) and records each in its inbox. Snapshot only once every group is idle.
    await waitFor(groupsCaughtUp, { what: "every group to finish the first delivery", timeoutMs: 20_000 });
    const snapshot = async () => ({
      stock: await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: "DUP-1" } }),
      order: await env.db.prisma.order.findUniqueOrThrow({ where: { id } }),
      inbox: await env.db.prisma.processedEvent.count(),
      outbox: await env.db.prisma.outboxEvent.count(),
      streams: [
        await env.redis.xlen(streamKey(env.config.STREAM_PREFIX, "orders")),
        await env.redis.xlen(streamKey(env.config.STREAM_PREFIX, "inventory")),
      ],
    });
    const before = await snapshot();
    const duplicatesBefore = app.consumers.reduce((n, c) => n + c.stats.duplicates, 0);

    // 1. The same OrderCreated entry published again (what a relay crash after XADD produces).
    const key = streamKey(env.config.STREAM_PREFIX, "orders");
    const entries = (await env.redis.xrange(key, "-", "+")) as [string, string[]][];
    const created = entries.find(([, f]) => f.includes(`order:${id} customer:dup sku:DUP-1`))!;
    await env.redis.xadd(key, "*", ...created[1]);
    // 2. Every group rewound to the start: all events delivered again.
    for (const [stream, group] of [
      ["orders", "inventory"],
      ["inventory", "orders"],
    ] as const) {
      await env.redis.xgroup("SETID", streamKey(env.config.STREAM_PREFIX, stream), group, "0");
    }
    await waitFor(groupsCaughtUp, { what: "both groups to process the redelivered entries", timeoutMs: 20_000 });
    const after = await snapshot();
    expect(after.stock).toEqual(before.stock);
    expect(after.order).toEqual(before.order);
    expect(after.inbox).toBe(before.inbox);
    expect(after.streams[1]).toBe(before.streams[1]); // no new inventory events
    expect(app.consumers.reduce((n, c) => n + c.stats.duplicates, 0)).toBeGreaterThan(duplicatesBefore);
  });
});

describe("scale-out", () => {
  let workers: AppProcess[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
  });

  it("three inventory worker processes share the work, and every order settles exactly once", async () => {
    // Stop this file's in-process inventory consumers: the three processes do all the work.
    const inProcessInventory = [...app.consumers, ...secondInventory.consumers].filter((c) => c.group === "inventory");
    await Promise.all(inProcessInventory.map((c) => c.stop()));
    workers = [spawnRole(env, "inventory"), spawnRole(env, "inventory"), spawnRole(env, "inventory")];
    await waitFor(() => workers.every((w) => w.count("consumer started") === 1), {
      what: "workers to start",
      timeoutMs: 30_000,
    });
    await addProduct("SCALE-1", 1_000);
    const ids: string[] = [];
    for (let batch = 0; batch < 6; batch++)
      ids.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            placeOrder(port, { customerId: `scale-${batch}-${i}`, items: [{ sku: "SCALE-1", quantity: 2 }] }).then(
              (p) => p.order.id,
            ),
          ),
        )),
      );
    await waitFor(async () => (await pendingCount(ids)) === 0, { timeoutMs: 60_000, what: "120 orders to settle" });
    expect(await env.db.prisma.order.count({ where: { id: { in: ids }, status: "CONFIRMED" } })).toBe(120);
    expect((await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: "SCALE-1" } })).reserved).toBe(240);
    expect(await env.db.prisma.reservation.count({ where: { orderId: { in: ids }, status: "RESERVED" } })).toBe(120);
    const perProcess = workers.map(
      (w) => w.logs.filter((l) => l.msg === "event handled" && l.eventType === "OrderCreated").length,
    );
    console.log(`scale: OrderCreated handled per inventory process: ${perProcess.join(", ")}`);
    expect(perProcess.filter((n) => n > 0).length).toBe(3);
    expect(perProcess.reduce((a, b) => a + b)).toBe(120); // each order reserved by exactly one process, once
    await Promise.all(workers.map(async (w) => expect(await w.stop()).toBe(0))); // graceful exit
  });
});
