import type { CounterSpec } from "../../platform/observability/metrics.ts";

/** Stock released because it was held for an order that is not pending or confirmed (see learnOrderState). */
export const ORPHAN_RESERVATIONS_RELEASED: CounterSpec<"order_state"> = {
  name: "inventory_orphan_reservations_released_total",
  help: "Reservations released because their order could not take the stock: order_state REJECTED, CANCELLED (inventory missed the cancel) or UNKNOWN (no such order). Each is also logged as 'orphan reservation released'.",
  labelNames: ["order_state"],
};

/** Reservations the reconciliation asked the orders module about (held past the grace period, never confirmed). */
export const RESERVATION_CHECKS_REQUESTED: CounterSpec = {
  name: "inventory_reservation_checks_requested_total",
  help: "Reservations held past RECONCILE_GRACE_MS for an order inventory has not seen confirmed, checked with the orders module (ReservationCheckRequested).",
  labelNames: [],
};
