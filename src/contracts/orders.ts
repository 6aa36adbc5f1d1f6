import { z } from "zod";
import { defineEvents } from "../platform/events/registry.ts";
import { customerKey, orderKey, skuKey } from "./routing.ts";

/**
 * The orders module's published events: stream `orders`, aggregate Order. ORDER_EVENT_TYPES below
 * are the public ones (GraphQL); the rest coordinate modules and stay internal.
 */

export const sku = z.string().min(1).max(64);
export const cents = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const customerId = z.string().min(1).max(64);
const currency = z.string().regex(/^[A-Z]{3}$/);
const line = z.object({ sku, quantity: z.number().int().positive(), unitPriceCents: cents });

const created = z.object({ customerId, currency, totalCents: cents, items: z.array(line).min(1) });
const confirmed = z.object({ customerId });
const withReason = z.object({ customerId, reason: z.string().min(1) });
/** What the orders module knows of an order; UNKNOWN: it has no such order. */
export const ORDER_STATES = ["PENDING", "CONFIRMED", "REJECTED", "CANCELLED", "UNKNOWN"] as const;
export type OrderState = (typeof ORDER_STATES)[number];
const reservationChecked = z.object({ orderId: z.uuid(), orderState: z.enum(ORDER_STATES) });

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
  /**
   * The order saga's answer about a reservation (internal; not one of the public ORDER_EVENT_TYPES):
   * sent unasked when stock was reserved for an order that cannot take it (UNKNOWN), or in reply to
   * inventory's ReservationCheckRequested. Inventory releases what it holds unless the order is
   * PENDING or CONFIRMED.
   */
  ReservationChecked: {
    ...onOrder,
    versions: { 1: reservationChecked },
    routingKeys: (_id: string, p: z.output<typeof reservationChecked>) => [orderKey(p.orderId)],
  },
});

export const ORDER_EVENT_TYPES = [
  "OrderCreated",
  "OrderConfirmed",
  "OrderRejected",
  "OrderCancelled",
] as const satisfies readonly (keyof typeof orderEvents)[];
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];
