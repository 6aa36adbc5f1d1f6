import type { EventSpecs } from "./events/registry.ts";
import type { ConsumerDefinition } from "./consumers/types.ts";
import type { Builder } from "./graphql/builder.ts";

/**
 * What a feature module plugs into the platform: the events it publishes (it owns their schemas),
 * the consumers it runs, and its GraphQL types and fields. The composition root (src/app.ts,
 * src/schema.ts) loops over the module list; the platform never names a module.
 */
export interface Module {
  name: string;
  events: EventSpecs;
  // `any`: each consumer is typed over its own contract; the router only needs its shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  consumers: readonly ConsumerDefinition<any>[];
  registerSchema(builder: Builder): void;
}

export const defineModule = (module: Module): Module => module;
