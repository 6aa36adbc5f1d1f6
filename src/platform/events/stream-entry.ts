import type { Envelope } from "./envelope.ts";

/**
 * How an event is laid out in a Redis Stream entry. Besides the JSON envelope, an entry carries
 * the few fields readers filter on, so the live hub can route an entry without parsing JSON.
 * The entry id assigned by Redis is the event's public cursor.
 */
export interface StreamEntry {
  /** Redis stream entry id, e.g. "1732530000000-0". */
  id: string;
  type: string;
  aggregateId: string;
  /** Routing keys such as "order:<id>", "customer:<id>", "sku:<sku>". */
  keys: string[];
  /** The envelope as JSON, parsed only when someone needs it. */
  json: string;
}

/** Field/value list for XADD. */
export function encodeEntryFields(
  e: Envelope,
  routingKeys: readonly string[],
  json: string = JSON.stringify(e),
): string[] {
  return ["type", e.eventType, "agg", e.aggregateId, "keys", routingKeys.join(" "), "env", json];
}

/** Reads an XREAD/XRANGE entry ([id, [field, value, …]]). Tolerates missing fields: validation comes later. */
export function decodeEntry(id: string, fields: string[]): StreamEntry {
  const get = (name: string) => {
    for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1]!;
    return "";
  };
  const keys = get("keys");
  return { id, type: get("type"), aggregateId: get("agg"), keys: keys ? keys.split(" ") : [], json: get("env") };
}
