import { builder } from "../graphql/builder.ts";
import { OrderStatus as OrderStatusValues } from "../generated/prisma/enums.ts";
import { createOrder } from "./create-order.ts";
import { cancelOrder } from "./cancel-order.ts";
import { routingKeysFor, subscribeSnapshots, unwrapLive } from "../live/graphql-fields.ts";
import { orderIdSchema } from "./create-order-input.ts";
import { badInput } from "../errors.ts";

export const OrderStatus = builder.enumType(OrderStatusValues, {
  name: "OrderStatus",
  description: "PENDING until inventory answers; CONFIRMED or REJECTED then; CANCELLED on request.",
});

const OrderItem = builder.prismaObject("OrderItem", {
  fields: (t) => ({
    sku: t.exposeString("sku"),
    quantity: t.exposeInt("quantity"),
    unitPriceCents: t.exposeInt("unitPriceCents", { description: "Price per unit when the order was placed." }),
    product: t.relation("product"),
  }),
});

export const Order = builder.prismaObject("Order", {
  fields: (t) => ({
    id: t.exposeID("id"),
    customerId: t.exposeID("customerId"),
    status: t.expose("status", { type: OrderStatus }),
    totalCents: t.exposeInt("totalCents"),
    currency: t.exposeString("currency"),
    rejectReason: t.exposeString("rejectReason", { nullable: true }),
    cancelReason: t.exposeString("cancelReason", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    items: t.relation("items", { query: { orderBy: { sku: "asc" } } }),
  }),
});

builder.queryFields((t) => ({
  order: t.prismaField({
    type: Order,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const id = orderIdSchema.safeParse(String(args.id));
      if (!id.success) throw badInput("id", "must be an order id (UUID)");
      return ctx.prisma.order.findUnique({ ...query, where: { id: id.data } });
    },
  }),
  orders: t.prismaConnection(
    {
    type: Order,
    cursor: "id",
    description: "Orders, newest first.",
    args: { status: t.arg({ type: OrderStatus, required: false }) },
    maxSize: 100,
    defaultSize: 20,
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.order.findMany({ ...query, where: args.status ? { status: args.status } : {}, orderBy: { id: "desc" } }),
    },
    { name: "OrderConnection" },
    { name: "OrderEdge" },
  ),
}));

const OrderLineInput = builder.inputType("OrderLineInput", {
  fields: (t) => ({
    sku: t.string({ required: true }),
    quantity: t.int({ required: true, description: "1 to 1000 units." }),
  }),
});

const CreateOrderInput = builder.inputType("CreateOrderInput", {
  fields: (t) => ({
    customerId: t.id({ required: true }),
    items: t.field({ type: [OrderLineInput], required: true, description: "1 to 50 lines, one per sku." }),
  }),
});

const CreateOrderPayload = builder.objectRef<{ orderId: string; traceId: string }>("CreateOrderPayload").implement({
  fields: (t) => ({
    order: t.prismaField({
      type: Order,
      resolve: (query, payload, _args, ctx) => ctx.prisma.order.findUniqueOrThrow({ ...query, where: { id: payload.orderId } }),
    }),
    traceId: t.exposeString("traceId", { description: "Trace id of this request: it follows the order through every event." }),
  }),
});

builder.mutationField("createOrder", (t) =>
  t.field({
    type: CreateOrderPayload,
    description: "Places an order (PENDING). Stock is reserved asynchronously; watch orderEvents for the outcome.",
    args: { input: t.arg({ type: CreateOrderInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const order = await createOrder(ctx.prisma, { customerId: String(input.customerId), items: input.items }, { trace: ctx.trace });
      ctx.log.info({ orderId: order.id, customerId: order.customerId, totalCents: order.totalCents }, "order created");
      return { orderId: order.id, traceId: ctx.trace.traceId };
    },
  }),
);

const CancelOrderPayload = builder.objectRef<{ orderId: string; traceId: string }>("CancelOrderPayload").implement({
  fields: (t) => ({
    order: t.prismaField({
      type: Order,
      resolve: (query, payload, _args, ctx) => ctx.prisma.order.findUniqueOrThrow({ ...query, where: { id: payload.orderId } }),
    }),
    traceId: t.exposeString("traceId"),
  }),
});

builder.mutationField("cancelOrder", (t) =>
  t.field({
    type: CancelOrderPayload,
    description: "Cancels a PENDING or CONFIRMED order; inventory then releases its stock (StockReleased).",
    args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: false }) },
    resolve: async (_root, args, ctx) => {
      const orderId = await cancelOrder(ctx.prisma, String(args.id), args.reason, { trace: ctx.trace }, ctx.log);
      ctx.log.info({ orderId }, "order cancelled");
      return { orderId, traceId: ctx.trace.traceId };
    },
  }),
);

builder.subscriptionField("orderUpdated", (t) =>
  t.field({
    type: Order,
    description: "One order's current state: now, then again after each of its events (with `after`: once caught up).",
    args: { id: t.arg.id({ required: true }), after: t.arg.string({ required: false }) },
    subscribe: (_root, args, ctx) => {
      const keys = routingKeysFor({ orderId: args.id });
      const id = keys[0]!.slice("order:".length);
      return subscribeSnapshots(ctx.hubs.orders, { keys }, args.after, () => ctx.prisma.order.findUnique({ where: { id } }));
    },
    resolve: (order) => unwrapLive(order),
  }),
);
