import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { RedisCluster } from "../support/redis-cluster.ts";
import { waitFor } from "../support/wait.ts";
import { OutboxRelay, relayUnits, unitsNotified } from "../../src/platform/outbox/relay.ts";
import pg from "pg";
import { appendToOutbox } from "../../src/platform/outbox/enqueue.ts";
import { decodeEntry } from "../../src/platform/events/stream-entry.ts";
import { createDatabase, type Database } from "../../src/platform/infra/database.ts";
import { createRedis, type RedisClient } from "../../src/platform/infra/redis.ts";
import { partitionKey, partitionOf, type StreamLayout } from "../../src/platform/events/partitions.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";
import { eventCatalog } from "../../src/contracts/index.ts";
import { eventRegistry } from "../../src/modules.ts";
import { fnv1a } from "../../src/platform/events/lanes.ts";

/**
 * The relay on a 3-master Redis Cluster (no replicas) with 4 partitions per stream: the master of
 * one partition is killed; the partitions on the other masters keep being published while it is
 * down, its own events stay in the outbox (none lost, none overtaken) and follow once it is back.
 */
const PARTITIONS = 4;
const PER_PARTITION = 3; // aggregates per partition

let cluster: RedisCluster;
let env: TestEnv;
let db: Database;
let redis: RedisClient;
let layout: StreamLayout;
let relay: OutboxRelay;

const aggregates: string[] = [];

beforeAll(async () => {
  cluster = await RedisCluster.start(3, { persistence: true, nodeTimeoutMs: 2000 });
  env = await createTestEnv("relay-partitions", { seed: false, redisUrl: `redis://127.0.0.1:${cluster.ports[0]}` });
  db = createDatabase(env.config.DATABASE_URL, 12, "relay-partitions");
  redis = createRedis({ url: env.config.REDIS_URL, clusterNodes: cluster.nodes.split(",") }, "relay-partitions");
  // A prefix whose order partitions sit on at least two masters (chosen, so the test never depends on luck).
  for (let n = 0; ; n++) {
    const candidate = { prefix: `${env.config.STREAM_PREFIX}${n || ""}`, partitions: PARTITIONS, cluster: true };
    const masters = new Set<number>();
    for (let p = 0; p < PARTITIONS; p++) masters.add(await cluster.masterOf(partitionKey(candidate, "orders", p)));
    if (masters.size >= 2) {
      layout = candidate;
      break;
    }
  }
  for (let p = 0; p < PARTITIONS; p++) {
    let n = 0;
    for (let found = 0; found < PER_PARTITION; n++) {
      const id = `0193a1b2-0000-7000-8000-${String(p * 1000 + n).padStart(12, "0")}`;
      if (partitionOf(id, PARTITIONS) === p) {
        aggregates.push(id);
        found++;
      }
    }
  }
  relay = new OutboxRelay({
    pool: db.pool,
    databaseUrl: env.config.DATABASE_URL,
    redis,
    events: eventRegistry,
    layout,
    log: env.log,
    batchSize: 5,
    pollMs: 50,
  });
  relay.start();
}, 120_000);

afterAll(async () => {
  await relay?.stop();
  redis?.disconnect();
  await db?.close();
  await cluster?.destroy();
});

async function write(seq: number) {
  for (const id of aggregates) {
    await db.prisma.$transaction((tx) =>
      appendToOutbox(tx, eventCatalog, [
        eventCatalog.create(
          "OrderCreated",
          id,
          { customerId: "c", currency: "EUR", totalCents: seq, items: [{ sku: "S", quantity: 1, unitPriceCents: 0 }] },
          { trace: continueTrace() },
        ),
      ]),
    );
  }
}

/** Per aggregate, the seqs (totalCents) on its partition stream, in stream order. */
async function seqsOn(partition: number): Promise<Map<string, number[]>> {
  const entries = (await redis.xrange(partitionKey(layout, "orders", partition), "-", "+")) as [string, string[]][];
  const seqs = new Map<string, number[]>();
  for (const [id, fields] of entries) {
    const e = JSON.parse(decodeEntry(id, fields).json) as { aggregateId: string; payload: { totalCents: number } };
    seqs.set(e.aggregateId, [...(seqs.get(e.aggregateId) ?? []), e.payload.totalCents]);
  }
  return seqs;
}

const complete = (seqs: Map<string, number[]>, partition: number, upTo: number) =>
  aggregates
    .filter((a) => partitionOf(a, PARTITIONS) === partition)
    .every((a) => JSON.stringify(seqs.get(a)) === JSON.stringify(Array.from({ length: upTo }, (_, i) => i)));

const outboxRows = async () => Number((await db.pool.query("SELECT count(*) AS n FROM outbox")).rows[0].n);

describe("outbox NOTIFY", () => {
  it("names the stream and aggregate hash of the rows, so only their partition's loop is woken", async () => {
    const listener = new pg.Client({ connectionString: env.config.DATABASE_URL });
    await listener.connect();
    try {
      const payloads: string[] = [];
      listener.on("notification", (n) => payloads.push(n.payload ?? ""));
      await listener.query("LISTEN outbox");
      // Aggregates of partitions 0 and 1 that the other test does not check.
      const onPartition = (p: number) =>
        Array.from({ length: 64 }, (_, n) => `0193a1b2-0000-7000-9000-${String(n).padStart(12, "0")}`).find(
          (id) => partitionOf(id, PARTITIONS) === p,
        )!;
      const [a, b] = [onPartition(0), onPartition(1)];
      await db.prisma.$transaction((tx) =>
        appendToOutbox(tx, eventCatalog, [
          eventCatalog.create("OrderCancelled", a, { customerId: "c", reason: "t" }, { trace: continueTrace() }),
          eventCatalog.create("OrderCancelled", b, { customerId: "c", reason: "t" }, { trace: continueTrace() }),
          eventCatalog.create("OrderCancelled", a, { customerId: "c", reason: "u" }, { trace: continueTrace() }),
        ]),
      );
      await waitFor(() => payloads.length > 0, { what: "the NOTIFY of the insert", timeoutMs: 10_000 });
      expect(payloads[0]!.split(",").sort()).toEqual([`orders:${fnv1a(a)}`, `orders:${fnv1a(b)}`].sort());
      const units = relayUnits(layout, eventRegistry.streams);
      expect([...unitsNotified(units, payloads[0]!)!].map((u) => units[u]!.key).sort()).toEqual(
        [partitionKey(layout, "orders", 0), partitionKey(layout, "orders", 1)].sort(),
      );
      await waitFor(async () => (await outboxRows()) === 0, { what: "those rows to be published", timeoutMs: 30_000 });
    } finally {
      await listener.end();
    }
  });
});

describe("relay on a cluster with a dead master", () => {
  it("keeps publishing the other partitions, keeps the dead one's rows in order, and catches up after a restart", async () => {
    await write(0);
    await write(1);
    await waitFor(async () => (await outboxRows()) === 0, {
      what: "the first events to be published",
      timeoutMs: 30_000,
    });

    const victim = await cluster.masterOf(partitionKey(layout, "orders", 0));
    const partitionsOn = new Map<number, number>();
    for (let p = 0; p < PARTITIONS; p++) partitionsOn.set(p, await cluster.masterOf(partitionKey(layout, "orders", p)));
    const dead = [...partitionsOn].filter(([, port]) => port === victim).map(([p]) => p);
    const healthy = [...partitionsOn].filter(([, port]) => port !== victim).map(([p]) => p);
    expect(healthy.length).toBeGreaterThan(0);

    await cluster.kill(victim);
    const killedAt = Date.now();
    await write(2);
    await write(3);
    await write(4);

    // While the victim is still down, every healthy partition gets all its events, in order, once.
    for (const p of healthy) {
      await waitFor(async () => complete(await seqsOn(p), p, 5), {
        what: `partition ${p} (healthy master) to be published while partition(s) ${dead} are down`,
        timeoutMs: 30_000,
      });
    }
    const healthyDoneMs = Date.now() - killedAt;
    expect(await cluster.roleOf(victim)).toBeUndefined(); // still dead: nothing waited for it
    // The dead partitions' rows are all still in the outbox: 3 events × their aggregates.
    expect(await outboxRows()).toBe(3 * PER_PARTITION * dead.length);

    await cluster.restart(victim);
    const restartedAt = Date.now();
    await waitFor(async () => (await outboxRows()) === 0, {
      what: "the dead partition's rows after its master is back",
      timeoutMs: 60_000,
    });
    for (let p = 0; p < PARTITIONS; p++) expect(complete(await seqsOn(p), p, 5), `partition ${p}`).toBe(true);
    console.log(
      `relay-partitions: healthy partitions ${healthy} published ${healthyDoneMs} ms after their master's peer died; ` +
        `partition(s) ${dead} caught up ${Date.now() - restartedAt} ms after restart`,
    );
  }, 180_000);
});
