import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { createBuilder } from "./platform/graphql/builder.ts";
import { registerAdminSchema } from "./platform/graphql/admin/index.ts";
import { eventRegistry, modules } from "./modules.ts";

/** The API: every module's types and fields, then the operators' fields over the declared streams. */
function buildSchema(): GraphQLSchema {
  const builder = createBuilder();
  for (const module of modules) module.registerSchema(builder);
  registerAdminSchema(builder, eventRegistry.streams);
  return builder.toSchema({ sortSchema: true });
}

export const schema = buildSchema();

/** The SDL committed as schema.graphql (checked by a test). */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
