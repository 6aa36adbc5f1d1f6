import type { Builder } from "../../platform/graphql/builder.ts";
import { eventCatalog, INVENTORY_EVENT_TYPES, type InventoryEventType, type EventOf } from "../../contracts/index.ts";
import type { LiveEvent } from "../../platform/live/hub.ts";
import {
  commonEventFields,
  subscribeLive,
  subscribeSnapshots,
  unwrapLive,
} from "../../platform/live/graphql-fields.ts";
import { routingKeysFor } from "../../contracts/index.ts";
import { readBackward } from "../../platform/live/history.ts";
import { restock } from "./service.ts";
import { badInput } from "../../platform/shared/errors.ts";
type InventoryLiveEvent = LiveEvent & { envelope: EventOf<InventoryEventType> };
type Of<T extends InventoryEventType> = LiveEvent & { envelope: EventOf<T> };

export function registerInventorySchema(builder: Builder): void {
  const StockLine = builder.objectRef<{ sku: string; quantity: number }>("StockLine").implement({
    fields: (t) => ({ sku: t.exposeString("sku"), quantity: t.exposeInt("quantity") }),
  });
  const StockShortage = builder
    .objectRef<{ sku: string; requested: number; available: number }>("StockShortage")
    .implement({
      fields: (t) => ({
        sku: t.exposeString("sku"),
        requested: t.exposeInt("requested"),
        available: t.exposeInt("available"),
      }),
    });

  const InventoryEvent = builder.interfaceRef<InventoryLiveEvent>("InventoryEvent").implement({
    description: "Something that happened to stock, as recorded on the inventory stream.",
    resolveType: (e) => e.envelope.eventType,
    fields: (t) => ({
      ...commonEventFields(t),
      skus: t.stringList({
        description: "The skus this event touches.",
        resolve: (e) => {
          const p = e.envelope.payload;
          if ("sku" in p) return [p.sku];
          if ("shortSkus" in p) return p.shortSkus.map((s) => s.sku);
          return p.items.map((i) => i.sku);
        },
      }),
    }),
  });

  builder.objectRef<Of<"StockReserved">>("StockReserved").implement({
    description: "Every line of an order was reserved.",
    interfaces: [InventoryEvent],
    fields: (t) => ({
      orderId: t.id({ resolve: (e) => e.envelope.payload.orderId }),
      items: t.field({ type: [StockLine], resolve: (e) => e.envelope.payload.items }),
    }),
  });
  builder.objectRef<Of<"StockRejected">>("StockRejected").implement({
    description: "An order could not be reserved; nothing was reserved.",
    interfaces: [InventoryEvent],
    fields: (t) => ({
      orderId: t.id({ resolve: (e) => e.envelope.payload.orderId }),
      reason: t.string({ resolve: (e) => e.envelope.payload.reason }),
      shortSkus: t.field({ type: [StockShortage], resolve: (e) => e.envelope.payload.shortSkus }),
    }),
  });
  builder.objectRef<Of<"StockReleased">>("StockReleased").implement({
    description: "A cancelled order's reservation was given back (empty if nothing had been reserved).",
    interfaces: [InventoryEvent],
    fields: (t) => ({
      orderId: t.id({ resolve: (e) => e.envelope.payload.orderId }),
      items: t.field({ type: [StockLine], resolve: (e) => e.envelope.payload.items }),
    }),
  });
  builder.objectRef<Of<"StockAdjusted">>("StockAdjusted").implement({
    description: "Stock on hand changed: a restock or a correction.",
    interfaces: [InventoryEvent],
    fields: (t) => ({
      sku: t.string({ resolve: (e) => e.envelope.payload.sku }),
      delta: t.int({ resolve: (e) => e.envelope.payload.delta }),
      onHand: t.int({ resolve: (e) => e.envelope.payload.onHand }),
      reason: t.string({ resolve: (e) => e.envelope.payload.reason }),
    }),
  });

  const InventoryEventTypeEnum = builder.enumType("InventoryEventType", { values: INVENTORY_EVENT_TYPES });

  builder.subscriptionField("inventoryEvents", (t) =>
    t.field({
      type: InventoryEvent,
      description:
        "Live inventory events (admins), filtered by sku, order and/or event type; `after` resumes from a cursor with no gap.",
      args: {
        sku: t.arg.string({ required: false }),
        orderId: t.arg.id({ required: false }),
        types: t.arg({ type: [InventoryEventTypeEnum], required: false }),
        after: t.arg.string({ required: false, description: "Resume after this cursor." }),
      },
      authScopes: { admin: true },
      subscribe: (_root, args, ctx) =>
        subscribeLive(
          ctx.hub("inventory"),
          { keys: routingKeysFor(args), types: args.types?.length ? args.types : INVENTORY_EVENT_TYPES },
          args.after,
          { viewer: ctx.viewer },
        ),
      resolve: (item) => unwrapLive(item) as InventoryLiveEvent,
    }),
  );

  builder.subscriptionField("stockLevel", (t) =>
    t.prismaField({
      type: "Product",
      description: "A product's live availability: its current state now, then again after every change.",
      args: { sku: t.arg.string({ required: true }), after: t.arg.string({ required: false }) },
      subscribe: (_root, args, ctx) =>
        subscribeSnapshots(
          ctx.hub("inventory"),
          { keys: routingKeysFor({ sku: args.sku }) },
          args.after,
          () => ctx.prisma.product.findUnique({ where: { sku: args.sku }, include: { stock: true } }),
          ctx.viewer,
        ),
      resolve: (_query, product) => unwrapLive(product),
    }),
  );

  builder.queryField("inventoryHistory", (t) =>
    t.field({
      type: [InventoryEvent],
      description:
        "The latest inventory events of one sku (up to `last`), oldest first, read from the inventory stream (admins).",
      authScopes: { admin: true },
      args: { sku: t.arg.string({ required: true }), last: t.arg.int({ required: false, defaultValue: 100 }) },
      resolve: (_root, args, ctx) => {
        const last = args.last ?? 100;
        if (last < 1 || last > 1000) throw badInput("last", "must be from 1 to 1000");
        const [key] = routingKeysFor({ sku: args.sku });
        return readBackward(eventCatalog, ctx.redis, [...ctx.hub("inventory").streamKeys], key!, last) as Promise<
          InventoryLiveEvent[]
        >;
      },
    }),
  );

  const RestockPayload = builder.objectRef<{ sku: string; traceId: string }>("RestockPayload").implement({
    fields: (t) => ({
      product: t.prismaField({
        type: "Product",
        resolve: (query, payload, _args, ctx) =>
          ctx.prisma.product.findUniqueOrThrow({ ...query, where: { sku: payload.sku } }),
      }),
      traceId: t.exposeString("traceId"),
    }),
  });

  builder.mutationField("restock", (t) =>
    t.field({
      type: RestockPayload,
      description: "Adds units to a product's stock on hand (a delivery arrived) → StockAdjusted. Admins only.",
      authScopes: { admin: true },
      args: {
        sku: t.arg.string({ required: true }),
        quantity: t.arg.int({ required: true, description: "1 to 100000." }),
      },
      resolve: async (_root, args, ctx) => {
        const result = await restock(ctx.db, args.sku, args.quantity, { trace: ctx.trace });
        ctx.log.info({ ...result, delta: args.quantity }, "restocked");
        return { sku: args.sku, traceId: ctx.trace.traceId };
      },
    }),
  );
}
