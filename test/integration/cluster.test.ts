import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, gql, gqlOk, wsClient } from "../support/graphql-clients.ts";
import {
  DEAD_LETTERS,
  DISCARD_DEAD_LETTER,
  ORDER_EVENTS,
  ORDER_HISTORY,
  REPLAY_DEAD_LETTER,
  placeOrder,
  type DeadLetter,
} from "../support/documents.ts";
import { waitFor } from "../support/wait.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { RedisCluster } from "../support/redis-cluster.ts";
import { createRedis, type RedisClient } from "../../src/platform/infra/redis.ts";
import {
  decodeCursor,
  dlqOf,
  partitionKeys,
  partitionOf,
  type StreamLayout,
} from "../../src/platform/events/partitions.ts";
import { decodeEntry } from "../../src/platform/events/stream-entry.ts";
import { compareIds } from "../../src/platform/events/stream-ids.ts";
import { trimmedThroughKey } from "../../src/platform/events/partitions.ts";
import { StreamHub, type LiveEvent } from "../../src/platform/live/hub.ts";
import type { SubscriptionQueue } from "../../src/platform/live/subscription-queue.ts";
import { encodeEntryFields } from "../../src/platform/events/stream-entry.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";
import { keyForAggregate } from "../../src/platform/events/partitions.ts";
import { eventCatalog } from "../../src/contracts/index.ts";
import { eventRegistry } from "../../src/modules.ts";

/**
 * The whole system on a 3-master Redis Cluster with 4 partitions per stream: two api processes,
 * two relays, two inventory and two order workers, all separate OS processes.
 */
const PARTITIONS = 4;
const ORDERS = 120;
const STOCK = 100;

let cluster: RedisCluster;
let env: TestEnv;
let redis: RedisClient;
let layout: StreamLayout;
const fleet: AppProcess[] = [];
let apiPorts: number[] = [];

const entries = async (key: string) =>
  ((await redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id, f]) => decodeEntry(id, f));

beforeAll(async () => {
  cluster = await RedisCluster.start(3);
  env = await createTestEnv("cluster", { redisUrl: `redis://127.0.0.1:${cluster.ports[0]}` });
  layout = { prefix: env.config.STREAM_PREFIX, partitions: PARTITIONS, cluster: true };
  redis = createRedis({ url: env.config.REDIS_URL, clusterNodes: cluster.nodes.split(",") }, "cluster-test");
  const clusterEnv = {
    REDIS_CLUSTER_NODES: cluster.nodes,
    STREAM_PARTITIONS: String(PARTITIONS),
    CONSUMER_CONCURRENCY: "8",
    DATABASE_POOL_SIZE: "12",
  };
  for (const role of ["api", "api", "relay", "relay", "inventory", "inventory", "orders", "orders"])
    fleet.push(spawnRole(env, role, clusterEnv));
  const started = await waitFor(
    () => {
      const dead = fleet.find((p) => p.child.exitCode !== null);
      if (dead) throw new Error(`a role process died before starting: ${dead.exitReport()}`);
      return fleet.every((p) => p.count("started") === 1) && fleet;
    },
    { what: "8 processes to start", timeoutMs: 180_000, intervalMs: 200 },
  );
  const ports = (started as AppProcess[]).map(
    (p) => p.logs.find((l) => l.msg === "started")!.port as number | undefined,
  );
  apiPorts = ports.filter((port): port is number => port !== undefined);
  expect(apiPorts).toHaveLength(2);
}, 240_000); // eight tsx processes starting at once on a shared two-core machine

afterAll(async () => {
  await Promise.all(fleet.map((p) => p.kill()));
  redis?.disconnect();
  await cluster?.destroy();
});

describe("Redis Cluster, partitioned streams, replicas of every role", () => {
  it(
    "runs the saga end to end; a subscriber on one api sees the events of orders placed through the other; a composite cursor resumes exactly",
    { timeout: 240_000 },
    async () => {
      const started = Date.now();
      const [portA, portB] = apiPorts as [number, number];
      await env.db.prisma.product.create({
        data: {
          sku: "CLUSTER-1",
          name: "Cluster widget",
          priceCents: 250,
          currency: "EUR",
          stock: { create: { onHand: STOCK } },
        },
      });

      // A firehose subscriber on api B, connected throughout; orders go through api A only.
      const clientB = wsClient(portB);
      const watcher = collect(clientB, ORDER_EVENTS, {});
      // A second subscriber on B that leaves after some events and comes back with its cursor.
      const clientB2 = wsClient(portB);
      const leaver = collect(clientB2, ORDER_EVENTS, {});
      await new Promise((r) => setTimeout(r, 300)); // let both subscriptions register before the first order

      // On an overloaded machine a transaction may not start in time (INTERNAL error, nothing written):
      // retried with the same idempotency key, as a client would, so an order is never placed twice.
      const place = async (i: number) =>
        (
          await placeOrder(
            portA,
            { customerId: `cl-${i % 7}`, items: [{ sku: "CLUSTER-1", quantity: 1 }] },
            { idempotencyKey: `cluster-order-${i}`, attempts: 4 },
          )
        ).order.id;
      const ids: string[] = [];
      for (let batch = 0; batch < ORDERS / 10; batch++) {
        ids.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => place(batch * 10 + i)))));
        if (batch === 3) {
          // The leaver goes away mid-stream, remembering the cursor of the last event it got.
          await leaver.until(10, 30_000);
          leaver.dispose();
        }
      }

      await waitFor(
        async () => (await env.db.prisma.order.count({ where: { id: { in: ids }, status: "PENDING" } })) === 0,
        {
          what: `${ORDERS} orders to settle`,
          timeoutMs: 120_000,
          intervalMs: 250,
        },
      );
      const counts = Object.fromEntries(
        (await env.db.prisma.order.groupBy({ by: ["status"], where: { id: { in: ids } }, _count: true })).map((g) => [
          g.status,
          g._count,
        ]),
      );
      expect(counts).toEqual({ CONFIRMED: STOCK, REJECTED: ORDERS - STOCK });
      const stock = await env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku: "CLUSTER-1" } });
      expect(stock).toMatchObject({ onHand: STOCK, reserved: STOCK });
      expect(await env.db.prisma.reservation.count({ where: { orderId: { in: ids }, status: "RESERVED" } })).toBe(
        STOCK,
      );
      const settledMs = Date.now() - started;

      // Each aggregate lives on its own partition, its events in order there; every partition is used.
      const perPartition: Record<string, number[]> = {};
      for (const stream of ["orders", "inventory"] as const) {
        perPartition[stream] = [];
        const seen = new Map<string, number>();
        for (const [p, key] of partitionKeys(layout, stream).entries()) {
          const list = await entries(key);
          perPartition[stream]!.push(list.length);
          const lastType = new Map<string, string>();
          for (const e of list) {
            expect(partitionOf(e.aggregateId, PARTITIONS)).toBe(p);
            seen.set(e.aggregateId, (seen.get(e.aggregateId) ?? 0) + 1);
            if (stream === "orders") {
              // OrderCreated strictly before the order's outcome on its partition.
              expect(lastType.has(e.aggregateId) ? "later" : e.type).toBe(
                e.type === "OrderCreated" ? "OrderCreated" : "later",
              );
              lastType.set(e.aggregateId, e.type);
            }
          }
          expect(list.length).toBeGreaterThan(0);
        }
        if (stream === "orders") for (const id of ids) expect(seen.get(id)).toBe(2); // created + confirmed/rejected, once each
      }
      const outcomes = perPartition.inventory!.reduce((a, b) => a + b);
      expect(outcomes).toBe(ORDERS); // one StockReserved/StockRejected per order (stock set up directly, no StockAdjusted)

      // Consumer groups have read and acknowledged every partition; nothing was dead-lettered.
      for (const [stream, group] of [
        ["orders", "inventory"],
        ["inventory", "orders"],
      ] as const) {
        for (const key of partitionKeys(layout, stream)) {
          const [info] = ((await redis.xinfo("GROUPS", key)) as unknown[][]).map((raw) =>
            Object.fromEntries(Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i], raw[2 * i + 1]])),
          );
          expect(info).toMatchObject({ name: group, pending: 0, lag: 0 });
          expect(await redis.exists(dlqOf(key))).toBe(0);
        }
      }

      // One slot per partition: its stream, dead letters and trim marker hash alike.
      const slots = new Map<number, string>();
      for (const key of partitionKeys(layout, "orders")) {
        const slot = Number(await redis.call("CLUSTER", "KEYSLOT", key));
        expect(Number(await redis.call("CLUSTER", "KEYSLOT", dlqOf(key)))).toBe(slot);
        expect(Number(await redis.call("CLUSTER", "KEYSLOT", trimmedThroughKey(key)))).toBe(slot);
        slots.set(slot, key);
      }
      expect(slots.size).toBe(PARTITIONS);

      // The watcher on api B saw every order event of the orders placed through api A, exactly once.
      const expectedEvents = ORDERS * 2;
      await watcher.until(expectedEvents, 60_000);
      const watched = watcher.values().map((d) => d.orderEvents);
      expect(new Set(watched.map((e) => e.eventId)).size).toBe(watched.length);
      expect(new Set(watched.map((e) => e.orderId))).toEqual(new Set(ids));
      for (const cursor of watched.map((e) => e.cursor)) expect(decodeCursor(cursor, PARTITIONS)).not.toBeNull();

      // The leaver resumes (on the other api) after its last cursor: exactly what it missed.
      const left = leaver.values().map((d) => d.orderEvents);
      const resumeAt = left.at(-1)!.cursor;
      const position = decodeCursor(resumeAt, PARTITIONS)!;
      const missed: string[] = [];
      for (const [p, key] of partitionKeys(layout, "orders").entries()) {
        for (const e of await entries(key))
          if (compareIds(e.id, position[p]!) > 0) missed.push(JSON.parse(e.json).eventId);
      }
      expect(missed.length).toBeGreaterThan(0);
      const clientA = wsClient(portA);
      // New orders race the replay: the handover from history to live must neither drop nor repeat any.
      const placing = Promise.all(Array.from({ length: 10 }, (_, i) => place(1_000 + i)));
      const resumed = collect(clientA, ORDER_EVENTS, { after: resumeAt });
      const late = await placing;
      await resumed.until(missed.length + late.length * 2, 60_000);
      await new Promise((r) => setTimeout(r, 500)); // anything extra (a duplicate) would show up now
      const got = resumed.values().map((d) => d.orderEvents);
      expect(
        got
          .filter((e) => !late.includes(e.orderId))
          .map((e) => e.eventId)
          .sort(),
      ).toEqual([...missed].sort());
      expect(got.filter((e) => late.includes(e.orderId))).toHaveLength(late.length * 2);
      expect(new Set(got.map((e) => e.eventId)).size).toBe(got.length);
      expect(new Set([...left, ...got].map((e) => e.eventId)).size).toBe(left.length + got.length); // nothing seen twice across the two
      // Per partition, the resumed events arrive in stream order (cursors only move forward).
      const resumedPositions = got.map((e) => decodeCursor(e.cursor, PARTITIONS)!);
      for (let i = 1; i < resumedPositions.length; i++) {
        for (let p = 0; p < PARTITIONS; p++)
          expect(compareIds(resumedPositions[i]![p]!, resumedPositions[i - 1]![p]!)).toBeGreaterThanOrEqual(0);
      }

      const processes = fleet.map((p) => `${p.logs.find((l) => l.msg === "started")?.roles}`);
      const handledBy = fleet.map((p) => p.count("event handled"));
      console.log(
        `cluster: 3 masters, ${PARTITIONS} partitions; ${ORDERS} orders → ${counts.CONFIRMED} confirmed, ${counts.REJECTED} rejected in ${settledMs} ms; ` +
          `entries per partition orders=[${perPartition.orders}] inventory=[${perPartition.inventory}]; events handled per process ${processes.map((r, i) => `${r}:${handledBy[i]}`).join(" ")}; ` +
          `watcher on api B got ${watched.length}; leaver left after ${left.length}, resumed with ${got.length - late.length * 2} missed + ${late.length * 2} live; total ${Date.now() - started} ms`,
      );
      await Promise.all([clientA.dispose(), clientB.dispose(), clientB2.dispose()]);

      // Every process shuts down gracefully.
      for (const p of fleet) expect(await p.stop()).toBe(0);
    },
  );
});

describe("live hub on the cluster: resuming at composite cursors while events keep coming", () => {
  it(
    "every subscriber gets exactly the entries after its cursor, per partition in order, whatever the replay/live overlap",
    { timeout: 120_000 },
    async () => {
      const hubLayout: StreamLayout = {
        prefix: `${env.config.STREAM_PREFIX}:hub`,
        partitions: PARTITIONS,
        cluster: true,
      };
      const keys = partitionKeys(hubLayout, "orders");
      const hub = new StreamHub({
        events: eventRegistry,
        redis: createRedis({ url: env.config.REDIS_URL, clusterNodes: cluster.nodes.split(",") }, "hub-test"),
        commands: redis,
        key: keys[0]!,
        keys,
        log: env.log,
        blockMs: 300,
        readCount: 50,
        bufferSize: 10_000,
      });
      await hub.start();
      const trace = continueTrace();
      const publishOne = async (n: number) => {
        const orderId = crypto.randomUUID();
        const e = eventCatalog.create(
          "OrderCreated",
          orderId,
          { customerId: "hub", currency: "EUR", totalCents: n, items: [{ sku: "S", quantity: 1, unitPriceCents: n }] },
          { trace },
        );
        await redis.xadd(
          keyForAggregate(hubLayout, "orders", orderId),
          "*",
          ...encodeEntryFields(e, eventCatalog.routingKeys(e)),
        );
      };
      const TOTAL = 1_500;
      let published = 0;
      const publishing = (async () => {
        while (published < TOTAL) {
          await Promise.all(Array.from({ length: 10 }, () => publishOne(published++)));
          await new Promise((r) => setTimeout(r, 2));
        }
      })();

      const received = new Map<SubscriptionQueue<LiveEvent>, LiveEvent[]>();
      const drainInto = (queue: SubscriptionQueue<LiveEvent>) => {
        const list: LiveEvent[] = [];
        received.set(queue, list);
        void (async () => {
          for await (const e of queue) list.push(e);
        })();
        return list;
      };
      const firehose = hub.subscribe({ keys: [] });
      const seen = drainInto(firehose);
      const resumed: { after: string; queue: SubscriptionQueue<LiveEvent> }[] = [];
      for (let i = 0; i < 10; i++) {
        await waitFor(() => seen.length > (i + 1) * 60, {
          what: "the firehose to move on",
          timeoutMs: 30_000,
          intervalMs: 10,
        });
        const after = seen[Math.floor(Math.random() * seen.length)]!.cursor;
        await hub.checkCursor(after);
        const queue = hub.subscribe({ keys: [] }, { after });
        drainInto(queue);
        resumed.push({ after, queue });
      }
      await publishing;

      const all: { p: number; id: string }[][] = [];
      for (const [p, key] of keys.entries())
        all.push(((await redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id]) => ({ p, id })));
      expect(all.flat()).toHaveLength(TOTAL);
      await waitFor(() => seen.length === TOTAL, { what: "the firehose to see everything", timeoutMs: 30_000 });
      for (const { after, queue } of resumed) {
        const position = decodeCursor(after, PARTITIONS)!;
        const expected = all
          .flat()
          .filter(({ p, id }) => compareIds(id, position[p]!) > 0)
          .map(({ p, id }) => `${p}:${id}`);
        const got = received.get(queue)!;
        await waitFor(() => got.length >= expected.length, {
          what: `${expected.length} events after ${after}`,
          timeoutMs: 30_000,
        });
        await new Promise((r) => setTimeout(r, 200));
        const ids = got.map((e) => `${e.partition}:${e.id}`);
        expect(new Set(ids).size).toBe(ids.length); // no duplicate
        expect([...ids].sort()).toEqual([...expected].sort()); // no gap
        for (let p = 0; p < PARTITIONS; p++) {
          const inPartition = got.filter((e) => e.partition === p).map((e) => e.id);
          expect(inPartition).toEqual(all[p]!.map((e) => e.id).filter((id) => compareIds(id, position[p]!) > 0)); // stream order per partition
        }
        // Each event's cursor resumes right after it: its own partition at its id, none lower than the subscriber's start.
        for (const e of got) {
          const at = decodeCursor(e.cursor, PARTITIONS)!;
          expect(at[e.partition]).toBe(e.id);
          for (let p = 0; p < PARTITIONS; p++) expect(compareIds(at[p]!, position[p]!)).toBeGreaterThanOrEqual(0);
        }
      }
      console.log(
        `hub on cluster: ${TOTAL} entries over partitions [${all.map((a) => a.length)}]; 10 subscribers resumed mid-stream got ${resumed.map((r) => received.get(r.queue)!.length).join(", ")}`,
      );
      await hub.stop();
    },
  );
});

describe("dead letters across partitions (cluster)", () => {
  it(
    "poison on two partitions lands in each partition's DLQ; the admin list pages across partitions; discard removes one",
    { timeout: 60_000 },
    async () => {
      // The fleet was stopped by the saga test: one api and one inventory worker in this process.
      const app = await env.start(["api", "inventory"], {
        REDIS_CLUSTER_NODES: cluster.nodes,
        STREAM_PARTITIONS: String(PARTITIONS),
      });
      const poisoned: string[] = [];
      for (let n = 0; poisoned.length < 3 || new Set(poisoned.map((a) => partitionOf(a, PARTITIONS))).size < 2; n++) {
        if (poisoned.length === 3) poisoned.shift(); // keep looking until they span two partitions
        poisoned.push(`poison-${n}`);
      }
      for (const aggregateId of poisoned) {
        await redis.xadd(
          keyForAggregate(layout, "orders", aggregateId),
          "*",
          "type",
          "OrderCreated",
          "agg",
          aggregateId,
          "keys",
          "",
          "env",
          "{not json",
        );
      }
      const list = async (after?: string | null) =>
        (await gqlOk(app.port!, DEAD_LETTERS, { stream: "ORDERS", first: 2, after })).deadLetters;
      const pages: DeadLetter[] = [];
      await waitFor(
        async () => {
          pages.length = 0;
          let after: string | null | undefined;
          for (;;) {
            const page = await list(after);
            pages.push(...page.edges.map((e) => e.node));
            if (!page.hasNextPage) return pages.length === 3;
            after = page.endCursor;
          }
        },
        { what: "3 dead letters listed in pages of 2", timeoutMs: 30_000 },
      );
      expect(pages.map((l) => l.aggregateId).sort()).toEqual([...poisoned].sort());
      for (const l of pages) {
        expect(l.reason).toBe("invalid-envelope");
        expect(l.id).toMatch(new RegExp(`^orders:${partitionOf(l.aggregateId, PARTITIONS)}:\\d+-\\d+$`));
      }
      const [discarded, replayed] = pages as [DeadLetter, DeadLetter, DeadLetter]; // three, as just checked
      const discard = await gql(app.port!, DISCARD_DEAD_LETTER, { id: discarded.id });
      expect(discard.errors).toBeUndefined();
      expect((await list()).edges).toHaveLength(2);
      const bad = await gql(app.port!, DISCARD_DEAD_LETTER, { id: discarded.id.replace(/^orders:\d+:/, "orders:") });
      expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      // Replay (a script: XDEL on the partition's DLQ + XADD on its stream, one slot): back on its
      // partition, the poison is dead-lettered again there under a new id.
      const replay = await gql(app.port!, REPLAY_DEAD_LETTER, { id: replayed.id });
      expect(replay.errors).toBeUndefined();
      const again = await waitFor(
        async () =>
          (await list()).edges
            .map((e) => e.node)
            .find((l) => l.aggregateId === replayed.aggregateId && l.id !== replayed.id),
        {
          what: "the replayed poison dead-lettered again",
          timeoutMs: 30_000,
        },
      );
      expect(again.id.split(":")[1]).toBe(replayed.id.split(":")[1]);
    },
  );
});

describe("partitions on a single Redis (one XREAD/XREADGROUP covers them all)", () => {
  it(
    "settles orders, keeps history per aggregate, and resumes at a composite cursor",
    { timeout: 90_000 },
    async () => {
      const single = await createTestEnv("partitions-single");
      const app = await single.start(["api", "relay", "inventory", "orders"], { STREAM_PARTITIONS: "3" });
      const port = app.port!;
      const singleLayout: StreamLayout = { prefix: single.config.STREAM_PREFIX, partitions: 3, cluster: false };
      await single.db.prisma.product.create({
        data: { sku: "PART-1", name: "p", priceCents: 10, currency: "EUR", stock: { create: { onHand: 20 } } },
      });
      const client = wsClient(port);
      const watcher = collect(client, ORDER_EVENTS, {});
      await new Promise((r) => setTimeout(r, 200));
      const ids: string[] = [];
      for (let i = 0; i < 24; i++) {
        ids.push(
          (
            await placeOrder(
              port,
              { customerId: `single-${i % 3}`, items: [{ sku: "PART-1", quantity: 1 }] },
              { idempotencyKey: `single-${i}` },
            )
          ).order.id,
        );
      }
      await waitFor(
        async () => (await single.db.prisma.order.count({ where: { id: { in: ids }, status: "PENDING" } })) === 0,
        { what: "24 orders to settle", timeoutMs: 60_000 },
      );
      expect(await single.db.prisma.order.count({ where: { id: { in: ids }, status: "CONFIRMED" } })).toBe(20);
      // The last outcomes commit with their outbox rows; the relay publishes them a moment later.
      const lengths = await waitFor(
        async () => {
          const l = await Promise.all(partitionKeys(singleLayout, "orders").map((k) => single.redis.xlen(k)));
          return l.reduce((a, b) => a + b) === 48 ? l : null;
        },
        { what: "48 order events on the partitions" },
      );
      expect(lengths.every((n) => n > 0)).toBe(true);

      const { orderHistory } = await gqlOk(port, ORDER_HISTORY, { orderId: ids[0]! });
      expect(orderHistory.map((e) => e.__typename)).toEqual(["OrderCreated", "OrderConfirmed"]);
      const stockHistory = await gqlOk(port, `{ inventoryHistory(sku: "PART-1") { __typename } }`);
      expect(stockHistory.inventoryHistory).toHaveLength(24);

      await watcher.until(48, 30_000);
      const events = watcher.values().map((d) => d.orderEvents);
      const resumeAt = events[20]!.cursor;
      const resumed = collect(client, ORDER_EVENTS, { after: resumeAt });
      await resumed.until(27, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(
        resumed
          .values()
          .map((d) => d.orderEvents.eventId)
          .sort(),
      ).toEqual(
        events
          .slice(21)
          .map((e) => e.eventId)
          .sort(),
      );
      // A history cursor resumes too: everything of that order after its creation.
      const fromHistory = collect(client, ORDER_EVENTS, {
        after: orderHistory[0]!.cursor,
        orderId: ids[0],
      });
      await fromHistory.until(1, 30_000);
      expect(fromHistory.values().map((d) => d.orderEvents.__typename)).toEqual(["OrderConfirmed"]);
      await client.dispose();
    },
  );
});
