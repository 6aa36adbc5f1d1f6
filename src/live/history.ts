import type { Redis } from "ioredis";
import { decodeEntry, type StreamEntry } from "../events/stream-entry.ts";
import { parseEnvelope } from "../events/envelope.ts";
import { parseTraceparent } from "../observability/trace.ts";
import type { LiveEvent } from "./hub.ts";

const PAGE = 1_000;

/**
 * Reads an aggregate's events from the stream itself (Redis as the event store), oldest first.
 * Scans forward from `startId` in pages, matching on routing keys without parsing other entries.
 */
export async function readForward(redis: Redis, key: string, routingKey: string, startId = "-"): Promise<LiveEvent[]> {
  const out: LiveEvent[] = [];
  let start = startId;
  for (;;) {
    const page = (await redis.xrange(key, start, "+", "COUNT", PAGE)) as [string, string[]][];
    for (const [id, fields] of page) {
      const entry = decodeEntry(id, fields);
      if (entry.keys.includes(routingKey)) pushParsed(out, entry);
    }
    if (page.length < PAGE) return out;
    start = `(${page.at(-1)![0]}`;
  }
}

/** The newest `last` matching events, scanning backwards, returned oldest first. */
export async function readBackward(redis: Redis, key: string, routingKey: string, last: number): Promise<LiveEvent[]> {
  const out: LiveEvent[] = [];
  let end = "+";
  while (out.length < last) {
    const page = (await redis.xrevrange(key, end, "-", "COUNT", PAGE)) as [string, string[]][];
    for (const [id, fields] of page) {
      const entry = decodeEntry(id, fields);
      if (entry.keys.includes(routingKey)) pushParsed(out, entry);
      if (out.length === last) break;
    }
    if (page.length < PAGE) break;
    end = `(${page.at(-1)![0]}`;
  }
  return out.reverse();
}

/** First stream id that can hold events of an order created at the time in its UUID v7. */
export function streamIdAtOrderCreation(orderId: string): string {
  const ms = parseInt(orderId.replace(/-/g, "").slice(0, 12), 16);
  return Number.isFinite(ms) ? `${Math.max(0, ms - 60_000)}-0` : "-"; // a minute of slack for clock skew between hosts
}

function pushParsed(out: LiveEvent[], entry: StreamEntry): void {
  try {
    const envelope = parseEnvelope(JSON.parse(entry.json));
    out.push({ cursor: entry.id, envelope, traceId: parseTraceparent(envelope.traceparent)?.traceId ?? null });
  } catch {
    // Invalid entries are the consumers' business (dead-lettered there); history shows valid events.
  }
}
