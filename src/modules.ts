import { EventRegistry } from "./platform/events/registry.ts";
import type { Module } from "./platform/module.ts";
import { productsModule } from "./modules/products/index.ts";
import { ordersModule } from "./modules/orders/index.ts";
import { inventoryModule } from "./modules/inventory/index.ts";

/** Every feature module this service runs: app.ts and schema.ts loop over this list. */
export const modules: readonly Module[] = [productsModule, ordersModule, inventoryModule];

/** The event catalog of the running modules, built once. */
export const eventRegistry = EventRegistry.merge(modules.map((m) => m.events));

/** Every consumer group, with the module that runs it (the role of the same name). */
export const consumers = modules.flatMap((m) => m.consumers);
