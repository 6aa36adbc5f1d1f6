import { z } from "zod";
import { defineEvents } from "../platform/events/registry.ts";
import { customerKey, orderKey, skuKey } from "./routing.ts";

/** The orders module's published events: stream `orders`, aggregate Order. */

export const sku = z.string().min(1).max(64);
export const cents = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const customerId = z.string().min(1).max(64);
const currency = z.string().regex(/^[A-Z]{3}$/);
const line = z.object({ sku, quantity: z.number().int().positive(), unitPriceCents: cents });

const created = z.object({ customerId, currency, totalCents: cents, items: z.array(line).min(1) });
const confirmed = z.object({ customerId });
const withReason = z.object({ customerId, reason: z.string().min(1) });

const onOrder = { stream: "orders", aggregateType: "Order" } as const;
const customerKeys = (orderId: string, p: { customerId: string }) => [orderKey(orderId), customerKey(p.customerId)];

export const orderEvents = defineEvents({
  OrderCreated: {
    ...onOrder,
    versions: { 1: created },
    routingKeys: (orderId: string, p: z.output<typeof created>) => [
      ...customerKeys(orderId, p),
      ...p.items.map((i) => skuKey(i.sku)),
    ],
  },
  OrderConfirmed: { ...onOrder, versions: { 1: confirmed }, routingKeys: customerKeys },
  OrderRejected: { ...onOrder, versions: { 1: withReason }, routingKeys: customerKeys },
  OrderCancelled: { ...onOrder, versions: { 1: withReason }, routingKeys: customerKeys },
});

export const ORDER_EVENT_TYPES = [
  "OrderCreated",
  "OrderConfirmed",
  "OrderRejected",
  "OrderCancelled",
] as const satisfies readonly (keyof typeof orderEvents)[];
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];
