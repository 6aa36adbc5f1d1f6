import { z } from "zod";
import { defineEvents } from "../platform/events/registry.ts";
import { sku } from "./orders.ts";
import { orderKey, skuKey } from "./routing.ts";

/**
 * The inventory module's published events: stream `inventory`. Reservation outcomes belong to the
 * order they are for (aggregate Order, so they share its partition and order); StockAdjusted to a sku.
 */

const skuQuantity = z.object({ sku, quantity: z.number().int().positive() });
const reserved = z.object({ orderId: z.uuid(), items: z.array(skuQuantity).min(1) });
const rejected = z.object({
  orderId: z.uuid(),
  reason: z.string().min(1),
  shortSkus: z.array(z.object({ sku, requested: z.number().int(), available: z.number().int() })),
});
const released = z.object({ orderId: z.uuid(), items: z.array(skuQuantity) });
const checkRequested = z.object({ orderId: z.uuid() });
const adjusted = z.object({
  sku,
  delta: z.number().int(),
  onHand: z.number().int().nonnegative(),
  reason: z.enum(["restock", "correction"]),
});

const forOrder = { stream: "inventory", aggregateType: "Order" } as const;
const lineKeys = (_id: string, p: { orderId: string; items: { sku: string }[] }) => [
  orderKey(p.orderId),
  ...p.items.map((i) => skuKey(i.sku)),
];

export const inventoryEvents = defineEvents({
  StockReserved: { ...forOrder, versions: { 1: reserved }, routingKeys: lineKeys },
  StockRejected: {
    ...forOrder,
    versions: { 1: rejected },
    routingKeys: (_id: string, p: z.output<typeof rejected>) => [
      orderKey(p.orderId),
      ...p.shortSkus.map((s) => skuKey(s.sku)),
    ],
  },
  StockReleased: { ...forOrder, versions: { 1: released }, routingKeys: lineKeys },
  /**
   * Reconciliation (internal; not one of the public INVENTORY_EVENT_TYPES): inventory holds stock
   * for this order and has not heard that it was confirmed; the order saga answers ReservationChecked.
   */
  ReservationCheckRequested: {
    ...forOrder,
    versions: { 1: checkRequested },
    routingKeys: (_id: string, p: z.output<typeof checkRequested>) => [orderKey(p.orderId)],
  },
  StockAdjusted: {
    stream: "inventory",
    aggregateType: "Stock",
    versions: { 1: adjusted },
    routingKeys: (_sku: string, p: z.output<typeof adjusted>) => [skuKey(p.sku)],
  },
});

export const INVENTORY_EVENT_TYPES = [
  "StockReserved",
  "StockRejected",
  "StockReleased",
  "StockAdjusted",
] as const satisfies readonly (keyof typeof inventoryEvents)[];
export type InventoryEventType = (typeof INVENTORY_EVENT_TYPES)[number];
