import type { SqlTx } from "../../platform/infra/sql-transaction.ts";
import type { EventCause } from "../../platform/events/envelope.ts";
import { contract, eventCatalog, type EventOf, type OrderState } from "../../contracts/index.ts";
import { defineConsumer, PermanentError, type HandlerContext } from "../../platform/consumers/types.ts";
import type { Logger } from "../../platform/observability/logger.ts";
import { answerReservationCheck, decideOrder, type OrderCommand, type OrderStatus } from "./decide.ts";

/**
 * Locks the order and applies a command through the state machine. Every writer of an order's
 * events goes through this lock, so the order's events enter the outbox in commit order.
 * `authorize` sees the order's customer once it is locked and may throw before anything changes.
 */
export async function applyToOrder(
  tx: SqlTx,
  orderId: string,
  command: OrderCommand,
  cause: EventCause,
  log: Logger,
  authorize?: (customerId: string) => void,
) {
  const [order] = await tx.$queryRaw<{ status: OrderStatus; customerId: string }[]>`
    SELECT status::text AS status, customer_id AS "customerId" FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
  if (!order) return { found: false as const };
  authorize?.(order.customerId);
  const decision = decideOrder(order.status, command);
  if (decision.outcome !== "transition") {
    log[decision.outcome === "refused" ? "warn" : "info"](
      { orderId, status: order.status, command: command.type, why: decision.why },
      decision.outcome === "refused" ? "illegal order transition refused" : "order unchanged",
    );
    return { found: true as const, decision, events: [] as EventOf[] };
  }
  const reason = decision.reason ?? null;
  await tx.$executeRaw`
    UPDATE orders SET status = ${decision.to}::"OrderStatus", updated_at = now(),
      reject_reason = CASE WHEN ${decision.to}::text = 'REJECTED' THEN ${reason} ELSE reject_reason END,
      cancel_reason = CASE WHEN ${decision.to}::text = 'CANCELLED' THEN ${reason} ELSE cancel_reason END
    WHERE id = ${orderId}::uuid`;
  const { customerId } = order;
  const event =
    decision.event === "OrderConfirmed"
      ? eventCatalog.create("OrderConfirmed", orderId, { customerId }, cause)
      : eventCatalog.create(decision.event, orderId, { customerId, reason: reason! }, cause);
  return { found: true as const, decision, events: [event] as EventOf[] };
}

/** The order's status, locked like every writer of the order's events (they enter the outbox in commit order). */
async function orderStatus(tx: SqlTx, orderId: string): Promise<OrderStatus | undefined> {
  const [order] = await tx.$queryRaw<{ status: OrderStatus }[]>`
    SELECT status::text AS status FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
  return order?.status;
}

const reservationChecked = (orderId: string, orderState: OrderState, cause: EventCause) =>
  eventCatalog.create("ReservationChecked", orderId, { orderId, orderState }, cause);

async function onStockOutcome(
  tx: SqlTx,
  event: EventOf<"StockReserved"> | EventOf<"StockRejected">,
  { cause, log }: HandlerContext,
) {
  const { orderId } = event.payload;
  const command: OrderCommand =
    event.eventType === "StockReserved" ? { type: "confirm" } : { type: "reject", reason: event.payload.reason };
  const result = await applyToOrder(tx, orderId, command, cause, log);
  if (!result.found) {
    // Nothing was held for a rejection; a reservation for no order must be given back, or it leaks.
    if (event.eventType === "StockRejected") throw new PermanentError(`order ${orderId} does not exist`);
    log.warn({ orderId }, "stock reserved for an order that does not exist; telling inventory to release it");
    return [reservationChecked(orderId, "UNKNOWN", cause)];
  }
  // A reservation for a REJECTED or CANCELLED order needs nothing here: inventory releases on the
  // OrderRejected / OrderCancelled it consumes, whichever arrives first.
  return result.events;
}

/** ReservationCheckRequested (inventory's reconciliation) → ReservationChecked with what this module knows. */
async function onReservationCheck(tx: SqlTx, event: EventOf<"ReservationCheckRequested">, { cause }: HandlerContext) {
  const { orderId } = event.payload;
  return [reservationChecked(orderId, answerReservationCheck(await orderStatus(tx, orderId)), cause)];
}

/** Consumer group `orders`: the order saga, turning inventory outcomes into order state. */
export const orderSagaWorker = defineConsumer(contract, {
  group: "orders",
  streams: ["inventory"],
  handlers: {
    StockReserved: onStockOutcome,
    StockRejected: onStockOutcome,
    ReservationCheckRequested: onReservationCheck,
  },
});
