import type { Builder } from "../../platform/graphql/builder.ts";
import { OrderStatus as OrderStatusValues } from "../../generated/prisma/enums.ts";
import type { Order as OrderRow } from "../../generated/prisma/client.ts";
import { createOrder } from "./create-order.ts";
import { cancelOrder } from "./cancel-order.ts";
import { subscribeSnapshots, unwrapLive } from "../../platform/live/graphql-fields.ts";
import { orderIdSchema, routingKeysFor } from "../../contracts/index.ts";
import { AppError, badInput } from "../../platform/shared/errors.ts";
import { isAdmin, mayActFor, type Viewer } from "../../platform/auth/principal.ts";
import { parseIdempotencyKey } from "../../platform/idempotency/keys.ts";
import type { Context } from "../../platform/graphql/context.ts";
import { prismaCursorOf } from "../../platform/graphql/arguments.ts";
const IDEMPOTENCY_KEY_DOC =
  "Makes retries safe: the same key with the same input returns the first result; with other input, a CONFLICT error. Keys are per caller (1–128 of A-Z a-z 0-9 _ . : -).";

/**
 * Which customer an operation is about: for a customer always itself (naming another is FORBIDDEN),
 * for an admin the one it named, or undefined (every customer).
 */
export function customerInScope(
  viewer: Viewer,
  requested: string | number | null | undefined,
  field: string,
): string | undefined {
  const asked = requested != null ? String(requested) : undefined;
  if (isAdmin(viewer)) return asked;
  const own = viewer!.customerId!;
  if (asked !== undefined && asked !== own)
    throw new AppError("FORBIDDEN", `not allowed: ${field} names another customer; customers act for themselves only`, {
      field,
    });
  return own;
}

/** For reads by order id before anything is streamed: unknown → NOT_FOUND, someone else's → FORBIDDEN. */
export async function assertMayReadOrder(ctx: Context, orderId: string): Promise<void> {
  if (isAdmin(ctx.viewer)) return;
  const order = await ctx.prisma.order.findUnique({ where: { id: orderId }, select: { customerId: true } });
  if (!order) throw new AppError("NOT_FOUND", `order ${orderId} not found`, { field: "orderId" });
  if (!mayActFor(ctx.viewer, order.customerId))
    throw new AppError("FORBIDDEN", `not allowed: order ${orderId} belongs to another customer`);
}

export function registerOrderSchema(builder: Builder): void {
  const OrderStatus = builder.enumType(OrderStatusValues, {
    name: "OrderStatus",
    description: "PENDING until inventory answers; CONFIRMED or REJECTED then; CANCELLED on request.",
  });

  builder.prismaObject("OrderItem", {
    fields: (t) => ({
      sku: t.exposeString("sku"),
      quantity: t.exposeInt("quantity"),
      unitPriceCents: t.exposeInt("unitPriceCents", { description: "Price per unit when the order was placed." }),
      product: t.relation("product"),
    }),
  });

  const Order = builder.prismaObject("Order", {
    // Every path to an order (order, orders, payloads, orderUpdated events) passes this check.
    runScopesOnType: true,
    authScopes: (order) => ({ actsFor: order.customerId }),
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
      description: "One order: customers see their own, admins any.",
      authScopes: { signedIn: true },
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
        description: "Orders, newest first: a customer's own, or (admins) everyone's or one customer's.",
        authScopes: { signedIn: true },
        args: { status: t.arg({ type: OrderStatus, required: false }), customerId: t.arg.id({ required: false }) },
        maxSize: 100,
        defaultSize: 20,
        extensions: { validateCursor: prismaCursorOf((id) => orderIdSchema.safeParse(id).success) },
        resolve: (query, _root, args, ctx) => {
          const customerId = customerInScope(ctx.viewer, args.customerId, "customerId");
          return ctx.prisma.order.findMany({
            ...query,
            where: {
              ...(args.status ? { status: args.status } : {}),
              ...(customerId !== undefined ? { customerId } : {}),
            },
            orderBy: { id: "desc" },
          });
        },
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
      customerId: t.id({
        required: false,
        description: "Admins only (required for them); a customer's orders are always its own.",
      }),
      items: t.field({ type: [OrderLineInput], required: true, description: "1 to 50 lines, one per sku." }),
    }),
  });

  const CreateOrderPayload = builder
    .objectRef<{ orderId: string; traceId: string; order?: OrderRow }>("CreateOrderPayload")
    .implement({
      fields: (t) => ({
        order: t.prismaField({
          type: Order,
          // The row createOrder wrote answers the order's own fields; Pothos loads any relation asked for (items).
          resolve: (query, payload, _args, ctx) =>
            payload.order ?? ctx.prisma.order.findUniqueOrThrow({ ...query, where: { id: payload.orderId } }),
        }),
        traceId: t.exposeString("traceId", {
          description: "Trace id of this request: it follows the order through every event.",
        }),
      }),
    });

  builder.mutationField("createOrder", (t) =>
    t.field({
      type: CreateOrderPayload,
      description: "Places an order (PENDING). Stock is reserved asynchronously; watch orderEvents for the outcome.",
      authScopes: { signedIn: true },
      args: {
        input: t.arg({ type: CreateOrderInput, required: true }),
        idempotencyKey: t.arg.string({ required: false, description: IDEMPOTENCY_KEY_DOC }),
      },
      resolve: async (_root, { input, idempotencyKey }, ctx) => {
        const customerId = customerInScope(ctx.viewer, input.customerId, "input.customerId");
        if (customerId === undefined)
          throw badInput("input.customerId", "admins must name the customer the order is for");
        const key = parseIdempotencyKey(idempotencyKey);
        const { orderId, replayed, order } = await createOrder(
          ctx.prisma,
          { customerId, items: input.items },
          { trace: ctx.trace },
          key ? { scope: ctx.clientKey, key } : undefined,
        );
        ctx.log.info(
          { orderId, customerId, replayed },
          replayed ? "order request replayed (idempotency key)" : "order created",
        );
        return { orderId, traceId: ctx.trace.traceId, order };
      },
    }),
  );

  const CancelOrderPayload = builder.objectRef<{ orderId: string; traceId: string }>("CancelOrderPayload").implement({
    fields: (t) => ({
      order: t.prismaField({
        type: Order,
        resolve: (query, payload, _args, ctx) =>
          ctx.prisma.order.findUniqueOrThrow({ ...query, where: { id: payload.orderId } }),
      }),
      traceId: t.exposeString("traceId"),
    }),
  });

  builder.mutationField("cancelOrder", (t) =>
    t.field({
      type: CancelOrderPayload,
      description: "Cancels a PENDING or CONFIRMED order; inventory then releases its stock (StockReleased).",
      authScopes: { signedIn: true },
      args: {
        id: t.arg.id({ required: true }),
        reason: t.arg.string({ required: false }),
        idempotencyKey: t.arg.string({ required: false, description: IDEMPOTENCY_KEY_DOC }),
      },
      resolve: async (_root, args, ctx) => {
        const key = parseIdempotencyKey(args.idempotencyKey);
        const { orderId, replayed } = await cancelOrder(
          ctx.db,
          String(args.id),
          args.reason,
          { trace: ctx.trace },
          ctx.log,
          (customerId) => mayActFor(ctx.viewer, customerId),
          key ? { scope: ctx.clientKey, key } : undefined,
        );
        ctx.log.info({ orderId, replayed }, replayed ? "cancel request replayed (idempotency key)" : "order cancelled");
        return { orderId, traceId: ctx.trace.traceId };
      },
    }),
  );

  builder.subscriptionField("orderUpdated", (t) =>
    t.field({
      type: Order,
      description:
        "One order's current state: now, then again after each of its events (with `after`: once caught up).",
      authScopes: { signedIn: true },
      args: { id: t.arg.id({ required: true }), after: t.arg.string({ required: false }) },
      subscribe: async (_root, args, ctx) => {
        const keys = routingKeysFor({ orderId: args.id });
        const id = keys[0]!.slice("order:".length);
        await assertMayReadOrder(ctx, id);
        return subscribeSnapshots(
          ctx.hub("orders"),
          { keys },
          args.after,
          () => ctx.prisma.order.findUnique({ where: { id } }),
          ctx.viewer,
        );
      },
      resolve: (order) => unwrapLive(order),
    }),
  );
}
