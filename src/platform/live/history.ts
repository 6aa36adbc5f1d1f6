import type { RedisClient } from "../infra/redis.ts";
import { decodeEntry, type StreamEntry } from "../events/stream-entry.ts";
import type { EventRegistry } from "../events/registry.ts";

/** Validates what history reads: the registry (or the typed contract built on it). */
type Parser = Pick<EventRegistry, "parseJson">;
import { parseTraceparent } from "../observability/trace.ts";
import type { LiveEvent } from "./hub.ts";
import { cutAt, encodeCursor, mergeByIdOrder } from "../events/partitions.ts";

const PAGE = 1_000;

/** Where a history entry sits among the stream's partitions (its cursor is a cut at that entry). */
export interface PartitionSpot {
  partition: number;
  partitions: number;
}

/**
 * Reads an aggregate's events from the stream itself (Redis as the event store), oldest first.
 * Scans forward from `startId` in pages, matching on routing keys without parsing other entries.
 * `key` is the aggregate's partition (all its events are there).
 */
export async function readForward(
  events: Parser,
  redis: RedisClient,
  key: string,
  routingKey: string,
  startId = "-",
  spot: PartitionSpot = { partition: 0, partitions: 1 },
): Promise<LiveEvent[]> {
  const out: LiveEvent[] = [];
  let start = startId;
  for (;;) {
    const page = (await redis.xrange(key, start, "+", "COUNT", PAGE)) as [string, string[]][];
    for (const [id, fields] of page) {
      const entry = decodeEntry(id, fields);
      if (entry.keys.includes(routingKey)) pushParsed(events, out, entry, spot);
    }
    if (page.length < PAGE) return out;
    start = `(${page.at(-1)![0]}`;
  }
}

/**
 * The newest `last` matching events, scanning backwards through every partition (`keys`, in
 * partition order) merged by entry id, returned oldest first.
 */
export async function readBackward(
  events: Parser,
  redis: RedisClient,
  keys: string | string[],
  routingKey: string,
  last: number,
): Promise<LiveEvent[]> {
  const all = typeof keys === "string" ? [keys] : keys;
  const out: LiveEvent[] = [];
  const ends = all.map(() => "+");
  const exhausted = all.map(() => false);
  // Descending ids, negated for the ascending merge: compare on a flipped key.
  let pages: { id: string; flipped: string; entry: StreamEntry }[][] = all.map(() => []);
  while (out.length < last) {
    await Promise.all(
      all.map(async (key, p) => {
        if (exhausted[p] || pages[p]!.length > 0) return;
        const page = (await redis.xrevrange(key, ends[p]!, "-", "COUNT", PAGE)) as [string, string[]][];
        pages[p] = page.map(([id, fields]) => ({ id, flipped: flip(id), entry: decodeEntry(id, fields) }));
        if (page.length) ends[p] = `(${page.at(-1)![0]}`;
        if (page.length < PAGE) exhausted[p] = true;
      }),
    );
    const { merged, rest } = mergeByIdOrder(
      pages.map((page) => page.map((e) => ({ ...e, id: e.flipped, original: e.id }))),
      exhausted,
    );
    pages = rest.map((page) => page.map((e) => ({ id: e.original, flipped: e.id, entry: e.entry })));
    for (const [p, { entry }] of merged) {
      if (entry.keys.includes(routingKey)) pushParsed(events, out, entry, { partition: p, partitions: all.length });
      if (out.length === last) break;
    }
    if (merged.length === 0) break; // every partition exhausted
  }
  return out.reverse();
}

/** Maps an entry id to one whose ascending order is the original's descending order. */
function flip(id: string): string {
  const [ms, seq = "0"] = id.split("-");
  const max = 18446744073709551615n;
  return `${max - BigInt(ms!)}-${max - BigInt(seq)}`;
}

/** First stream id that can hold events of an order created at the time in its UUID v7. */
export function streamIdAtOrderCreation(orderId: string): string {
  const ms = parseInt(orderId.replace(/-/g, "").slice(0, 12), 16);
  return Number.isFinite(ms) ? `${Math.max(0, ms - 60_000)}-0` : "-"; // a minute of slack for clock skew between hosts
}

function pushParsed(
  events: Parser,
  out: LiveEvent[],
  entry: StreamEntry,
  { partition, partitions }: PartitionSpot,
): void {
  try {
    const envelope = events.parseJson(entry.json);
    const position = partitions > 1 ? cutAt(entry.id, partition, partitions) : [entry.id];
    out.push({
      cursor: encodeCursor(position),
      envelope,
      traceId: parseTraceparent(envelope.traceparent)?.traceId ?? null,
      partition,
      id: entry.id,
      position,
    });
  } catch {
    // Invalid entries are the consumers' business (dead-lettered there); history shows valid events.
  }
}
