import { describe, expect, it } from "vitest";
import { ReplayCache } from "../../src/platform/live/replay-cache.ts";
import type { StreamEntry } from "../../src/platform/events/stream-entry.ts";

const entry = (id: string, ...keys: string[]): StreamEntry => ({
  id,
  type: "OrderCreated",
  aggregateId: "a",
  keys,
  json: "{}",
});
const ids = (cache: ReplayCache, after: string[], key?: string) => cache.since(after, key).map((c) => c.entry.id);

describe("replay cache", () => {
  it("covers nothing until its partition is pinned, then everything after the oldest entry it read", () => {
    const cache = new ReplayCache(10, 1);
    expect(cache.covers(["0-0"])).toBe(false);
    cache.add(entry("5-0", "customer:a"), 0, ["5-0"]);
    cache.add(entry("6-0", "customer:b"), 0, ["6-0"]);
    cache.pinned(0, "5-0", false);
    expect(cache.covers(["4-9"])).toBe(false); // 5-0 may have had a predecessor it never read
    expect(cache.covers(["5-0"])).toBe(true);
    expect(ids(cache, ["5-0"])).toEqual(["6-0"]);
    expect(ids(cache, ["4-0"], "customer:a")).toEqual(["5-0"]);
    expect(ids(cache, ["5-0"], "customer:a")).toEqual([]);
    expect(ids(cache, ["0-0"], "customer:nobody")).toEqual([]);
  });

  it("a whole stream read covers every cursor from its start", () => {
    const cache = new ReplayCache(10, 1);
    cache.add(entry("5-0", "k"), 0, ["5-0"]);
    cache.pinned(0, "5-0", true);
    expect(cache.covers(["0-0"])).toBe(true);
    expect(ids(cache, ["0-0"], "k")).toEqual(["5-0"]);
  });

  it("forgets the oldest beyond its capacity, and from then on covers only what follows it", () => {
    const cache = new ReplayCache(3, 1);
    cache.pinned(0, undefined, true);
    for (let i = 1; i <= 5; i++) cache.add(entry(`${i}-0`, "k", i % 2 ? "odd" : "even"), 0, [`${i}-0`]);
    expect(cache.size).toBe(3);
    expect(cache.covers(["1-0"])).toBe(false);
    expect(cache.covers(["2-0"])).toBe(true);
    expect(ids(cache, ["2-0"], "k")).toEqual(["3-0", "4-0", "5-0"]);
    expect(ids(cache, ["2-0"], "odd")).toEqual(["3-0", "5-0"]);
    expect(ids(cache, ["2-0"], "even")).toEqual(["4-0"]);
    expect(ids(cache, ["4-0"])).toEqual(["5-0"]);
  });

  it("with partitions: each partition's part after the cursor, in dispatch order", () => {
    const cache = new ReplayCache(100, 2);
    cache.pinned(0, undefined, true);
    cache.pinned(1, undefined, true);
    cache.add(entry("1-0", "k"), 0, ["1-0", "0-0"]);
    cache.add(entry("1-0", "k"), 1, ["1-0", "1-0"]);
    cache.add(entry("3-0", "k"), 1, ["1-0", "3-0"]);
    cache.add(entry("2-0", "k"), 0, ["2-0", "3-0"]);
    const got = (after: string[]) => cache.since(after, "k").map((c) => `${c.partition}:${c.entry.id}`);
    expect(got(["0-0", "0-0"])).toEqual(["0:1-0", "1:1-0", "1:3-0", "0:2-0"]);
    expect(got(["1-0", "1-0"])).toEqual(["1:3-0", "0:2-0"]);
    expect(got(["2-0", "0-0"])).toEqual(["1:1-0", "1:3-0"]);
    expect(got(["2-0", "3-0"])).toEqual([]);
  });

  it("holds nothing and covers nothing with capacity 0", () => {
    const cache = new ReplayCache(0, 1);
    cache.pinned(0, undefined, true);
    cache.add(entry("1-0", "k"), 0, ["1-0"]);
    expect(cache.size).toBe(0);
    expect(cache.covers(["0-0"])).toBe(false);
  });
});
