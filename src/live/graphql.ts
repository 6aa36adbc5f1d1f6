import { builder } from "../graphql/builder.ts";
import { badInput } from "../errors.ts";
import { customerIdSchema, orderIdSchema } from "../orders/create-order-input.ts";
import { ORDER_EVENT_TYPES } from "../events/catalog.ts";
import type { Envelope } from "../events/envelope.ts";
import type { LiveEvent } from "./hub.ts";

type OrderLiveEvent = LiveEvent & { envelope: Envelope<(typeof ORDER_EVENT_TYPES)[number]> };

const OrderEventLine = builder.objectRef<{ sku: string; quantity: number; unitPriceCents: number }>("OrderEventLine").implement({
  fields: (t) => ({
    sku: t.exposeString("sku"),
    quantity: t.exposeInt("quantity"),
    unitPriceCents: t.exposeInt("unitPriceCents"),
  }),
});

export const OrderEvent = builder.interfaceRef<OrderLiveEvent>("OrderEvent").implement({
  description: "Something that happened to an order, as recorded on the orders stream.",
  resolveType: (e) => e.envelope.eventType,
  fields: (t) => ({
    eventId: t.id({ resolve: (e) => e.envelope.eventId }),
    eventType: t.string({ resolve: (e) => e.envelope.eventType }),
    orderId: t.id({ resolve: (e) => e.envelope.aggregateId }),
    customerId: t.id({ resolve: (e) => e.envelope.payload.customerId }),
    occurredAt: t.field({ type: "DateTime", resolve: (e) => e.envelope.occurredAt }),
    traceId: t.string({ nullable: true, description: "W3C trace id of the request that caused this event.", resolve: (e) => e.traceId }),
    cursor: t.string({ description: "Position on the stream; opaque, pass it back to resume after this event.", resolve: (e) => e.cursor }),
  }),
});


builder.objectRef<LiveEvent & { envelope: Envelope<"OrderCreated"> }>("OrderCreated").implement({
  description: "An order was placed (status PENDING).",
  interfaces: [OrderEvent],
  fields: (t) => ({
    totalCents: t.int({ resolve: (e) => e.envelope.payload.totalCents }),
    currency: t.string({ resolve: (e) => e.envelope.payload.currency }),
    items: t.field({ type: [OrderEventLine], resolve: (e) => e.envelope.payload.items }),
  }),
});
builder.objectRef<LiveEvent & { envelope: Envelope<"OrderConfirmed"> }>("OrderConfirmed").implement({
  description: "Stock was reserved for every line: the order is CONFIRMED.",
  interfaces: [OrderEvent],
  fields: () => ({}),
});
builder.objectRef<LiveEvent & { envelope: Envelope<"OrderRejected"> }>("OrderRejected").implement({
  description: "The order could not be fulfilled: REJECTED.",
  interfaces: [OrderEvent],
  fields: (t) => ({ reason: t.string({ resolve: (e) => e.envelope.payload.reason }) }),
});
builder.objectRef<LiveEvent & { envelope: Envelope<"OrderCancelled"> }>("OrderCancelled").implement({
  description: "The order was CANCELLED; its reserved stock is released.",
  interfaces: [OrderEvent],
  fields: (t) => ({ reason: t.string({ resolve: (e) => e.envelope.payload.reason }) }),
});

builder.subscriptionField("orderEvents", (t) =>
  t.field({
    type: OrderEvent,
    description: "Live order events, optionally only those of one order or one customer.",
    args: { orderId: t.arg.id({ required: false }), customerId: t.arg.id({ required: false }) },
    subscribe: (_root, args, ctx) => {
      const keys: string[] = [];
      if (args.orderId != null) {
        const id = orderIdSchema.safeParse(String(args.orderId));
        if (!id.success) throw badInput("orderId", "must be an order id (UUID)");
        keys.push(`order:${id.data}`);
      }
      if (args.customerId != null) {
        const id = customerIdSchema.safeParse(String(args.customerId));
        if (!id.success) throw badInput("customerId", id.error.issues[0]!.message);
        keys.push(`customer:${id.data}`);
      }
      return ctx.hubs.orders.subscribe({ keys, types: ORDER_EVENT_TYPES }) as AsyncIterable<OrderLiveEvent>;
    },
    resolve: (event) => {
      return event;
    },
  }),
);
