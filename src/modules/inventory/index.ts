import { defineModule } from "../../platform/module.ts";
import { inventoryEvents } from "../../contracts/index.ts";
import { inventoryWorker } from "./worker.ts";
import { registerInventorySchema } from "./graphql.ts";
import { reservationReconciliation } from "./reconciliation.ts";

/** Inventory: stock reserved and released for orders (and orphans reconciled), restocks, stock events live and as history. */
export const inventoryModule = defineModule({
  name: "inventory",
  events: inventoryEvents,
  consumers: [inventoryWorker],
  registerSchema: registerInventorySchema,
  roles: (runtime) => [reservationReconciliation(runtime)],
});
