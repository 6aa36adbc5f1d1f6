import { z } from "zod";

/**
 * The event catalog: every event type, the payload schema of each schema version we understand,
 * and the stream it travels on. Adding a version means adding a schema here; anything not listed
 * is rejected on write and dead-lettered on read.
 */

const sku = z.string().min(1).max(64);
const customerId = z.string().min(1).max(64);
const cents = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const currency = z.string().regex(/^[A-Z]{3}$/);
const line = z.object({ sku, quantity: z.number().int().positive(), unitPriceCents: cents });
const skuQuantity = z.object({ sku, quantity: z.number().int().positive() });

export const payloadSchemas = {
  OrderCreated: { 1: z.object({ customerId, currency, totalCents: cents, items: z.array(line).min(1) }) },
  OrderConfirmed: { 1: z.object({ customerId }) },
  OrderRejected: { 1: z.object({ customerId, reason: z.string().min(1) }) },
  OrderCancelled: { 1: z.object({ customerId, reason: z.string().min(1) }) },
  StockReserved: { 1: z.object({ orderId: z.uuid(), items: z.array(skuQuantity).min(1) }) },
  StockRejected: {
    1: z.object({
      orderId: z.uuid(),
      reason: z.string().min(1),
      shortSkus: z.array(z.object({ sku, requested: z.number().int(), available: z.number().int() })),
    }),
  },
  StockReleased: { 1: z.object({ orderId: z.uuid(), items: z.array(skuQuantity) }) },
  StockAdjusted: {
    1: z.object({ sku, delta: z.number().int(), onHand: z.number().int().nonnegative(), reason: z.enum(["restock", "correction"]) }),
  },
} as const;

export type EventType = keyof typeof payloadSchemas;
export const EVENT_TYPES = Object.keys(payloadSchemas) as EventType[];

/** Latest payload shape of each event type: what producers write. */
export type PayloadOf<T extends EventType> = z.output<(typeof payloadSchemas)[T][1]>;

export const ORDER_EVENT_TYPES = ["OrderCreated", "OrderConfirmed", "OrderRejected", "OrderCancelled"] as const;
export const INVENTORY_EVENT_TYPES = ["StockReserved", "StockRejected", "StockReleased", "StockAdjusted"] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];
export type InventoryEventType = (typeof INVENTORY_EVENT_TYPES)[number];

/** Logical stream of each event type; the physical key adds the configured prefix. */
export type StreamName = "orders" | "inventory";
export function streamOf(type: EventType): StreamName {
  return (ORDER_EVENT_TYPES as readonly string[]).includes(type) ? "orders" : "inventory";
}

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(payloadSchemas, value);
}

export const LATEST_VERSION = 1;
