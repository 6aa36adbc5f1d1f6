import { z } from "zod";
import { v7 as uuidv7 } from "uuid";
import { isEventType, payloadSchemas, type EventType, type PayloadOf, LATEST_VERSION } from "../../contracts/catalog.ts";
import { formatTraceparent, parseTraceparent, type TraceContext } from "../observability/trace.ts";

/** The envelope every event travels in, on the outbox row, the stream entry and the subscriber. */
export const envelopeSchema = z.object({
  eventId: z.uuid(),
  eventType: z.string().min(1),
  aggregateType: z.enum(["Order", "Stock"]),
  aggregateId: z.string().min(1).max(64),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime(),
  traceparent: z.string().refine((v) => parseTraceparent(v) !== undefined, "not a W3C traceparent"),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).nullable(),
  payload: z.unknown(),
});

export type Envelope<T extends EventType = EventType> = Omit<z.output<typeof envelopeSchema>, "eventType" | "payload"> & {
  eventType: T;
  payload: PayloadOf<T>;
};
export type AnyEnvelope = { [T in EventType]: Envelope<T> }[EventType];

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

/** Validates an envelope from any source (outbox, stream, replay). Throws EnvelopeError with the reason. */
export function parseEnvelope(input: unknown): AnyEnvelope {
  const base = envelopeSchema.safeParse(input);
  if (!base.success) throw new EnvelopeError("invalid-envelope", z.prettifyError(base.error));
  const { eventType, version, payload } = base.data;
  if (!isEventType(eventType)) throw new EnvelopeError("unknown-event-type", `unknown event type "${eventType}"`);
  const schema = (payloadSchemas[eventType] as Record<number, z.ZodType>)[version];
  if (!schema) throw new EnvelopeError("unknown-version", `${eventType} has no schema version ${version}`);
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new EnvelopeError("invalid-payload", `${eventType}: ${z.prettifyError(parsed.error)}`);
  return { ...base.data, payload: parsed.data } as AnyEnvelope;
}

export interface EventCause {
  trace: TraceContext;
  /** The request or workflow this event belongs to; defaults to the aggregate id. */
  correlationId?: string;
  /** The event that caused this one, if any. */
  causationId?: string | null;
}

const AGGREGATE_TYPE: Record<EventType, "Order" | "Stock"> = {
  OrderCreated: "Order",
  OrderConfirmed: "Order",
  OrderRejected: "Order",
  OrderCancelled: "Order",
  StockReserved: "Order",
  StockRejected: "Order",
  StockReleased: "Order",
  StockAdjusted: "Stock",
};

/** Builds a new, validated envelope (UUID v7 id, so ids sort by creation time). */
export function newEvent<T extends EventType>(
  eventType: T,
  aggregateId: string,
  payload: PayloadOf<T>,
  cause: EventCause,
  now: Date = new Date(),
): Envelope<T> {
  const envelope = {
    eventId: uuidv7(),
    eventType,
    aggregateType: AGGREGATE_TYPE[eventType],
    aggregateId,
    version: LATEST_VERSION,
    occurredAt: now.toISOString(),
    traceparent: formatTraceparent(cause.trace),
    correlationId: cause.correlationId ?? aggregateId,
    causationId: cause.causationId ?? null,
    payload,
  };
  return parseEnvelope(envelope) as Envelope<T>;
}
