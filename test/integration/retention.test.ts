import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { publishOrders } from "../support/publisher.ts";
import { StreamTrimmer } from "../../src/platform/retention/trimmer.ts";
import { trimmedThroughKey } from "../../src/platform/events/partitions.ts";
import { StreamHub } from "../../src/platform/live/hub.ts";
import { eventRegistry } from "../../src/modules.ts";
import { INBOX_ROWS, RowPurger } from "../../src/platform/retention/row-purger.ts";

describe("stream retention", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv("retention", { seed: false });
  });

  it("trims to the retention but keeps what a group has pending or not yet read; resuming before it is refused", async () => {
    const key = `${env.config.STREAM_PREFIX}:orders`;
    const ids = await publishOrders(env.redis, key, 100, "ret");
    await env.redis.xgroup("CREATE", key, "slowpoke", "0");
    // The group read 60 entries and acknowledged 50: 10 pending, 40 unread.
    const read = (await env.redis.xreadgroup("GROUP", "slowpoke", "c1", "COUNT", 60, "STREAMS", key, ">")) as [
      string,
      [string, string[]][],
    ][];
    const delivered = read[0]![1].map(([id]) => id);
    await env.redis.xack(key, "slowpoke", ...delivered.slice(0, 50));

    const trimmer = new StreamTrimmer({ redis: env.redis, keys: [key], log: env.log, maxLen: 10, intervalMs: 60_000 });
    const evicted = await trimmer.trimAll();
    expect(evicted).toBe(50); // retention wanted 90 gone; the group still needs entry 51 onwards
    const first = ((await env.redis.xrange(key, "-", "+", "COUNT", 1)) as [string, string[]][])[0]![0];
    expect(first).toBe(ids[50]);
    expect(await env.redis.get(trimmedThroughKey(key))).toBe(ids[49]);

    // Once the group catches up, the rest of the retention applies.
    const rest = (await env.redis.xreadgroup("GROUP", "slowpoke", "c1", "COUNT", 100, "STREAMS", key, ">")) as [
      string,
      [string, string[]][],
    ][];
    await env.redis.xack(key, "slowpoke", ...delivered.slice(50), ...rest[0]![1].map(([id]) => id));
    expect(await trimmer.trimAll()).toBe(40);
    expect(await env.redis.xlen(key)).toBe(10);

    const hub = new StreamHub({
      events: eventRegistry,
      redis: env.redis.duplicate(),
      commands: env.redis,
      key,
      log: env.log,
      blockMs: 100,
      readCount: 10,
      bufferSize: 10,
    });
    await expect(hub.checkCursor(ids[10]!)).rejects.toMatchObject({
      code: "CURSOR_TOO_OLD",
      details: { extensions: { oldestCursor: ids[89] } }, // the last trimmed entry: resuming from it loses nothing
    });
    await expect(hub.checkCursor(ids[89]!)).resolves.toBeUndefined(); // the entry right before the first kept one: nothing missed
    await expect(hub.checkCursor(ids[95]!)).resolves.toBeUndefined();
  });

  it("trims by age", async () => {
    const key = `${env.config.STREAM_PREFIX}:inventory`;
    await env.redis.xadd(key, `${Date.now() - 120_000}-0`, "type", "old");
    await env.redis.xadd(key, "*", "type", "new");
    const trimmer = new StreamTrimmer({
      redis: env.redis,
      keys: [key],
      log: env.log,
      maxAgeMs: 60_000,
      intervalMs: 60_000,
    });
    expect(await trimmer.trimAll()).toBe(1);
    expect(await env.redis.xlen(key)).toBe(1);
  });

  it("forgets inbox rows past INBOX_RETENTION_MS, in batches, and keeps the younger ones", async () => {
    const insert = (count: number, age: string) =>
      env.db.pool.query(
        `INSERT INTO processed_events (consumer, event_id, processed_at)
         SELECT 'inventory', gen_random_uuid(), now() - $2::interval FROM generate_series(1, $1)`,
        [count, age],
      );
    await insert(2_500, "15 days"); // more than two batches
    await insert(10, "13 days");
    await insert(10, "1 minute");
    const purger = new RowPurger({
      ...INBOX_ROWS,
      pool: env.db.pool,
      log: env.log,
      ttlMs: 14 * 86_400_000,
      intervalMs: 60_000,
    });
    expect(await purger.purge()).toBe(2_500);
    expect(await purger.purge()).toBe(0);
    const { rows } = await env.db.pool.query(`SELECT count(*)::int AS n FROM processed_events`);
    expect(rows[0].n).toBe(20);
  });
});
