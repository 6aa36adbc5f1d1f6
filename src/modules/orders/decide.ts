import type { OrderState } from "../../contracts/index.ts";

/**
 * The order state machine, as a pure function: given the current status and what happened, decide
 * the transition (and the event it emits), a harmless repeat, or a refusal. No I/O here.
 *
 *   PENDING ──StockReserved──▶ CONFIRMED ──cancel──▶ CANCELLED
 *      │ └────StockRejected──▶ REJECTED                 ▲
 *      └──────────────cancel────────────────────────────┘
 */
export type OrderStatus = "PENDING" | "CONFIRMED" | "REJECTED" | "CANCELLED";

export type OrderCommand =
  { type: "confirm" } | { type: "reject"; reason: string } | { type: "cancel"; reason: string };

export type OrderDecision =
  | {
      outcome: "transition";
      to: OrderStatus;
      event: "OrderConfirmed" | "OrderRejected" | "OrderCancelled";
      reason?: string;
    }
  /** Already in the state this command leads to (a redelivery): nothing to do. */
  | { outcome: "unchanged"; why: string }
  /** Illegal in this state: never applied. */
  | { outcome: "refused"; why: string };

export function decideOrder(status: OrderStatus, command: OrderCommand): OrderDecision {
  switch (command.type) {
    case "confirm":
      if (status === "PENDING") return { outcome: "transition", to: "CONFIRMED", event: "OrderConfirmed" };
      if (status === "CONFIRMED") return { outcome: "unchanged", why: "order is already CONFIRMED" };
      return { outcome: "refused", why: `cannot confirm an order that is ${status}` };
    case "reject":
      if (status === "PENDING")
        return { outcome: "transition", to: "REJECTED", event: "OrderRejected", reason: command.reason };
      if (status === "REJECTED") return { outcome: "unchanged", why: "order is already REJECTED" };
      return { outcome: "refused", why: `cannot reject an order that is ${status}` };
    case "cancel":
      if (status === "PENDING" || status === "CONFIRMED")
        return { outcome: "transition", to: "CANCELLED", event: "OrderCancelled", reason: command.reason };
      return { outcome: "refused", why: `order is ${status}; only PENDING or CONFIRMED orders can be cancelled` };
  }
}

export const isTerminal = (status: OrderStatus) => status === "REJECTED" || status === "CANCELLED";

/** What inventory is told about an order it holds stock for: its status, or UNKNOWN if there is no such order. */
export const answerReservationCheck = (status: OrderStatus | undefined): OrderState => status ?? "UNKNOWN";
