import type { AnyEnvelope } from "./envelope.ts";
import { streamOf, type StreamName } from "../../contracts/catalog.ts";

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

export const streamKey = (prefix: string, stream: StreamName) => `${prefix}:${stream}`;
export const dlqKey = (prefix: string, stream: StreamName) => `${prefix}:${stream}:dlq`;
export const STREAMS: readonly StreamName[] = ["orders", "inventory"];

/** The routing keys of an event: every filter a subscriber may set must be answerable from these. */
export function routingKeys(e: AnyEnvelope): string[] {
  switch (e.eventType) {
    case "OrderCreated":
      return [`order:${e.aggregateId}`, `customer:${e.payload.customerId}`, ...e.payload.items.map((i) => `sku:${i.sku}`)];
    case "OrderConfirmed":
    case "OrderRejected":
    case "OrderCancelled":
      return [`order:${e.aggregateId}`, `customer:${e.payload.customerId}`];
    case "StockReserved":
    case "StockReleased":
      return [`order:${e.payload.orderId}`, ...e.payload.items.map((i) => `sku:${i.sku}`)];
    case "StockRejected":
      return [`order:${e.payload.orderId}`, ...e.payload.shortSkus.map((s) => `sku:${s.sku}`)];
    case "StockAdjusted":
      return [`sku:${e.payload.sku}`];
  }
}

/** Field/value list for XADD. */
export function encodeEntryFields(e: AnyEnvelope, json: string = JSON.stringify(e)): string[] {
  return ["type", e.eventType, "agg", e.aggregateId, "keys", routingKeys(e).join(" "), "env", json];
}

export function streamFor(e: AnyEnvelope): StreamName {
  return streamOf(e.eventType);
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
