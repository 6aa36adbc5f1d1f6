import { EventRegistry, type EnvelopeOf } from "../platform/events/registry.ts";
import { orderEvents } from "./orders.ts";
import { inventoryEvents } from "./inventory.ts";

/**
 * The published language between modules: every event's schema and routing keys. Modules import
 * this (never each other) to emit and handle events with their payloads typed; the composition
 * root registers each module's own part with the platform.
 */
export const contract = { ...orderEvents, ...inventoryEvents };
export type Contract = typeof contract;
export const eventCatalog = new EventRegistry(contract);

export type EventType = keyof Contract & string;
export type EventOf<T extends EventType = EventType> = EnvelopeOf<Contract, T>;
export type PayloadOf<T extends EventType> = EventOf<T>["payload"];

export { orderEvents, inventoryEvents };
export * from "./orders.ts";
export * from "./inventory.ts";
export * from "./routing.ts";
