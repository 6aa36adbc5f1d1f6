import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { wsClient } from "../support/graphql-clients.ts";
import { ORDER_EVENTS, placeOrder } from "../support/documents.ts";
import { waitFor } from "../support/wait.ts";
import { RedisCluster } from "../support/redis-cluster.ts";
import { partitionKey, partitionOf, type StreamLayout } from "../../src/platform/events/partitions.ts";
import type { RunningApp } from "../../src/app.ts";

/**
 * Failover under load on a real Redis Cluster with replicas (3 masters + 3 replicas on loopback):
 * orders flow at ~30/s through the api, relay, inventory and order workers with 4 partitions per
 * stream and firehose subscribers; the master of an orders partition is SIGKILLed, its replica
 * takes over, the old master is restarted (it rejoins as a replica). Nothing is lost or
 * duplicated at any subscriber, stock is exact, and the partitions on the other masters keep
 * delivering while the victim's partition is stalled. The stall per partition is printed.
 * The relay waits for 1 replica (RELAY_WAIT_REPLICAS) before deleting outbox rows: without it a
 * failover may lose the last entries the master acknowledged (asynchronous replication).
 */
const PARTITIONS = 4;
const ORDERS = Number(process.env.FAILOVER_ORDERS ?? 300);
const RATE = 30; // orders per second
const STOCK = ORDERS - 40; // the last orders are rejected: both outcomes run through the saga
const SUBSCRIBERS = 10;

let cluster: RedisCluster;
let env: TestEnv;
let layout: StreamLayout;
let api: RunningApp;

beforeAll(async () => {
  cluster = await RedisCluster.start(3, { replicas: 1, nodeTimeoutMs: 1000 });
  env = await createTestEnv("cluster-failover", { redisUrl: `redis://127.0.0.1:${cluster.ports[0]}` });
  layout = { prefix: env.config.STREAM_PREFIX, partitions: PARTITIONS, cluster: true };
  const overrides = {
    REDIS_CLUSTER_NODES: cluster.nodes,
    STREAM_PARTITIONS: String(PARTITIONS),
    RELAY_WAIT_REPLICAS: "1",
    RELAY_WAIT_TIMEOUT_MS: "500",
    RELAY_POLL_MS: "100",
    DATABASE_POOL_SIZE: "12",
  };
  api = await env.start(["api"], overrides);
  await env.start(["relay"], overrides);
  await env.start(["inventory"], overrides);
  await env.start(["orders"], overrides);
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
});

interface Delivery {
  eventId: string;
  eventType: string;
  orderId: string;
  partition: number;
  /** When its transaction committed (envelope occurredAt). */
  committed: number;
  at: number;
}

describe("Redis Cluster failover under load", () => {
  it(
    "kills the master of a partition: 0 lost, 0 duplicated, stock exact, the other partitions keep flowing",
    { timeout: 180_000 },
    async () => {
      await env.db.prisma.product.create({
        data: {
          sku: "FAILOVER-1",
          name: "Failover",
          priceCents: 100,
          currency: "EUR",
          stock: { create: { onHand: STOCK } },
        },
      });
      const clients: Client[] = [];
      const seen: Delivery[][] = [];
      for (let s = 0; s < SUBSCRIBERS; s++) {
        const client = wsClient(api.port!);
        clients.push(client);
        const mine: Delivery[] = [];
        seen.push(mine);
        client.subscribe(
          { query: String(ORDER_EVENTS), variables: {} },
          {
            next: (r) => {
              const e = (
                r.data as { orderEvents: { eventId: string; eventType: string; orderId: string; occurredAt: string } }
              ).orderEvents;
              mine.push({
                ...e,
                partition: partitionOf(e.orderId, PARTITIONS),
                committed: Date.parse(e.occurredAt),
                at: Date.now(),
              });
            },
            error: (err) =>
              mine.push({
                eventId: `error ${String(err)}`,
                eventType: "error",
                orderId: "",
                partition: -1,
                committed: 0,
                at: 0,
              }),
            complete: () => {},
          },
        );
      }
      await new Promise((r) => setTimeout(r, 500)); // subscriptions registered

      const victimKey = partitionKey(layout, "orders", 0);
      const victim = await cluster.masterOf(victimKey);
      const masters = new Map<number, number>();
      for (let p = 0; p < PARTITIONS; p++) masters.set(p, await cluster.masterOf(partitionKey(layout, "orders", p)));
      const stalled = [...masters].filter(([, m]) => m === victim).map(([p]) => p);
      const healthy = [...masters].filter(([, m]) => m !== victim).map(([p]) => p);

      const t0 = Date.now();
      let killedAt = 0;
      let promotedAt = 0;
      let restartedAt = 0;
      const placing: Promise<string>[] = [];
      for (let i = 0; i < ORDERS; i++) {
        const due = t0 + (i * 1000) / RATE;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        placing.push(
          placeOrder(
            api.port!,
            { customerId: `fo-${i % 9}`, items: [{ sku: "FAILOVER-1", quantity: 1 }] },
            { idempotencyKey: `failover-${i}`, attempts: 4 },
          ).then((r) => r.order.id),
        );
        if (i === Math.floor(ORDERS * 0.3)) {
          await cluster.kill(victim);
          killedAt = Date.now();
          void waitFor(async () => (await cluster.masterOf(victimKey, healthyPort())) !== victim, {
            what: "a replica to take over",
            timeoutMs: 30_000,
            intervalMs: 100,
          }).then(() => (promotedAt = Date.now()));
        }
        if (i === Math.floor(ORDERS * 0.6)) {
          await cluster.restart(victim);
          restartedAt = Date.now();
        }
      }
      const ids = await Promise.all(placing);
      const placedAt = Date.now();
      const phase = (what: string) => console.log(`cluster-failover: ${what} at +${Date.now() - t0} ms`);
      phase("all orders placed");

      function healthyPort(): number {
        return cluster.ports.find((p) => p !== victim)!;
      }

      await waitFor(
        async () => (await env.db.prisma.order.count({ where: { id: { in: ids }, status: "PENDING" } })) === 0,
        { what: `${ORDERS} orders to settle`, timeoutMs: 90_000, intervalMs: 250 },
      );
      await waitFor(() => seen.every((s) => s.length >= 2 * ORDERS), {
        what: `every subscriber to get ${2 * ORDERS} events`,
        timeoutMs: 60_000,
        intervalMs: 200,
      }).catch(() => undefined); // the assertions below say what is missing
      phase("settled and delivered");
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive now
      expect(await cluster.roleOf(victim)).toBe("slave"); // the old master came back as a replica
      expect(promotedAt).toBeGreaterThan(0);

      // 0 lost, 0 duplicated, in order per order, at every subscriber.
      for (const s of seen) {
        expect(s.filter((d) => d.eventType === "error")).toEqual([]);
        expect(new Set(s.map((d) => d.eventId)).size).toBe(s.length);
        expect(s.length).toBe(2 * ORDERS);
        const created = new Set<string>();
        for (const d of s) {
          if (d.eventType === "OrderCreated") created.add(d.orderId);
          else expect(created.has(d.orderId), `outcome of ${d.orderId} after its creation`).toBe(true);
        }
      }
      // Stock exact.
      const confirmed = await env.db.prisma.order.count({ where: { id: { in: ids }, status: "CONFIRMED" } });
      expect(confirmed).toBe(STOCK);
      expect(await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: "FAILOVER-1" } })).toMatchObject({
        onHand: STOCK,
        reserved: STOCK,
      });
      expect(await env.db.prisma.outboxEvent.count()).toBe(0);

      // Events committed after the kill: the victim's partition(s) delivered the first of them only
      // after the failover; meanwhile every other partition delivered some of its own.
      const first = seen[0]!;
      const afterKill = first.filter((d) => d.committed > killedAt);
      const resumedAt = Math.min(...afterKill.filter((d) => stalled.includes(d.partition)).map((d) => d.at));
      for (const p of healthy)
        expect(
          afterKill.some((d) => d.partition === p && d.at < resumedAt),
          `partition ${p} delivered while partition(s) ${stalled} were stalled`,
        ).toBe(true);

      // The stall per partition (printed, not asserted: timing on a shared machine says nothing).
      console.log(
        `cluster-failover: ${ORDERS} orders at ${RATE}/s, ${SUBSCRIBERS} subscribers; kill at +${killedAt - t0} ms, ` +
          `replica promoted (as seen by polling) ${promotedAt - killedAt} ms after the kill, old master restarted at ` +
          `+${restartedAt - t0} ms; victim partition(s) ${stalled} resumed ${resumedAt - killedAt} ms after the kill, ` +
          `${resumedAt - promotedAt} ms after the promotion\n` +
          stallTable(first, { t0, killedAt, promotedAt, restartedAt, placedAt, stalled }),
      );
      for (const c of clients) await c.dispose();
    },
  );
});

/**
 * Per partition, the longest gap between two consecutive deliveries (ms) in each phase: before the
 * kill (the normal inter-event gap), overlapping the failover (kill → promotion), overlapping the
 * old master's restart (its first 5 s) and after that until the last order was placed.
 */
function stallTable(
  deliveries: Delivery[],
  t: { t0: number; killedAt: number; promotedAt: number; restartedAt: number; placedAt: number; stalled: number[] },
): string {
  const rows = Array.from({ length: PARTITIONS }, (_, p) => {
    const times = deliveries.filter((d) => d.partition === p).map((d) => d.at);
    const gap = (from: number, to: number, within = false) => {
      let max = 0;
      for (let i = 1; i < times.length; i++) {
        const [a, b] = [times[i - 1]!, times[i]!];
        if (within ? a >= from && b <= to : b > from && a < to) max = Math.max(max, b - a);
      }
      return max;
    };
    return [
      p,
      t.stalled.includes(p) ? "killed" : "healthy",
      times.length,
      gap(t.t0, t.killedAt, true),
      gap(t.killedAt, t.promotedAt),
      gap(t.restartedAt, t.restartedAt + 5_000),
      gap(t.restartedAt + 5_000, t.placedAt, true),
    ];
  });
  const header = ["partition", "master", "events", "gap before", "gap failover", "gap restart", "gap after"];
  return [header, ...rows].map((r) => r.map((c) => String(c).padStart(12)).join(" ")).join("\n");
}
