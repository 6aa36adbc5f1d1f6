/**
 * Chaos: ~2,000 orders while relay, inventory and order-saga processes are SIGKILLed at random and
 * restarted, and the private Redis (AOF on) is killed and restarted once. Afterwards every order is
 * in a terminal state, every effect happened exactly once, stock adds up, and no dead letters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { codeOf, gql } from "../support/graphql-clients.ts";
import { CANCEL_ORDER, placeOrder } from "../support/documents.ts";
import { delay, waitFor } from "../support/wait.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { PrivateRedis } from "../support/private-redis.ts";
import { dlqOf } from "../../src/platform/events/partitions.ts";
import { consumers } from "../../src/modules.ts";
import { streamKey } from "../support/streams.ts";

const ORDERS = Number(process.env.CHAOS_ORDERS ?? 2000);
const CONCURRENCY = 16;
const SKUS = ["CHAOS-1", "CHAOS-2", "CHAOS-3", "CHAOS-4", "CHAOS-5"];
const ON_HAND = 800;
const ROLES = ["relay", "relay", "inventory", "inventory", "orders", "orders"];

let env: TestEnv;
let redis: PrivateRedis;
let port: number;
const fleet: AppProcess[] = [];
const spawn = (role: string) => spawnRole(env, role, { LOG_LEVEL: "warn", DATABASE_POOL_SIZE: "3" });

beforeAll(async () => {
  redis = await PrivateRedis.create({ aof: true });
  await redis.start();
  env = await createTestEnv("chaos", { redisUrl: redis.url });
  for (const sku of SKUS)
    await env.db.prisma.product.create({
      data: { sku, name: sku, priceCents: 250, currency: "EUR", stock: { create: { onHand: ON_HAND } } },
    });
  port = (await env.start(["api"], { DATABASE_POOL_SIZE: "20" })).port!;
  fleet.push(...ROLES.map(spawn));
});

afterAll(async () => {
  await Promise.all(fleet.map((p) => p.kill()));
  await redis.destroy();
});

/** Deterministic pseudo-random numbers, so a failing run can be reproduced. */
function rng(seed: number) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe("chaos", () => {
  it(`${ORDERS} orders survive SIGKILLed relays and workers and a Redis restart, each effect exactly once`, async () => {
    const random = rng(20261125);
    const started = Date.now();
    let kills = 0;
    let placing = true;

    const killer = (async () => {
      while (placing) {
        await delay(300 + random() * 600);
        const i = Math.floor(random() * fleet.length);
        await fleet[i]!.kill();
        kills++;
        await delay(100 + random() * 400);
        fleet[i] = spawn(ROLES[i]!);
      }
    })();

    const ids: string[] = [];
    let cancelled = 0;
    let cancelConflicts = 0;
    let redisRestarts = 0;
    let next = 0;
    const placeOne = async () => {
      const n = next++;
      const lines = SKUS.filter(() => random() < 0.35).slice(0, 2);
      const items = (lines.length ? lines : [SKUS[n % SKUS.length]!]).map((sku) => ({
        sku,
        quantity: 1 + Math.floor(random() * 3),
      }));
      const { id } = (await placeOrder(port, { customerId: `chaos-${n % 50}`, items })).order;
      ids.push(id);
      if (random() < 0.1) {
        const c = await gql(port, CANCEL_ORDER, { id, reason: "chaos" });
        if (c.errors) {
          expect(codeOf(c)).toBe("CONFLICT");
          cancelConflicts++;
        } else cancelled++;
      }
    };
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ORDERS) {
          if (next >= ORDERS / 2 && redisRestarts === 0) {
            redisRestarts++;
            await redis.stop(); // kill -9, mid-run
            await delay(500);
            await redis.start();
          }
          await placeOne();
        }
      }),
    );
    placing = false;
    await killer;
    const placedMs = Date.now() - started;

    // Let the system settle: every role running, nothing pending anywhere.
    await waitFor(async () => (await env.db.prisma.order.count({ where: { status: "PENDING" } })) === 0, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: "every order to settle",
    });
    await waitFor(async () => (await env.db.prisma.outboxEvent.count()) === 0, {
      timeoutMs: 30_000,
      what: "the outbox to drain",
    });
    await waitFor(groupsCaughtUp, { timeoutMs: 30_000, what: "consumer groups to catch up" });
    const settledMs = Date.now() - started;

    // 1. Every order terminal, and consistent with inventory's record of it.
    const orders = await env.db.prisma.order.findMany({ select: { id: true, status: true } });
    const reservations = new Map((await env.db.prisma.reservation.findMany()).map((r) => [r.orderId, r.status]));
    const counts: Record<string, number> = {};
    for (const o of orders) {
      counts[o.status] = (counts[o.status] ?? 0) + 1;
      const r = reservations.get(o.id);
      if (o.status === "CONFIRMED") expect(r, o.id).toBe("RESERVED");
      if (o.status === "REJECTED") expect(r, o.id).toBe("REJECTED");
      if (o.status === "CANCELLED") expect(["RELEASED", "REJECTED"], o.id).toContain(r);
    }
    expect(orders).toHaveLength(ORDERS);
    expect(counts.PENDING ?? 0).toBe(0);
    expect(counts.CANCELLED ?? 0).toBe(cancelled);

    // 2. Stock adds up: reserved = what RESERVED reservations hold; never negative, never above on hand.
    const { rows: stock } = await env.db.pool.query(`
      SELECT s.sku, s.on_hand, s.reserved, COALESCE(SUM(ri.quantity) FILTER (WHERE r.status = 'RESERVED'), 0)::int AS held
      FROM stock_levels s LEFT JOIN reservation_items ri ON ri.sku = s.sku LEFT JOIN reservations r ON r.order_id = ri.order_id
      WHERE s.sku LIKE 'CHAOS-%' GROUP BY s.sku ORDER BY s.sku`);
    for (const s of stock) {
      expect(s.reserved, s.sku).toBe(s.held);
      expect(s.on_hand, s.sku).toBe(ON_HAND);
      expect(s.on_hand - s.reserved + s.reserved).toBe(s.on_hand); // available + reserved = on hand
      expect(s.reserved).toBeGreaterThanOrEqual(0);
      expect(s.reserved).toBeLessThanOrEqual(s.on_hand);
    }

    // 3. Exactly-once effects: one inbox row per distinct event each group handles, one outcome per order.
    const distinct = async (stream: "orders" | "inventory", types: string[]) => {
      const entries = (await env.redis.xrange(streamKey(env.config.STREAM_PREFIX, stream), "-", "+")) as [
        string,
        string[],
      ][];
      const events = entries
        .map(([, f]) => JSON.parse(f[f.indexOf("env") + 1]!))
        .filter((e) => types.includes(e.eventType));
      return { entries: events.length, ids: new Set(events.map((e) => e.eventId)), events };
    };
    // What each group handles, from its own definition: inventory reads the orders stream and the saga
    // (group "orders") the inventory stream.
    const handled = (group: string) => Object.keys(consumers.find((c) => c.group === group)!.handlers);
    const orderSide = await distinct("orders", handled("inventory"));
    const stockSide = await distinct("inventory", handled("orders"));
    const inbox = Object.fromEntries(
      (await env.db.prisma.processedEvent.groupBy({ by: ["consumer"], _count: true })).map((g) => [
        g.consumer,
        g._count,
      ]),
    );
    expect(inbox.inventory).toBe(orderSide.ids.size);
    expect(inbox.orders).toBe(stockSide.ids.size);
    const outcomesPerOrder = new Map<string, Set<string>>();
    for (const e of stockSide.events.filter((e) => ["StockReserved", "StockRejected"].includes(e.eventType)))
      outcomesPerOrder.set(e.payload.orderId, (outcomesPerOrder.get(e.payload.orderId) ?? new Set()).add(e.eventId));
    expect([...outcomesPerOrder.values()].every((s) => s.size === 1)).toBe(true);

    // 4. No poison was injected, so no dead letters.
    for (const stream of ["orders", "inventory"] as const)
      expect(await env.redis.xlen(dlqOf(streamKey(env.config.STREAM_PREFIX, stream)))).toBe(0);

    const duplicates = orderSide.entries - orderSide.ids.size + (stockSide.entries - stockSide.ids.size);
    console.log(
      [
        `chaos: ${ORDERS} orders placed in ${(placedMs / 1000).toFixed(1)} s, all settled after ${(settledMs / 1000).toFixed(1)} s`,
        `chaos: ${counts.CONFIRMED ?? 0} confirmed, ${counts.REJECTED ?? 0} rejected, ${counts.CANCELLED ?? 0} cancelled (${cancelConflicts} cancels refused: already rejected), 0 pending`,
        `chaos: ${kills} SIGKILLs across 2 relays, 2 inventory and 2 saga processes; Redis killed and restarted ${redisRestarts}×`,
        `chaos: ${duplicates} duplicate stream entries from relay crashes, all absorbed by the inbox; inbox rows: inventory ${inbox.inventory}, orders ${inbox.orders}`,
        `chaos: stock ${stock.map((s) => `${s.sku} reserved ${s.reserved}/${s.on_hand}`).join(", ")}; dead letters 0`,
      ].join("\n"),
    );
  }, 300_000);
});

async function groupsCaughtUp(): Promise<boolean> {
  for (const stream of ["orders", "inventory"] as const) {
    for (const raw of (await env.redis.xinfo("GROUPS", streamKey(env.config.STREAM_PREFIX, stream))) as unknown[][]) {
      const info = Object.fromEntries(Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i], raw[2 * i + 1]]));
      if (info.pending !== 0 || info.lag !== 0) return false;
    }
  }
  return true;
}
