import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./platform/graphql/builder.ts";
// Each feature registers its types and fields on the builder when imported.
import "./modules/products/graphql.ts";
import "./modules/orders/graphql.ts";
import "./modules/orders/graphql-events.ts";
import "./modules/inventory/graphql.ts";
import "./platform/graphql/admin/dead-letters.ts";
import "./platform/graphql/admin/system-status.ts";

export const schema = builder.toSchema({ sortSchema: true });

/** The SDL committed as schema.graphql (checked by a test). */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
