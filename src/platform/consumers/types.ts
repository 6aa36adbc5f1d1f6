import type { SqlTx } from "../infra/sql-transaction.ts";
import type { Envelope, EventCause } from "../events/envelope.ts";
import type { EnvelopeOf, EventSpecs, StreamName } from "../events/registry.ts";
import type { Logger } from "../observability/logger.ts";
import type { CounterSpec } from "../observability/metrics.ts";

export interface HandlerContext {
  /** Trace, correlation and causation for the events this handler emits (a child of the incoming trace). */
  cause: EventCause;
  log: Logger;
  /** Counts a module's own metric once the handler's transaction commits (a rolled-back attempt counts nothing). */
  count<L extends string>(metric: CounterSpec<L>, labels?: Partial<Record<L, string>>): void;
}

/**
 * Applies one event inside the router's transaction and returns the events it causes; the
 * router's middlewares write those to the outbox and the inbox row in the same transaction.
 */
export type Handler<E extends Envelope = Envelope> = (tx: SqlTx, event: E, ctx: HandlerContext) => Promise<Envelope[]>;

/** A handler per event type of the contract `S`, each receiving that type's envelope. */
export type Handlers<S extends EventSpecs> = { [T in keyof S & string]?: Handler<EnvelopeOf<S, T>> };

export interface ConsumerDefinition<S extends EventSpecs = EventSpecs> {
  /** Consumer group name; also the inbox's consumer key (dedupe is per group, not per process). */
  group: string;
  streams: StreamName[];
  handlers: Handlers<S>;
  /** The event specs the handlers are typed over; the router validates what it hands them against these. */
  contract: S;
}

/** Declares a consumer over the event contract `S`: its handlers' envelopes are typed from it. */
export const defineConsumer = <S extends EventSpecs>(
  contract: S,
  definition: Omit<ConsumerDefinition<S>, "contract">,
): ConsumerDefinition<S> => ({
  ...definition,
  contract,
});

/** A failure that retrying cannot fix (e.g. an event referring to an order that does not exist). */
export class PermanentError extends Error {
  override name = "PermanentError";
}
