import type { SqlTx } from "../infra/sql-transaction.ts";
import type { AnyEnvelope, EventCause } from "../events/envelope.ts";
import type { EventType, StreamName } from "../../contracts/catalog.ts";
import type { Logger } from "../observability/logger.ts";

export interface HandlerContext {
  /** Trace, correlation and causation for the events this handler emits (a child of the incoming trace). */
  cause: EventCause;
  log: Logger;
}

/**
 * Applies one event inside the pipeline's transaction and returns the events it causes; the
 * pipeline writes those to the outbox and the inbox row in the same transaction.
 */
export type Handler<T extends EventType = EventType> = (tx: SqlTx, event: Extract<AnyEnvelope, { eventType: T }>, ctx: HandlerContext) => Promise<AnyEnvelope[]>;

export interface ConsumerDefinition {
  /** Consumer group name; also the inbox's consumer key (dedupe is per group, not per process). */
  group: string;
  streams: StreamName[];
  handlers: { [T in EventType]?: Handler<T> };
}

/** A failure that retrying cannot fix (e.g. an event referring to an order that does not exist). */
export class PermanentError extends Error {
  override name = "PermanentError";
}
