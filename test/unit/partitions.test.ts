import { describe, expect, it } from "vitest";
import {
  covers,
  cutAt,
  decodeCursor,
  dlqOf,
  encodeCursor,
  keyForAggregate,
  maxPositions,
  mergeByIdOrder,
  partitionKey,
  partitionKeys,
  partitionOf,
  readGroups,
  judgeCursor,
  previousId,
  type PartitionState,
} from "../../src/platform/events/partitions.ts";
import { deadLetterId, parseDeadLetterId } from "../../src/platform/consumers/dead-letters.ts";
import { trimmedThroughKey } from "../../src/platform/events/partitions.ts";
import { fnv1a } from "../../src/platform/events/lanes.ts";

const uuid = (n: number) => `0193a1b2-0000-7000-8000-${String(n).padStart(12, "0")}`;
/** The part of a key Redis Cluster hashes: the first {…} with something inside, else the whole key. */
const hashTag = (key: string) => /\{([^}]+)\}/.exec(key)?.[1] ?? key;

describe("partition of an aggregate", () => {
  it("is stable (FNV-1a of the aggregate id), in range, and 0 with one partition", () => {
    for (let n = 0; n < 200; n++) {
      const id = uuid(n);
      expect(partitionOf(id, 1)).toBe(0);
      expect(partitionOf(id, 4)).toBe(fnv1a(id) % 4);
      expect(partitionOf(id, 7)).toBeGreaterThanOrEqual(0);
      expect(partitionOf(id, 7)).toBeLessThan(7);
    }
    // Pinned values: changing the hash would move existing aggregates to other partitions.
    expect(partitionOf("0193a1b2-0000-7000-8000-000000000001", 4)).toBe(
      fnv1a("0193a1b2-0000-7000-8000-000000000001") % 4,
    );
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
  });

  it("spreads random ids evenly enough", () => {
    const counts = new Array(8).fill(0);
    for (let n = 0; n < 8_000; n++) counts[partitionOf(crypto.randomUUID(), 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(700); // mean 1,000
  });
});

describe("partition keys", () => {
  const single = { prefix: "events", partitions: 1, cluster: false };
  const partitioned = { prefix: "events", partitions: 4, cluster: false };
  const clusterOne = { prefix: "events", partitions: 1, cluster: true };

  it("one partition on one Redis keeps the plain keys of old", () => {
    expect(partitionKeys(single, "orders")).toEqual(["events:orders"]);
    expect(dlqOf(partitionKey(single, "orders", 0))).toBe("events:orders:dlq");
    expect(keyForAggregate(single, "inventory", uuid(1))).toBe("events:inventory");
  });

  it("partitions get hash-tagged keys; a partition's stream, dead letters and trim marker share the tag (one slot)", () => {
    expect(partitionKeys(partitioned, "orders")).toEqual([
      "{events:orders:0}",
      "{events:orders:1}",
      "{events:orders:2}",
      "{events:orders:3}",
    ]);
    expect(partitionKeys(clusterOne, "inventory")).toEqual(["{events:inventory:0}"]);
    const key = keyForAggregate(partitioned, "orders", uuid(5));
    expect(key).toBe(`{events:orders:${partitionOf(uuid(5), 4)}}`);
    expect(hashTag(dlqOf(key))).toBe(hashTag(key));
    expect(hashTag(trimmedThroughKey(key))).toBe(hashTag(key));
    expect(new Set(partitionKeys(partitioned, "orders").map(hashTag)).size).toBe(4);
  });

  it("groups what one command may read: everything on one Redis, one partition per command on a cluster", () => {
    expect(readGroups(["a", "b", "c"], false)).toEqual([["a", "b", "c"]]);
    expect(readGroups(["a", "b", "c"], true)).toEqual([["a"], ["b"], ["c"]]);
    expect(readGroups([], false)).toEqual([]);
  });
});

describe("cursors", () => {
  it("one partition: the plain entry id, both ways", () => {
    expect(encodeCursor(["1732530000000-7"])).toBe("1732530000000-7");
    expect(decodeCursor("1732530000000-7", 1)).toEqual(["1732530000000-7"]);
    expect(decodeCursor("yesterday", 1)).toBeNull();
  });

  it("several partitions: opaque, round-trips, and refuses anything else", () => {
    const ids = ["1732530000000-0", "0-0", "1732530000005-3", "18446744073709551615-18446744073709551615"];
    const cursor = encodeCursor(ids);
    expect(cursor).toMatch(/^c[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain("1732530000000-0");
    expect(decodeCursor(cursor, 4)).toEqual(ids);
    expect(decodeCursor(cursor, 3)).toBeNull(); // another partition count
    expect(decodeCursor("1732530000000-0", 4)).toBeNull(); // a plain id is not a position in 4 partitions
    expect(decodeCursor(encodeCursor(["1-0", "2-0", "x", "3-0"]), 4)).toBeNull();
    expect(decodeCursor(`${cursor}=`, 4)).toBeNull();
    expect(decodeCursor("c", 4)).toBeNull();
    expect(decodeCursor("c!!!!", 4)).toBeNull();
  });

  it("positions: per-partition max and coverage", () => {
    expect(maxPositions(["5-0", "1-0", "3-1"], ["4-9", "2-0", "3-1"])).toEqual(["5-0", "2-0", "3-1"]);
    expect(covers(["5-0", "2-0"], ["5-0", "1-9"])).toBe(true);
    expect(covers(["5-0", "2-0"], ["5-1", "1-9"])).toBe(false);
  });

  it("a cut at an entry: partitions up to it include that id, later ones stop just before", () => {
    expect(cutAt("100-0", 1, 3)).toEqual(["100-0", "100-0", "99-18446744073709551615"]);
    expect(cutAt("100-5", 0, 2)).toEqual(["100-5", "100-4"]);
    expect(cutAt("0-0", 0, 2)).toEqual(["0-0", "0-0"]);
  });
});

describe("merging partitions by entry id", () => {
  const e = (id: string) => ({ id });

  it("merges ascending, ties by partition, and stops where a partition with more to fetch ran dry", () => {
    const { merged, rest } = mergeByIdOrder(
      [[e("1-0"), e("5-0")], [e("2-0"), e("5-0")], [e("3-0")]],
      [true, true, false],
    );
    expect(merged.map(([p, x]) => `${p}:${x.id}`)).toEqual(["0:1-0", "1:2-0", "2:3-0"]);
    expect(rest).toEqual([[e("5-0")], [e("5-0")], []]);
    const done = mergeByIdOrder(rest, [true, true, true]);
    expect(done.merged.map(([p, x]) => `${p}:${x.id}`)).toEqual(["0:5-0", "1:5-0"]);
    expect(done.rest).toEqual([[], [], []]);
  });
});

describe("dead-letter ids", () => {
  it("keep the old form with one partition and name the partition otherwise", () => {
    expect(deadLetterId("orders", "17-0")).toBe("orders:17-0");
    expect(parseDeadLetterId("orders:17-0")).toEqual({ stream: "orders", partition: 0, entryId: "17-0" });
    expect(deadLetterId("inventory", "17-0", 3, 4)).toBe("inventory:3:17-0");
    expect(parseDeadLetterId("inventory:3:17-0", 4)).toEqual({ stream: "inventory", partition: 3, entryId: "17-0" });
    expect(parseDeadLetterId("inventory:4:17-0", 4)).toBeNull();
    expect(parseDeadLetterId("inventory:17-0", 4)).toBeNull();
    expect(parseDeadLetterId("inventory:0:17-0", 1)).toBeNull();
  });
});

describe("cursor rules (judgeCursor)", () => {
  const held = (over: Partial<PartitionState> = {}): PartitionState => ({
    exists: true,
    first: "100-0",
    lastGenerated: "200-3",
    entriesAdded: 50,
    length: 50,
    maxDeleted: "0-0",
    trimmedThrough: null,
    ...over,
  });

  it("refuses a cursor beyond the newest id the stream ever generated, naming the end", () => {
    expect(judgeCursor("200-4", held())).toEqual({ ok: false, reason: "ahead", end: "200-3" });
    expect(judgeCursor("99999999999999-0", held())).toEqual({ ok: false, reason: "ahead", end: "200-3" });
    expect(judgeCursor("200-3", held())).toEqual({ ok: true });
    // No stream yet: only the start is a valid cursor.
    const none = held({ exists: false, first: null, lastGenerated: "0-0", entriesAdded: 0, length: 0 });
    expect(judgeCursor("0-0", none)).toEqual({ ok: true });
    expect(judgeCursor("1-0", none)).toEqual({ ok: false, reason: "ahead", end: "0-0" });
    // Everything trimmed away: the end is still the last generated id.
    const empty = held({ first: null, length: 0, trimmedThrough: "200-3" });
    expect(judgeCursor("200-3", empty)).toEqual({ ok: true });
    expect(judgeCursor("201-0", empty)).toMatchObject({ reason: "ahead" });
  });

  it("offers, with too-old, the trim point itself: resuming from it replays the first entry still held", () => {
    // Trimmed by our trimmer, which records the newest entry it removed.
    const trimmed = held({ first: "100-0", entriesAdded: 60, length: 50, trimmedThrough: "99-7" });
    expect(judgeCursor("99-6", trimmed)).toEqual({ ok: false, reason: "too-old", resumableFrom: "99-7" });
    expect(judgeCursor("99-7", trimmed)).toEqual({ ok: true }); // exactly at the trim point: nothing missing
    expect(judgeCursor("99-9", trimmed)).toEqual({ ok: true });
    // Trimmed by someone else (XTRIM, XADD MAXLEN): the id right before the first entry held.
    const unrecorded = held({ first: "100-0", entriesAdded: 60, length: 50 });
    const cut = previousId("100-0");
    expect(cut).toBe("99-18446744073709551615");
    expect(judgeCursor("99-7", unrecorded)).toEqual({ ok: false, reason: "too-old", resumableFrom: cut });
    expect(judgeCursor(cut, unrecorded)).toEqual({ ok: true });
    expect(judgeCursor("100-0", unrecorded)).toEqual({ ok: true });
    expect(judgeCursor("100-5", held({ first: "100-5", entriesAdded: 60, length: 50 }))).toEqual({ ok: true });
    expect(judgeCursor("100-3", held({ first: "100-5", entriesAdded: 60, length: 50 }))).toEqual({
      ok: false,
      reason: "too-old",
      resumableFrom: "100-4",
    });
    // Everything trimmed by someone else: only the end is complete.
    const gone = held({ first: null, entriesAdded: 60, length: 0 });
    expect(judgeCursor("150-0", gone)).toEqual({ ok: false, reason: "too-old", resumableFrom: "200-3" });
    // XDEL'd entries count as gone too.
    expect(judgeCursor("120-0", held({ maxDeleted: "150-0", entriesAdded: 51 }))).toMatchObject({
      reason: "too-old",
      resumableFrom: "150-0",
    });
  });

  it("a stream never trimmed accepts any cursor up to its end, from the start", () => {
    expect(judgeCursor("0-0", held())).toEqual({ ok: true });
    expect(judgeCursor("150-2", held())).toEqual({ ok: true });
  });
});
