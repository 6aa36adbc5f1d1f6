import type { ConsumerDefinition } from "../../platform/consumers/types.ts";
import { releaseStock, reserveStock } from "./service.ts";

/** Consumer group `inventory`: reacts to order events by reserving and releasing stock. */
export const inventoryWorker: ConsumerDefinition = {
  group: "inventory",
  streams: ["orders"],
  handlers: { OrderCreated: reserveStock, OrderCancelled: releaseStock },
};
