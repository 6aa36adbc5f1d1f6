import { defineConsumer } from "../../platform/consumers/types.ts";
import { contract } from "../../contracts/index.ts";
import { releaseStock, reserveStock } from "./service.ts";

/** Consumer group `inventory`: reacts to order events by reserving and releasing stock. */
export const inventoryWorker = defineConsumer(contract, {
  group: "inventory",
  streams: ["orders"],
  handlers: { OrderCreated: reserveStock, OrderCancelled: releaseStock },
});
