import { defineModule } from "../../platform/module.ts";
import { orderEvents } from "../../contracts/index.ts";
import { orderSagaWorker } from "./saga.ts";
import { registerOrderSchema } from "./graphql.ts";
import { registerOrderEventSchema } from "./graphql-events.ts";

/** Orders: placing and cancelling orders, the order saga, order events live and as history. */
export const ordersModule = defineModule({
  name: "orders",
  events: orderEvents,
  consumers: [orderSagaWorker],
  registerSchema(builder) {
    registerOrderSchema(builder);
    registerOrderEventSchema(builder);
  },
});
