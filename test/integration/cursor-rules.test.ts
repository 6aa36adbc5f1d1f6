/**
 * The cursor rules, over graphql-ws and SSE, with one partition and with several: a cursor beyond
 * the stream's end is CURSOR_AHEAD (naming the end); CURSOR_TOO_OLD offers the position from which
 * resuming loses nothing (resuming there replays the first entry still held); a cursor exactly at
 * the trim point is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, sse, typed, wsClient } from "../support/graphql-clients.ts";
import { delay, waitFor } from "../support/wait.ts";
import { publishOrders } from "../support/publisher.ts";
import { streamKey } from "../support/streams.ts";
import { StreamTrimmer } from "../../src/platform/retention/trimmer.ts";
import { encodeCursor, partitionKeys, previousId } from "../../src/platform/events/partitions.ts";
import { decodeEntry } from "../../src/platform/events/stream-entry.ts";
import { ADMIN_TOKEN } from "../support/auth.ts";

type Data = { orderEvents: { cursor: string; orderId: string } };
type Variables = { customerId?: string; after?: string };
const EVENTS = typed<Data, Variables>(`subscription($customerId: ID, $after: String) {
  orderEvents(customerId: $customerId, after: $after) { __typename cursor orderId }
}`);

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv("cursor-rules", { seed: false });
});

/** The first result of a graphql-ws subscription: its errors (or the error it failed with). */
async function firstErrors(port: number, variables: Variables) {
  const client = wsClient(port);
  const sub = collect(client, EVENTS, variables);
  await waitFor(() => sub.received.length || sub.error);
  const errors = (sub.received[0]?.errors ?? (sub.error as any[])) as any[];
  await client.dispose();
  return errors;
}

/** Subscribes over graphql-ws from `after` and returns the cursors of the first `n` events. */
async function resumeCursors(port: number, variables: Variables, n: number): Promise<string[]> {
  const client = wsClient(port);
  const sub = collect(client, EVENTS, variables);
  await sub.until(n);
  const cursors = sub.values().map((d) => d.orderEvents.cursor);
  sub.dispose();
  await client.dispose();
  return cursors;
}

describe("one partition", () => {
  let port: number;
  let key: string;
  beforeAll(async () => {
    key = streamKey(env.config.STREAM_PREFIX, "orders");
    port = (await env.start(["api"])).port!;
  });

  it("refuses a cursor beyond the end of the stream, naming the end, over WebSocket and SSE", async () => {
    const ids = await publishOrders(env.redis, key, 3, "ahead");
    const end = ids[2]!;
    const far = "99999999999999-0";
    const next = `${end.split("-")[0]}-${BigInt(end.split("-")[1]!) + 1n}`;
    for (const after of [far, next]) {
      const [error] = await firstErrors(port, { customerId: "ahead", after });
      expect(error).toMatchObject({ extensions: { code: "CURSOR_AHEAD", field: "after", streamEnd: end } });
      expect(error.message).toContain(end);
    }
    const stream = await sse(
      port,
      EVENTS,
      { customerId: "ahead", after: far },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    const result = await stream.next();
    stream.close();
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: "CURSOR_AHEAD", streamEnd: end } });
    // The end itself is a fine cursor: nothing missed, the next event arrives.
    const client = wsClient(port);
    const sub = collect(client, EVENTS, { customerId: "ahead", after: end });
    const [later] = await publishOrders(env.redis, key, 1, "ahead");
    await sub.until(1);
    expect(sub.values().map((d) => d.orderEvents.cursor)).toEqual([later]);
    await client.dispose();
  });

  it("offers, with CURSOR_TOO_OLD, a cursor from which resuming replays the first entry still held (trimmed by anyone)", async () => {
    const old = await publishOrders(env.redis, key, 2, "old");
    const kept = await publishOrders(env.redis, key, 3, "old");
    await env.redis.call("XTRIM", key, "MINID", kept[0]!); // no record of what went
    const [error] = await firstErrors(port, { customerId: "old", after: old[0]! });
    expect(error.extensions).toMatchObject({ code: "CURSOR_TOO_OLD", field: "after" });
    const oldest = error.extensions.oldestCursor as string;
    expect(error.message).toContain(oldest);
    expect(await resumeCursors(port, { customerId: "old", after: oldest }, 3)).toEqual(kept);

    const stream = await sse(
      port,
      EVENTS,
      { customerId: "old", after: old[0]! },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    const result = await stream.next();
    stream.close();
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: "CURSOR_TOO_OLD", oldestCursor: oldest } });
  });

  it("accepts a cursor exactly at the trim point recorded by the trimmer, and refuses the one before it", async () => {
    const ids = await publishOrders(env.redis, key, 10, "cut");
    const length = await env.redis.xlen(key);
    const trimmer = new StreamTrimmer({ redis: env.redis, keys: [key], log: env.log, maxLen: 6, intervalMs: 60_000 });
    expect(await trimmer.trimAll()).toBe(length - 6);
    // ids[3] was the last trimmed: resuming from it misses nothing.
    expect(await resumeCursors(port, { customerId: "cut", after: ids[3]! }, 6)).toEqual(ids.slice(4));
    const [error] = await firstErrors(port, { customerId: "cut", after: ids[2]! });
    expect(error.extensions).toMatchObject({ code: "CURSOR_TOO_OLD", oldestCursor: ids[3] });
  });
});

describe("partitioned stream (3 partitions)", () => {
  // Its own prefix: the streams of the file's other tests are laid out for one partition, and a process refuses
  // to start against streams laid out for another count (layout-guard.ts).
  const layout = () => ({ prefix: `${env.config.STREAM_PREFIX}:p3`, partitions: 3, cluster: false });
  let port: number;
  let keys: string[];
  beforeAll(async () => {
    keys = partitionKeys(layout(), "orders");
    port = (await env.start(["api"], { STREAM_PARTITIONS: "3", STREAM_PREFIX: layout().prefix })).port!;
  });
  afterAll(async () => {
    await env.redis.del(...keys.flatMap((k) => [k, `${k}:trimmed-through`]));
  });

  it("applies the same rules partition by partition", async () => {
    const p0 = await publishOrders(env.redis, keys[0]!, 4, "parts");
    const p1 = await publishOrders(env.redis, keys[1]!, 4, "parts");
    const p2 = await publishOrders(env.redis, keys[2]!, 4, "parts");

    // Beyond the end in one partition only.
    const [ahead] = await firstErrors(port, {
      customerId: "parts",
      after: encodeCursor([p0[1]!, "99999999999999-0", p2[1]!]),
    });
    expect(ahead.extensions).toMatchObject({
      code: "CURSOR_AHEAD",
      field: "after",
      streamEnd: encodeCursor([p0[3]!, p1[3]!, p2[3]!]),
    });

    // Partition 1 trimmed (unrecorded) past the cursor: the offered cursor replays all it still holds.
    await env.redis.call("XTRIM", keys[1]!, "MINID", p1[2]!);
    const [tooOld] = await firstErrors(port, { customerId: "parts", after: encodeCursor([p0[1]!, p1[0]!, p2[1]!]) });
    expect(tooOld.extensions).toMatchObject({ code: "CURSOR_TOO_OLD", field: "after" });
    const oldest = tooOld.extensions.oldestCursor as string;
    expect(oldest).toBe(encodeCursor([p0[1]!, previousId(p1[2]!), p2[1]!]));
    const client = wsClient(port);
    const sub = collect(client, EVENTS, { customerId: "parts", after: oldest });
    await sub.until(6);
    await delay(200); // nothing more comes
    const orderIdOf = async (key: string, id: string) => {
      const [[, fields]] = (await env.redis.xrange(key, id, id)) as [[string, string[]]];
      return JSON.parse(decodeEntry(id, fields).json).aggregateId as string;
    };
    const expected = await Promise.all([
      orderIdOf(keys[0]!, p0[2]!),
      orderIdOf(keys[0]!, p0[3]!),
      orderIdOf(keys[1]!, p1[2]!),
      orderIdOf(keys[1]!, p1[3]!),
      orderIdOf(keys[2]!, p2[2]!),
      orderIdOf(keys[2]!, p2[3]!),
    ]);
    expect(
      sub
        .values()
        .map((d) => d.orderEvents.orderId)
        .sort(),
    ).toEqual(expected.sort());
    await client.dispose();
  });
});
