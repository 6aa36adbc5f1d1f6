import type { Database } from "../../platform/infra/database.ts";
import type { SqlTx } from "../../platform/infra/sql-transaction.ts";
import type { EventCause } from "../../platform/events/envelope.ts";
import { eventCatalog, type EventOf, type OrderState } from "../../contracts/index.ts";
import type { HandlerContext } from "../../platform/consumers/types.ts";
import { appendToOutbox } from "../../platform/outbox/enqueue.ts";
import { AppError, badInput } from "../../platform/shared/errors.ts";
import {
  decideAdjust,
  decideOnOrderState,
  decideRelease,
  decideReserve,
  type Line,
  type ReleaseDecision,
  type ReservationStatus,
  type Stock,
} from "./decide.ts";
import { ORPHAN_RESERVATIONS_RELEASED } from "./metrics.ts";

/**
 * Takes this order's reservation row, creating it if needed, and locks it: every handler for one
 * order serialises here, whatever order its events arrive in and however many workers run. One
 * statement: ON CONFLICT DO UPDATE locks an existing row as FOR UPDATE would (the SET is a no-op).
 */
async function lockReservation(tx: SqlTx, orderId: string): Promise<ReservationStatus> {
  const [row] = await tx.$queryRaw<{ status: ReservationStatus }[]>`
    INSERT INTO reservations (order_id) VALUES (${orderId}::uuid)
    ON CONFLICT (order_id) DO UPDATE SET status = reservations.status
    RETURNING status::text AS status`;
  return row!.status;
}

/** What this order holds; read after lockReservation, so no other handler is changing it. */
async function reservedItems(tx: SqlTx, orderId: string): Promise<Line[]> {
  return tx.$queryRaw<
    Line[]
  >`SELECT sku, quantity FROM reservation_items WHERE order_id = ${orderId}::uuid ORDER BY sku`;
}

/** Locks stock rows in sku order: two orders sharing skus always lock in the same order (no deadlock). */
async function lockStock(tx: SqlTx, skus: string[]): Promise<Map<string, Stock>> {
  const rows = await tx.$queryRaw<{ sku: string; onHand: number; reserved: number }[]>`
    SELECT sku, on_hand AS "onHand", reserved FROM stock_levels WHERE sku = ANY(${skus}::text[]) ORDER BY sku FOR UPDATE`;
  return new Map(rows.map((r) => [r.sku, { onHand: r.onHand, reserved: r.reserved }]));
}

/**
 * One statement for the whole effect on locked rows: stock reserved (+) or given back (−), the
 * order's reservation lines recorded (on reserve), and the reservation's new status.
 */
async function applyReservation(
  tx: SqlTx,
  orderId: string,
  items: Line[],
  sign: 1 | -1,
  status: ReservationStatus,
  reason: string | null,
): Promise<void> {
  await tx.$executeRaw`
    WITH line (sku, quantity) AS (SELECT * FROM unnest(${items.map((i) => i.sku)}::text[], ${items.map((i) => i.quantity)}::int[])),
    stock AS (
      UPDATE stock_levels s SET reserved = s.reserved + ${sign}::int * line.quantity, updated_at = now() FROM line WHERE s.sku = line.sku
    ),
    held AS (
      INSERT INTO reservation_items (order_id, sku, quantity) SELECT ${orderId}::uuid, sku, quantity FROM line WHERE ${sign}::int = 1
    )
    UPDATE reservations SET status = ${status}::"ReservationStatus", reason = coalesce(${reason}, reason), updated_at = now()
    WHERE order_id = ${orderId}::uuid`;
}

/** OrderCreated → reserve every line or none → StockReserved | StockRejected. */
export async function reserveStock(
  tx: SqlTx,
  event: EventOf<"OrderCreated">,
  { cause, log }: HandlerContext,
): Promise<EventOf[]> {
  const orderId = event.aggregateId;
  const status = await lockReservation(tx, orderId);
  const lines = event.payload.items.map(({ sku, quantity }) => ({ sku, quantity }));
  const decision = decideReserve(status, lines, await lockStock(tx, [...lines.map((l) => l.sku)].sort()));
  switch (decision.outcome) {
    case "unchanged":
      log.info({ orderId, why: decision.why }, "reservation unchanged");
      return [];
    case "reject":
      await applyReservation(tx, orderId, [], 1, "REJECTED", decision.reason);
      return [
        eventCatalog.create(
          "StockRejected",
          orderId,
          { orderId, reason: decision.reason, shortSkus: decision.shortSkus },
          cause,
        ),
      ];
    case "reserve":
      await applyReservation(tx, orderId, decision.items, 1, "RESERVED", null);
      return [eventCatalog.create("StockReserved", orderId, { orderId, items: decision.items }, cause)];
  }
}

/**
 * Applies a release decision to a locked reservation: give back exactly what it holds
 * (→ StockReleased), or tombstone it so a late OrderCreated reserves nothing.
 */
async function applyRelease(
  tx: SqlTx,
  orderId: string,
  decision: ReleaseDecision,
  reason: string,
  { cause, log }: HandlerContext,
): Promise<EventOf[]> {
  switch (decision.outcome) {
    case "unchanged":
      log.info({ orderId, why: decision.why }, "nothing to release");
      return [];
    case "tombstone":
      await applyReservation(tx, orderId, [], -1, "RELEASED", reason);
      return [eventCatalog.create("StockReleased", orderId, { orderId, items: [] }, cause)];
    case "release":
      await lockStock(
        tx,
        decision.items.map((i) => i.sku),
      );
      await applyReservation(tx, orderId, decision.items, -1, "RELEASED", reason);
      return [eventCatalog.create("StockReleased", orderId, { orderId, items: decision.items }, cause)];
  }
}

/** OrderCancelled → give back exactly what this order reserved → StockReleased. */
export async function releaseStock(
  tx: SqlTx,
  event: EventOf<"OrderCancelled">,
  ctx: HandlerContext,
): Promise<EventOf[]> {
  const orderId = event.aggregateId;
  const status = await lockReservation(tx, orderId);
  const decision = decideRelease(status, status === "RESERVED" ? await reservedItems(tx, orderId) : []);
  const reason = decision.outcome === "tombstone" ? "cancelled before stock was reserved" : event.payload.reason;
  return applyRelease(tx, orderId, decision, reason, ctx);
}

/**
 * What inventory learned of an order's state (OrderRejected, or the orders module's answer
 * ReservationChecked) applied to its reservation: CONFIRMED verifies it, PENDING keeps it, anything
 * else releases it. Stock released here was held for an order that could not take it: an orphan,
 * counted and logged.
 */
async function learnOrderState(
  tx: SqlTx,
  orderId: string,
  orderState: OrderState,
  ctx: HandlerContext,
): Promise<EventOf[]> {
  const status = await lockReservation(tx, orderId);
  const decision = decideOnOrderState(
    orderState,
    status,
    status === "RESERVED" ? await reservedItems(tx, orderId) : [],
  );
  switch (decision.outcome) {
    case "unchanged":
      ctx.log.info({ orderId, orderState, why: decision.why }, "reservation unchanged");
      return [];
    case "verify":
      await tx.$executeRaw`UPDATE reservations SET verified_at = now() WHERE order_id = ${orderId}::uuid`;
      return [];
    case "release": {
      const release = decision.decision;
      if (release.outcome === "release") {
        ctx.log.warn(
          { orderId, orderState, items: release.items },
          "orphan reservation released: stock was held for an order that is not pending or confirmed",
        );
        ctx.count(ORPHAN_RESERVATIONS_RELEASED, { order_state: orderState });
      }
      return applyRelease(tx, orderId, release, `order is ${orderState}`, ctx);
    }
  }
}

/** OrderRejected: nothing is held for a rejected order, unless a stray reservation slipped in; release it. */
export const onOrderRejected = (tx: SqlTx, event: EventOf<"OrderRejected">, ctx: HandlerContext) =>
  learnOrderState(tx, event.aggregateId, "REJECTED", ctx);

/** ReservationChecked: the orders module's word on an order inventory holds (or was about to hold) stock for. */
export const onReservationChecked = (tx: SqlTx, event: EventOf<"ReservationChecked">, ctx: HandlerContext) =>
  learnOrderState(tx, event.payload.orderId, event.payload.orderState, ctx);

/**
 * OrderConfirmed: the reservation is legitimate; the reconciliation stops asking about it. One
 * statement, no lock: it only ever sets verified_at on a RESERVED row.
 */
export async function onOrderConfirmed(
  tx: SqlTx,
  event: EventOf<"OrderConfirmed">,
  { log }: HandlerContext,
): Promise<EventOf[]> {
  const orderId = event.aggregateId;
  const verified = await tx.$executeRaw`
    UPDATE reservations SET verified_at = now() WHERE order_id = ${orderId}::uuid AND status = 'RESERVED'`;
  if (verified === 0) log.warn({ orderId }, "order confirmed, but inventory holds no stock for it");
  return [];
}

export const MAX_RESTOCK = 100_000;

/** Adds stock (a delivery arrived) → StockAdjusted. */
export async function restock(db: Pick<Database, "transaction">, sku: string, quantity: number, cause: EventCause) {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_RESTOCK)
    throw badInput("quantity", `must be a whole number from 1 to ${MAX_RESTOCK}`);
  return db.transaction(async (tx) => {
    const stock = (await lockStock(tx, [sku])).get(sku);
    if (!stock) throw new AppError("NOT_FOUND", `sku "${sku}" not found`, { field: "sku" });
    const decision = decideAdjust(stock, quantity);
    if (decision.outcome === "refused") throw new AppError("CONFLICT", decision.why);
    await tx.$executeRaw`UPDATE stock_levels SET on_hand = ${decision.onHand}::int, updated_at = now() WHERE sku = ${sku}`;
    await appendToOutbox(tx, eventCatalog, [
      eventCatalog.create(
        "StockAdjusted",
        sku,
        { sku, delta: quantity, onHand: decision.onHand, reason: "restock" },
        cause,
      ),
    ]);
    return { sku, onHand: decision.onHand, reserved: stock.reserved };
  });
}
