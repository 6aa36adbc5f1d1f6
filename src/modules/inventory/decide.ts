import type { OrderState } from "../../contracts/index.ts";

/**
 * Inventory decisions, pure: reserve all lines of an order or none, and release exactly what was
 * reserved. The service locks the rows, asks these functions, and applies the answer.
 */
export type ReservationStatus = "PENDING" | "RESERVED" | "REJECTED" | "RELEASED";

export interface Line {
  sku: string;
  quantity: number;
}
export interface Stock {
  onHand: number;
  reserved: number;
}
export interface Shortage {
  sku: string;
  requested: number;
  available: number;
}

export type ReserveDecision =
  | { outcome: "reserve"; items: Line[] }
  | { outcome: "reject"; reason: string; shortSkus: Shortage[] }
  | { outcome: "unchanged"; why: string };

export const available = (s: Stock) => s.onHand - s.reserved;

export function decideReserve(
  status: ReservationStatus,
  lines: Line[],
  stock: ReadonlyMap<string, Stock>,
): ReserveDecision {
  if (status === "RESERVED" || status === "REJECTED") return { outcome: "unchanged", why: `already ${status}` };
  if (status === "RELEASED") return { outcome: "unchanged", why: "order was cancelled before stock was reserved" };
  const shortSkus = lines.flatMap((line) => {
    const s = stock.get(line.sku);
    const free = s ? available(s) : 0;
    return free >= line.quantity ? [] : [{ sku: line.sku, requested: line.quantity, available: Math.max(0, free) }];
  });
  if (shortSkus.length > 0) {
    const list = shortSkus.map((s) => `${s.sku} (requested ${s.requested}, available ${s.available})`).join(", ");
    return { outcome: "reject", reason: `insufficient stock: ${list}`, shortSkus };
  }
  return { outcome: "reserve", items: lines.map(({ sku, quantity }) => ({ sku, quantity })) };
}

export type ReleaseDecision =
  | { outcome: "release"; items: Line[] }
  /** Cancelled before the reservation was decided: remember it so a late OrderCreated reserves nothing. */
  | { outcome: "tombstone" }
  | { outcome: "unchanged"; why: string };

export function decideRelease(status: ReservationStatus, reserved: Line[]): ReleaseDecision {
  switch (status) {
    case "RESERVED":
      return { outcome: "release", items: reserved };
    case "PENDING":
      return { outcome: "tombstone" };
    case "REJECTED":
      return { outcome: "unchanged", why: "nothing was reserved (the reservation was rejected)" };
    case "RELEASED":
      return { outcome: "unchanged", why: "already released" };
  }
}

export type AdjustDecision = { outcome: "adjust"; onHand: number } | { outcome: "refused"; why: string };

/** Restock (positive) or correction (either sign): on hand may never drop below what is reserved. */
export function decideAdjust(stock: Stock, delta: number): AdjustDecision {
  const onHand = stock.onHand + delta;
  if (onHand < stock.reserved)
    return { outcome: "refused", why: `on hand would be ${onHand}, below the ${stock.reserved} reserved` };
  return { outcome: "adjust", onHand };
}

export type OrderStateDecision =
  /** The order is CONFIRMED: its reservation is legitimate; the reconciliation stops asking. */
  | { outcome: "verify" }
  /** Give back what the order holds (or tombstone it): the order cannot take stock. */
  | { outcome: "release"; decision: ReleaseDecision }
  | { outcome: "unchanged"; why: string };

/**
 * What inventory does with an order's reservation once it learns the order's state (OrderConfirmed,
 * OrderRejected, or the orders module's ReservationChecked). Stock may only stay reserved for an
 * order that is PENDING or CONFIRMED; anything else (REJECTED, CANCELLED, no such order) releases.
 */
export function decideOnOrderState(
  orderState: OrderState,
  status: ReservationStatus,
  reserved: Line[],
): OrderStateDecision {
  switch (orderState) {
    case "CONFIRMED":
      return status === "RESERVED"
        ? { outcome: "verify" }
        : { outcome: "unchanged", why: `order is CONFIRMED but its reservation is ${status}` };
    case "PENDING":
      return { outcome: "unchanged", why: "order is still PENDING; checked again later" };
    case "REJECTED":
    case "CANCELLED":
    case "UNKNOWN":
      return { outcome: "release", decision: decideRelease(status, reserved) };
  }
}
