import type { PrismaClient, Tx } from "../infra/database.ts";
import { newEvent, type AnyEnvelope, type Envelope, type EventCause } from "../events/envelope.ts";
import type { HandlerContext } from "../consumers/types.ts";
import { appendToOutbox } from "../outbox/enqueue.ts";
import { AppError, badInput } from "../errors.ts";
import { decideAdjust, decideRelease, decideReserve, type Line, type ReservationStatus, type Stock } from "./decide.ts";

/**
 * Takes this order's reservation row, creating it if needed, and locks it: every handler for one
 * order serialises here, whatever order its events arrive in and however many workers run.
 */
async function lockReservation(tx: Tx, orderId: string): Promise<{ status: ReservationStatus; items: Line[] }> {
  await tx.$executeRaw`INSERT INTO reservations (order_id) VALUES (${orderId}::uuid) ON CONFLICT DO NOTHING`;
  const [row] = await tx.$queryRaw<{ status: ReservationStatus }[]>`SELECT status::text AS status FROM reservations WHERE order_id = ${orderId}::uuid FOR UPDATE`;
  const items = await tx.reservationItem.findMany({ where: { orderId }, select: { sku: true, quantity: true }, orderBy: { sku: "asc" } });
  return { status: row!.status, items };
}

/** Locks stock rows in sku order: two orders sharing skus always lock in the same order (no deadlock). */
async function lockStock(tx: Tx, skus: string[]): Promise<Map<string, Stock>> {
  const rows = await tx.$queryRaw<{ sku: string; onHand: number; reserved: number }[]>`
    SELECT sku, on_hand AS "onHand", reserved FROM stock_levels WHERE sku = ANY(${skus}::text[]) ORDER BY sku FOR UPDATE`;
  return new Map(rows.map((r) => [r.sku, { onHand: r.onHand, reserved: r.reserved }]));
}

async function addReserved(tx: Tx, items: Line[], sign: 1 | -1): Promise<void> {
  await tx.$executeRaw`
    UPDATE stock_levels s SET reserved = s.reserved + ${sign}::int * v.quantity, updated_at = now()
    FROM unnest(${items.map((i) => i.sku)}::text[], ${items.map((i) => i.quantity)}::int[]) AS v(sku, quantity)
    WHERE s.sku = v.sku`;
}

/** OrderCreated → reserve every line or none → StockReserved | StockRejected. */
export async function reserveStock(tx: Tx, event: Envelope<"OrderCreated">, { cause, log }: HandlerContext): Promise<AnyEnvelope[]> {
  const orderId = event.aggregateId;
  const reservation = await lockReservation(tx, orderId);
  const lines = event.payload.items.map(({ sku, quantity }) => ({ sku, quantity }));
  const decision = decideReserve(reservation.status, lines, await lockStock(tx, [...lines.map((l) => l.sku)].sort()));
  switch (decision.outcome) {
    case "unchanged":
      log.info({ orderId, why: decision.why }, "reservation unchanged");
      return [];
    case "reject":
      await tx.reservation.update({ where: { orderId }, data: { status: "REJECTED", reason: decision.reason } });
      return [newEvent("StockRejected", orderId, { orderId, reason: decision.reason, shortSkus: decision.shortSkus }, cause)];
    case "reserve":
      await addReserved(tx, decision.items, 1);
      await tx.reservationItem.createMany({ data: decision.items.map((i) => ({ orderId, ...i })) });
      await tx.reservation.update({ where: { orderId }, data: { status: "RESERVED" } });
      return [newEvent("StockReserved", orderId, { orderId, items: decision.items }, cause)];
  }
}

/** OrderCancelled → give back exactly what this order reserved → StockReleased. */
export async function releaseStock(tx: Tx, event: Envelope<"OrderCancelled">, { cause, log }: HandlerContext): Promise<AnyEnvelope[]> {
  const orderId = event.aggregateId;
  const reservation = await lockReservation(tx, orderId);
  const decision = decideRelease(reservation.status, reservation.items);
  switch (decision.outcome) {
    case "unchanged":
      log.info({ orderId, why: decision.why }, "nothing to release");
      return [];
    case "tombstone":
      await tx.reservation.update({ where: { orderId }, data: { status: "RELEASED", reason: "cancelled before stock was reserved" } });
      return [newEvent("StockReleased", orderId, { orderId, items: [] }, cause)];
    case "release":
      await lockStock(tx, decision.items.map((i) => i.sku));
      await addReserved(tx, decision.items, -1);
      await tx.reservation.update({ where: { orderId }, data: { status: "RELEASED", reason: event.payload.reason } });
      return [newEvent("StockReleased", orderId, { orderId, items: decision.items }, cause)];
  }
}

export const MAX_RESTOCK = 100_000;

/** Adds stock (a delivery arrived) → StockAdjusted. */
export async function restock(prisma: PrismaClient, sku: string, quantity: number, cause: EventCause) {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_RESTOCK) throw badInput("quantity", `must be a whole number from 1 to ${MAX_RESTOCK}`);
  return prisma.$transaction(async (tx) => {
    const stock = (await lockStock(tx, [sku])).get(sku);
    if (!stock) throw new AppError("NOT_FOUND", `sku "${sku}" not found`, { field: "sku" });
    const decision = decideAdjust(stock, quantity);
    if (decision.outcome === "refused") throw new AppError("CONFLICT", decision.why);
    await tx.stockLevel.update({ where: { sku }, data: { onHand: decision.onHand } });
    await appendToOutbox(tx, [newEvent("StockAdjusted", sku, { sku, delta: quantity, onHand: decision.onHand, reason: "restock" }, cause)]);
    return { sku, onHand: decision.onHand, reserved: stock.reserved };
  });
}
