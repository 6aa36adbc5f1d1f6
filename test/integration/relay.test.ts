import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { PrivateRedis } from "../support/private-redis.ts";
import { OutboxRelay } from "../../src/platform/outbox/relay.ts";
import { appendToOutbox } from "../../src/platform/outbox/enqueue.ts";
import { decodeEntry } from "../../src/platform/events/stream-entry.ts";
import { createDatabase } from "../../src/platform/infra/database.ts";
import { createRedis } from "../../src/platform/infra/redis.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";
import type { Redis } from "ioredis";
import { eventCatalog } from "../../src/contracts/index.ts";
import { eventRegistry } from "../../src/modules.ts";
import { singleLayout, streamKey } from "../support/streams.ts";
import { fnv1a } from "../../src/platform/events/lanes.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv("relay", { seed: false });
});

/** Writes `count` events for one aggregate, one transaction each (as real commands do); seq in totalCents. */
async function writeEvents(aggregateId: string, count: number, start = 0) {
  for (let seq = start; seq < start + count; seq++) {
    await env.db.prisma.$transaction((tx) =>
      appendToOutbox(tx, eventCatalog, [
        eventCatalog.create(
          "OrderCreated",
          aggregateId,
          { customerId: "c", currency: "EUR", totalCents: seq, items: [{ sku: "S", quantity: 1, unitPriceCents: 0 }] },
          { trace: continueTrace() },
        ),
      ]),
    );
  }
}

const aggregate = (n: number) => `0193a1b2-0000-7000-8000-${String(n).padStart(12, "0")}`;

async function readStream(redis: Redis, key: string) {
  const entries = await redis.xrange(key, "-", "+");
  return entries.map(([id, fields]) => {
    const e = JSON.parse(decodeEntry(id, fields).json);
    return {
      cursor: id,
      eventId: e.eventId as string,
      aggregateId: e.aggregateId as string,
      seq: e.payload.totalCents as number,
    };
  });
}

function relay(over: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) {
  return new OutboxRelay({
    pool: env.db.pool,
    databaseUrl: env.config.DATABASE_URL,
    redis: env.redis,
    events: eventRegistry,
    layout: singleLayout(env.config.STREAM_PREFIX),
    log: env.log,
    batchSize: 7,
    pollMs: 50,
    ...over,
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
const outboxEmpty = async () => (await env.db.prisma.outboxEvent.count()) === 0;

describe("outbox relay", () => {
  it("publishes every row exactly once and keeps each aggregate's order with three relays racing", async () => {
    const key = streamKey(env.config.STREAM_PREFIX, "orders");
    await env.redis.del(key);
    // Three relays, each with its own pool (own connections, own locks), small batches to force interleaving.
    const pools = [0, 1, 2].map(() => createDatabase(env.config.DATABASE_URL, 2));
    const relays = pools.map((db) => relay({ pool: db.pool }));
    relays.forEach((r) => r.start());
    const aggregates = 30;
    const perAggregate = 20;
    // Written while the relays run: 30 aggregates concurrently, 20 sequential events each.
    await Promise.all(Array.from({ length: aggregates }, (_, a) => writeEvents(aggregate(a), perAggregate)));
    await until(outboxEmpty);
    await Promise.all(relays.map((r) => r.stop()));
    await Promise.all(pools.map((p) => p.close()));

    const entries = await readStream(env.redis, key);
    expect(entries).toHaveLength(aggregates * perAggregate);
    expect(new Set(entries.map((e) => e.eventId)).size).toBe(aggregates * perAggregate);
    for (let a = 0; a < aggregates; a++) {
      const mine = entries.filter((e) => e.aggregateId === aggregate(a));
      expect(mine.map((e) => e.seq)).toEqual(Array.from({ length: perAggregate }, (_, i) => i));
    }
    // The work was shared: every relay published something.
    expect(relays.map((r) => r.published).reduce((a, b) => a + b)).toBe(aggregates * perAggregate);
    expect(relays.filter((r) => r.published > 0).length).toBeGreaterThan(1);
  });

  it("loses nothing when a relay is killed between XADD and commit (the batch is published again)", async () => {
    const key = streamKey(env.config.STREAM_PREFIX, "orders");
    await env.redis.del(key);
    await Promise.all([0, 1, 2, 3].map((a) => writeEvents(aggregate(100 + a), 5)));
    const child = promisify(execFile)(process.execPath, [
      "--import",
      "tsx",
      "test/support/crashing-relay.ts",
      env.config.DATABASE_URL,
      env.config.REDIS_URL,
      env.config.STREAM_PREFIX,
      "8",
    ]);
    await expect(child).rejects.toMatchObject({ signal: "SIGKILL" });

    const afterCrash = await readStream(env.redis, key);
    expect(afterCrash).toHaveLength(8); // the batch reached Redis …
    expect(await env.db.prisma.outboxEvent.count()).toBe(20); // … but its delete never committed

    const r = relay();
    r.start();
    await until(outboxEmpty);
    await r.stop();
    const entries = await readStream(env.redis, key);
    const ids = entries.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(20); // nothing lost
    expect(ids).toHaveLength(28); // the crashed batch twice: at-least-once, consumers dedupe by eventId
    for (let a = 0; a < 4; a++) {
      // First occurrences stay in order per aggregate.
      const seqs = entries.filter((e) => e.aggregateId === aggregate(100 + a)).map((e) => e.seq);
      expect([...new Set(seqs)]).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it("keeps the outbox while Redis is down and publishes everything once it is back", async () => {
    const redisServer = await PrivateRedis.create();
    await redisServer.start();
    const redis = createRedis(redisServer.url, "relay-outage");
    const r = relay({ redis, batchSize: 50 });
    r.start();
    try {
      await writeEvents(aggregate(200), 3);
      await until(outboxEmpty);
      await redisServer.stop();
      await writeEvents(aggregate(200), 5, 3);
      await new Promise((res) => setTimeout(res, 1_000));
      expect(await env.db.prisma.outboxEvent.count()).toBe(5); // kept, not dropped
      await redisServer.start(); // a fresh, empty Redis (no persistence): the 5 must still arrive
      await until(outboxEmpty);
      const entries = await readStream(redis, streamKey(env.config.STREAM_PREFIX, "orders"));
      expect(entries.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    } finally {
      await r.stop();
      redis.disconnect();
      await redisServer.stop();
    }
  });

  it("fills agg_hash with the same FNV-1a as the application when a writer leaves it out", async () => {
    const ids = [
      "o1",
      "",
      "0193a1b2-0000-7000-8000-000000000001",
      "SKU-001",
      "é-ü",
      "日本語",
      "emoji 😀 and 𝄞",
      "x".repeat(300),
    ];
    const c = await env.db.pool.connect();
    try {
      await c.query("BEGIN");
      for (const id of ids) {
        await c.query(
          `INSERT INTO outbox (event_id, stream, lane, aggregate_type, aggregate_id, event_type, envelope)
           VALUES (gen_random_uuid(), 'test-only', 0, 'order', $1, 'OrderCreated', '{}')`,
          [id],
        );
      }
      const { rows } = await c.query<{ id: string; hash: string }>(
        "SELECT aggregate_id AS id, agg_hash::text AS hash FROM outbox WHERE stream = 'test-only'",
      );
      expect(new Map(rows.map((r) => [r.id, Number(r.hash)]))).toEqual(new Map(ids.map((id) => [id, fnv1a(id)])));
    } finally {
      await c.query("ROLLBACK");
      c.release();
    }
  });
});
