/**
 * Chaos: ~2,000 orders (CHAOS_ORDERS=10000 for the long run) while relay, inventory and order-saga
 * processes are SIGKILLed at random and restarted, Postgres goes silent for a few seconds (a
 * blackhole: every process reaches it through one TCP proxy that stops forwarding, closing nothing)
 * at about a third of the orders, and the private Redis (AOF on) is killed and restarted at about
 * half. The order placers retry the same order with the same idempotency key through the outage,
 * as a real client would. Afterwards there are exactly as many orders as were placed, every order is
 * in a terminal state, every effect happened exactly once, stock adds up, no reservation outside a
 * live order holds stock, and there are no dead letters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { codeOf, gql, type HttpResponse } from "../support/graphql-clients.ts";
import { CANCEL_ORDER, CREATE_ORDER } from "../support/documents.ts";
import { delay, waitFor } from "../support/wait.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { PrivateRedis } from "../support/private-redis.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { untilAvailable } from "../support/retry.ts";
import { dlqOf } from "../../src/platform/events/partitions.ts";
import { consumers } from "../../src/modules.ts";
import { streamKey } from "../support/streams.ts";
import type { RunningApp } from "../../src/app.ts";

const ORDERS = Number(process.env.CHAOS_ORDERS ?? 2000);
const CONCURRENCY = 16;
const SKUS = ["CHAOS-1", "CHAOS-2", "CHAOS-3", "CHAOS-4", "CHAOS-5"];
const ON_HAND = 800;
const ROLES = ["relay", "relay", "inventory", "inventory", "orders", "orders"];
const BLACKHOLE_MS = 3_000;
/** Short, so every process notices the blackhole within about a second (and gives its connections up). */
const PG_TIMEOUTS = { PG_STATEMENT_TIMEOUT_MS: "1000", PG_CONNECT_TIMEOUT_MS: "1000" };
/** The run's time grows with the orders (about 85 s for 2,000 on a quiet 2-core machine). */
const TEST_TIMEOUT_MS = 120_000 + ORDERS * 120;
const SETTLE_TIMEOUT_MS = 60_000 + ORDERS * 30;

let env: TestEnv;
let redis: PrivateRedis;
let proxy: TcpProxy;
let api: RunningApp;
let killer: Killer | undefined;
/** Set by afterAll: a test that timed out still runs, and its placers must stop too. */
let tornDown = false;
const fleet: AppProcess[] = [];
let spawn: (role: string) => AppProcess;

beforeAll(async () => {
  redis = await PrivateRedis.create({ aof: true });
  await redis.start();
  env = await createTestEnv("chaos", { redisUrl: redis.url });
  for (const sku of SKUS)
    await env.db.prisma.product.create({
      data: { sku, name: sku, priceCents: 250, currency: "EUR", stock: { create: { onHand: ON_HAND } } },
    });
  // Every process of the system reaches Postgres through the proxy; the test's own checks (env.db) do not.
  proxy = await TcpProxy.create({ host: "127.0.0.1", port: 5432 });
  const url = new URL(env.config.DATABASE_URL);
  url.port = String(proxy.port);
  const viaProxy = { DATABASE_URL: url.toString(), ...PG_TIMEOUTS };
  spawn = (role) => spawnRole(env, role, { LOG_LEVEL: "warn", DATABASE_POOL_SIZE: "3", ...viaProxy });
  api = await env.start(["api"], { DATABASE_POOL_SIZE: "20", ...viaProxy });
  fleet.push(...ROLES.map((role) => spawn(role)));
});

afterAll(async () => {
  // Whatever happened in the test: nothing is placed, killed or restarted any more, then every process goes.
  tornDown = true;
  await killer?.stop();
  await Promise.all(fleet.map((p) => p.kill()));
  // Postgres reachable again, so the api (stopped with the env, after this) shuts down cleanly through it.
  await proxy?.restore();
  await redis?.destroy();
});

/** Deterministic pseudo-random numbers, so a failing run can be reproduced. */
function rng(seed: number) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/**
 * SIGKILLs a random process of the fleet and restarts it, again and again, until stopped; like a
 * supervisor it also restarts a process that exited on its own (one started while Postgres or Redis
 * was unreachable may give up).
 */
class Killer {
  kills = 0;
  /** Processes found exited on their own, and restarted. */
  exits = 0;
  private running = true;
  private readonly loop: Promise<void>;
  constructor(random: () => number) {
    this.loop = (async () => {
      while (this.running) {
        await delay(300 + random() * 600);
        this.restartExited();
        if (!this.running) break;
        const i = Math.floor(random() * fleet.length);
        await fleet[i]!.kill();
        this.kills++;
        await delay(100 + random() * 400);
        fleet[i] = spawn(ROLES[i]!); // even when stopping: afterAll kills what is running
      }
    })();
  }

  /** Ends the loop (a process it killed last is restarted first). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Restarts every process that exited on its own (not one it is restarting). */
  restartExited() {
    fleet.forEach((p, i) => {
      if (p.child.exitCode === null && p.child.signalCode === null) return;
      this.exits++;
      fleet[i] = spawn(ROLES[i]!);
    });
  }
}

describe("chaos", () => {
  it(
    `${ORDERS} orders: SIGKILLs, a Postgres blackhole, a Redis restart; each effect exactly once`,
    async () => {
      const random = rng(20261125);
      const started = Date.now();
      const port = api.port!;
      killer = new Killer(random);

      const ids: string[] = [];
      let cancelled = 0;
      let cancelConflicts = 0;
      let retries = 0;
      let retriedRequests = 0;
      /** Orders that took more than one attempt, and when their last attempt was sent. */
      const retriedOrders = new Map<string, number>();
      const retryReasons = new Map<string, number>();
      let next = 0;
      let blackholedMs = 0;
      let redisRestarts = 0;
      const faults: Promise<void>[] = [];
      /** The same request again (same idempotency key) through an outage, counting each retry. */
      const send = async <T>(request: () => Promise<HttpResponse<T>>) => {
        let retried = false;
        let lastSentAt = 0;
        const res = await untilAvailable(() => ((lastSentAt = Date.now()), request()), {
          onRetry: (reason) => {
            retries++;
            retried = true;
            const kind = reason.replace(/:.*/, "");
            retryReasons.set(kind, (retryReasons.get(kind) ?? 0) + 1);
          },
        });
        if (retried) retriedRequests++;
        return { res, retried, lastSentAt };
      };
      const placeOne = async () => {
        const n = next++;
        const lines = SKUS.filter(() => random() < 0.35).slice(0, 2);
        const items = (lines.length ? lines : [SKUS[n % SKUS.length]!]).map((sku) => ({
          sku,
          quantity: 1 + Math.floor(random() * 3),
        }));
        const cancel = random() < 0.1;
        const input = { customerId: `chaos-${n % 50}`, items };
        const { res, retried, lastSentAt } = await send(() =>
          gql(port, CREATE_ORDER, { input, idempotencyKey: `chaos-order-${n}` }),
        );
        expect(res.errors, `order ${n}`).toBeUndefined();
        const { id } = res.data!.createOrder.order;
        ids.push(id);
        if (retried) retriedOrders.set(id, lastSentAt);
        if (cancel) {
          const { res: c } = await send(() =>
            gql(port, CANCEL_ORDER, { id, reason: "chaos", idempotencyKey: `chaos-cancel-${n}` }),
          );
          if (c.errors) {
            expect(codeOf(c)).toBe("CONFLICT");
            cancelConflicts++;
          } else cancelled++;
        }
      };
      /** Postgres unreachable for a while: connections stay open and silent, new ones hear nothing. */
      const blackhole = async () => {
        const since = Date.now();
        proxy.blackhole();
        await delay(BLACKHOLE_MS);
        await proxy.restore();
        blackholedMs = Date.now() - since;
      };
      const restartRedis = async () => {
        redisRestarts++;
        await redis.stop(); // kill -9
        await delay(500);
        await redis.start();
      };

      let failed = false;
      try {
        const placers = await Promise.allSettled(
          Array.from({ length: CONCURRENCY }, async () => {
            try {
              while (next < ORDERS && !failed && !tornDown) {
                if (next >= ORDERS / 3 && faults.length === 0) faults.push(blackhole());
                if (next >= ORDERS / 2 && faults.length === 1) faults.push(restartRedis());
                await placeOne();
              }
            } catch (err) {
              failed = true; // the other placers stop after their current order
              throw new Error(`placing failed after ${ids.length}/${ORDERS} orders: ${(err as Error).message}`, {
                cause: err,
              });
            }
          }),
        );
        const failure = placers.find((p) => p.status === "rejected");
        if (failure) throw failure.reason;
      } finally {
        // A failure stops the chaos too: no kills and no restarts behind a failed test.
        await Promise.allSettled(faults);
        await killer.stop();
      }
      killer.restartExited(); // the fleet whole for the settling
      const placedMs = Date.now() - started;

      // Let the system settle: every role running, nothing pending anywhere.
      await waitFor(async () => (await env.db.prisma.order.count({ where: { status: "PENDING" } })) === 0, {
        timeoutMs: SETTLE_TIMEOUT_MS,
        intervalMs: 250,
        what: "every order to settle",
      });
      await waitFor(async () => (await env.db.prisma.outboxEvent.count()) === 0, {
        timeoutMs: 30_000,
        what: "the outbox to drain",
      });
      await waitFor(groupsCaughtUp, { timeoutMs: 30_000, what: "consumer groups to catch up" });
      const settledMs = Date.now() - started;

      // 1. Exactly the orders placed (none lost, none doubled by a retry), every one terminal and
      // consistent with inventory's record of it.
      const orders = await env.db.prisma.order.findMany({ select: { id: true, status: true } });
      expect(orders).toHaveLength(ORDERS);
      expect(new Set(ids).size).toBe(ORDERS);
      expect(new Set(orders.map((o) => o.id))).toEqual(new Set(ids));
      const reservations = new Map((await env.db.prisma.reservation.findMany()).map((r) => [r.orderId, r.status]));
      expect(reservations.size).toBe(ORDERS);
      const counts: Record<string, number> = {};
      for (const o of orders) {
        counts[o.status] = (counts[o.status] ?? 0) + 1;
        const r = reservations.get(o.id);
        if (o.status === "CONFIRMED") expect(r, o.id).toBe("RESERVED");
        if (o.status === "REJECTED") expect(r, o.id).toBe("REJECTED");
        if (o.status === "CANCELLED") expect(["RELEASED", "REJECTED"], o.id).toContain(r);
      }
      expect(counts.PENDING ?? 0).toBe(0);
      expect(counts.CANCELLED ?? 0).toBe(cancelled);
      // No orphan: a reservation holds stock only while its order is live (PENDING or CONFIRMED).
      const { rows: orphans } = await env.db.pool.query(`
      SELECT r.order_id, r.status, o.status AS order_status FROM reservations r LEFT JOIN orders o ON o.id = r.order_id
      WHERE r.status = 'RESERVED' AND (o.id IS NULL OR o.status NOT IN ('PENDING', 'CONFIRMED'))`);
      expect(orphans).toEqual([]);
      // A retried order written before its last attempt was sent was written by an earlier attempt whose
      // answer was lost: its idempotency key answered the retry (a duplicate absorbed, not a second order).
      const { rows: absorbed } = await env.db.pool.query(
        `SELECT o.id FROM orders o JOIN unnest($1::uuid[], $2::float8[]) AS retried (id, last_sent_ms) ON retried.id = o.id
          WHERE o.created_at < to_timestamp(retried.last_sent_ms / 1000)`,
        [[...retriedOrders.keys()], [...retriedOrders.values()]],
      );

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
          `chaos: ${killer.kills} SIGKILLs across 2 relays, 2 inventory and 2 saga processes (${killer.exits} exited on their own, restarted); Postgres blackholed ${(blackholedMs / 1000).toFixed(1)} s; Redis killed and restarted ${redisRestarts}×`,
          `chaos: ${retries} retries (${[...retryReasons].map(([k, v]) => `${k} ${v}`).join(", ") || "none"}) over ${retriedRequests} requests, each the same request again with its idempotency key; ${absorbed.length} orders written by an attempt whose answer was lost, the retry answered by the key; 0 orphan reservations`,
          `chaos: ${duplicates} duplicate stream entries from relay crashes, all absorbed by the inbox; inbox rows: inventory ${inbox.inventory}, orders ${inbox.orders}`,
          `chaos: stock ${stock.map((s) => `${s.sku} reserved ${s.reserved}/${s.on_hand}`).join(", ")}; dead letters 0`,
        ].join("\n"),
      );
    },
    TEST_TIMEOUT_MS,
  );
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
