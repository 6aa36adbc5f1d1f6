import type { EventSpecs } from "./events/registry.ts";
import type { ConsumerDefinition } from "./consumers/types.ts";
import type { Builder } from "./graphql/builder.ts";
import type { Database } from "./infra/database.ts";
import type { Logger } from "./observability/logger.ts";
import type { Metrics } from "./observability/metrics.ts";
import type { Role } from "./roles.ts";

/** What a module's own roles are built from, in a process that runs the module's consumer group. */
export interface ModuleRuntime {
  db: Database;
  log: Logger;
  metrics: Metrics;
  /** Periodic checks of a module's state against the rest of the system. */
  reconciliation: { intervalMs: number; graceMs: number };
}

/**
 * What a feature module plugs into the platform: the events it publishes (it owns their schemas),
 * the consumers it runs, its GraphQL types and fields, and roles of its own. The composition root
 * (src/app.ts, src/schema.ts) loops over the module list; the platform never names a module.
 */
export interface Module {
  name: string;
  events: EventSpecs;
  // `any`: each consumer is typed over its own contract; the router only needs its shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  consumers: readonly ConsumerDefinition<any>[];
  registerSchema(builder: Builder): void;
  /** Background roles of the module (reconciliation chores), run beside its consumer group. */
  roles?(runtime: ModuleRuntime): Role[];
}

export const defineModule = (module: Module): Module => module;
