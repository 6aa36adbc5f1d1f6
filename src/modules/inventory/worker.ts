import { defineConsumer } from "../../platform/consumers/types.ts";
import { contract } from "../../contracts/index.ts";
import { onOrderConfirmed, onOrderRejected, onReservationChecked, releaseStock, reserveStock } from "./service.ts";

/**
 * Consumer group `inventory`: reserves stock for new orders and releases it for cancelled ones; it
 * also follows every order outcome (and the orders module's answers to its checks), so stock never
 * stays reserved for an order that is not pending or confirmed.
 */
export const inventoryWorker = defineConsumer(contract, {
  group: "inventory",
  streams: ["orders"],
  handlers: {
    OrderCreated: reserveStock,
    OrderCancelled: releaseStock,
    OrderConfirmed: onOrderConfirmed,
    OrderRejected: onOrderRejected,
    ReservationChecked: onReservationChecked,
  },
});
