import { defineModule } from "../../platform/module.ts";
import { registerProductSchema } from "./graphql.ts";

/** Products: the catalog (prices and availability). Publishes no events. */
export const productsModule = defineModule({
  name: "products",
  events: {},
  consumers: [],
  registerSchema: registerProductSchema,
});
