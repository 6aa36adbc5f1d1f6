import { z } from "zod";
import { parseTraceparent, type TraceContext } from "../observability/trace.ts";

/**
 * The envelope every event travels in, on the outbox row, the stream entry and the subscriber.
 * Its payload is typed per event type by the module that declares it (see registry.ts).
 */
export const envelopeSchema = z.object({
  eventId: z.uuid(),
  eventType: z.string().min(1),
  aggregateType: z.string().min(1).max(64),
  aggregateId: z.string().min(1).max(64),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime(),
  traceparent: z.string().refine((v) => parseTraceparent(v) !== undefined, "not a W3C traceparent"),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).nullable(),
  payload: z.unknown(),
});

export type Envelope<T extends string = string, P = unknown> = Omit<
  z.output<typeof envelopeSchema>,
  "eventType" | "payload"
> & {
  eventType: T;
  payload: P;
};

/** Why an envelope can never be processed; the dead-letter reason (see DESIGN.md). */
export type EnvelopeProblem = "invalid-envelope" | "unknown-event-type" | "unknown-version" | "invalid-payload";

export class EnvelopeError extends Error {
  override name = "EnvelopeError";
  constructor(
    readonly reason: EnvelopeProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface EventCause {
  trace: TraceContext;
  /** The request or workflow this event belongs to; defaults to the aggregate id. */
  correlationId?: string;
  /** The event that caused this one, if any. */
  causationId?: string | null;
}
