import { z } from "zod";
import { Redis } from "ioredis";
import { defineEvents, EventRegistry } from "../../src/platform/events/registry.ts";
import { encodeEntryFields, decodeEntry, type StreamEntry } from "../../src/platform/events/stream-entry.ts";
import type { Envelope } from "../../src/platform/events/envelope.ts";
import type { Message, Source } from "../../src/platform/consumers/message.ts";
import { createLogger, type Logger } from "../../src/platform/observability/logger.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";

/**
 * A contract of the tests' own (the platform knows no domain): two event types a consumer handles
 * and one it does not, all on the stream `pings`.
 */
export const pingEvents = defineEvents({
  Pinged: {
    stream: "pings",
    aggregateType: "Ping",
    versions: { 1: z.object({ n: z.number().int() }) },
    routingKeys: (id: string) => [`ping:${id}`],
  },
  Ponged: {
    stream: "pings",
    aggregateType: "Ping",
    versions: { 1: z.object({ reply: z.string().min(1) }) },
    routingKeys: (id: string) => [`ping:${id}`],
  },
  Noted: {
    stream: "pings",
    aggregateType: "Note",
    versions: { 1: z.object({ text: z.string() }) },
    routingKeys: () => [],
  },
});
export const pings = new EventRegistry(pingEvents);

export const pinged = (n = 1, aggregateId = "p-1") =>
  pings.create("Pinged", aggregateId, { n }, { trace: continueTrace() });

/** The stream entry the relay would write for `e` (or for other JSON under its type fields). */
export function entryOf(e: Envelope, json = JSON.stringify(e)): StreamEntry {
  return decodeEntry("1-0", encodeEntryFields(e, pings.routingKeys(e), json));
}

/**
 * A connection that never connects: for middlewares that do not talk to Redis, whose messages still
 * name the connection of their partition. Any command on it fails at once.
 */
export const offlineRedis = new Redis({ lazyConnect: true, enableOfflineQueue: false });

export function messageOf(
  entry: StreamEntry,
  deliveries = 1,
  source: Source = { stream: "pings", key: "test:pings", redis: offlineRedis },
): Message {
  return { source, entry, deliveries };
}

/** A real logger writing JSON lines into `lines`. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = { write: (line: string) => void lines.push(JSON.parse(line)) };
  return { log: createLogger({ LOG_LEVEL: "debug", logPretty: false }, {}, sink), lines };
}
