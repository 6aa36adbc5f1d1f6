import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.ts";
// Each feature registers its types and fields on the builder when imported.
import "../products/graphql.ts";
import "../orders/graphql.ts";
import "../orders/graphql-events.ts";
import "../inventory/graphql.ts";
import "../consumers/graphql.ts";
import "../observability/system-status.ts";

export const schema = builder.toSchema({ sortSchema: true });

/** The SDL committed as schema.graphql (checked by a test). */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
