import type { Builder } from "../../platform/graphql/builder.ts";
import { eventCatalog, ORDER_EVENT_TYPES, type OrderEventType, type EventOf } from "../../contracts/index.ts";
import type { LiveEvent } from "../../platform/live/hub.ts";
import { commonEventFields, subscribeLive, unwrapLive } from "../../platform/live/graphql-fields.ts";
import { routingKeysFor } from "../../contracts/index.ts";
import { readForward, streamIdAtOrderCreation } from "../../platform/live/history.ts";
import { mayActFor } from "../../platform/auth/principal.ts";
import { assertMayReadOrder, customerInScope } from "./graphql.ts";
type OrderLiveEvent = LiveEvent & { envelope: EventOf<OrderEventType> };
type Of<T extends OrderEventType> = LiveEvent & { envelope: EventOf<T> };

export function registerOrderEventSchema(builder: Builder): void {
  const OrderEventLine = builder
    .objectRef<{ sku: string; quantity: number; unitPriceCents: number }>("OrderEventLine")
    .implement({
      fields: (t) => ({
        sku: t.exposeString("sku"),
        quantity: t.exposeInt("quantity"),
        unitPriceCents: t.exposeInt("unitPriceCents"),
      }),
    });

  const OrderEvent = builder.interfaceRef<OrderLiveEvent>("OrderEvent").implement({
    description: "Something that happened to an order, as recorded on the orders stream.",
    // Checked on every event delivered or read, whatever field it came through.
    authScopes: (e) => ({ actsFor: e.envelope.payload.customerId }),
    resolveType: (e) => e.envelope.eventType,
    fields: (t) => ({
      ...commonEventFields(t),
      orderId: t.id({ resolve: (e) => e.envelope.aggregateId }),
      customerId: t.id({ resolve: (e) => e.envelope.payload.customerId }),
    }),
  });

  builder.objectRef<Of<"OrderCreated">>("OrderCreated").implement({
    description: "An order was placed (status PENDING).",
    interfaces: [OrderEvent],
    fields: (t) => ({
      totalCents: t.int({ resolve: (e) => e.envelope.payload.totalCents }),
      currency: t.string({ resolve: (e) => e.envelope.payload.currency }),
      items: t.field({ type: [OrderEventLine], resolve: (e) => e.envelope.payload.items }),
    }),
  });
  builder.objectRef<Of<"OrderConfirmed">>("OrderConfirmed").implement({
    description: "Stock was reserved for every line: the order is CONFIRMED.",
    interfaces: [OrderEvent],
    fields: () => ({}),
  });
  builder.objectRef<Of<"OrderRejected">>("OrderRejected").implement({
    description: "The order could not be fulfilled: REJECTED.",
    interfaces: [OrderEvent],
    fields: (t) => ({ reason: t.string({ resolve: (e) => e.envelope.payload.reason }) }),
  });
  builder.objectRef<Of<"OrderCancelled">>("OrderCancelled").implement({
    description: "The order was CANCELLED; its reserved stock is released.",
    interfaces: [OrderEvent],
    fields: (t) => ({ reason: t.string({ resolve: (e) => e.envelope.payload.reason }) }),
  });

  const OrderEventTypeEnum = builder.enumType("OrderEventType", { values: ORDER_EVENT_TYPES });

  builder.subscriptionField("orderEvents", (t) =>
    t.field({
      type: OrderEvent,
      description:
        "Live order events (the whole lifecycle), filtered by order, customer and/or event type. With `after` (an event's cursor), everything after it is replayed first, then live events follow with no gap and no duplicate.",
      args: {
        orderId: t.arg.id({ required: false }),
        customerId: t.arg.id({ required: false }),
        types: t.arg({ type: [OrderEventTypeEnum], required: false }),
        after: t.arg.string({ required: false, description: "Resume after this cursor." }),
      },
      authScopes: { signedIn: true },
      subscribe: async (_root, args, ctx) => {
        // A customer's subscription is always narrowed to its own events; only admins get a firehose.
        const customerId = customerInScope(ctx.viewer, args.customerId, "customerId");
        if (args.orderId != null)
          await assertMayReadOrder(ctx, routingKeysFor({ orderId: args.orderId })[0]!.slice("order:".length));
        const filter = {
          keys: routingKeysFor({ ...args, customerId }),
          types: args.types?.length ? args.types : ORDER_EVENT_TYPES,
        };
        return subscribeLive(ctx.hub("orders"), filter, args.after, {
          viewer: ctx.viewer,
          mayReceive: (e) => mayActFor(ctx.viewer, (e.envelope as OrderLiveEvent["envelope"]).payload.customerId),
        });
      },
      resolve: (item) => unwrapLive(item) as OrderLiveEvent,
    }),
  );

  builder.queryField("orderHistory", (t) =>
    t.field({
      type: [OrderEvent],
      description: "Every event of one order, oldest first, read from the orders stream (the event store).",
      authScopes: { signedIn: true },
      args: { orderId: t.arg.id({ required: true }) },
      resolve: async (_root, args, ctx) => {
        const [key] = routingKeysFor({ orderId: args.orderId });
        const orderId = key!.slice("order:".length);
        await assertMayReadOrder(ctx, orderId);
        const { key: partitionKey, ...spot } = ctx.hub("orders").partitionFor(orderId);
        const events = await readForward(
          eventCatalog,
          ctx.redis,
          partitionKey,
          key!,
          streamIdAtOrderCreation(orderId),
          spot,
        );
        return events.filter((e) =>
          (ORDER_EVENT_TYPES as readonly string[]).includes(e.envelope.eventType),
        ) as OrderLiveEvent[];
      },
    }),
  );
}
