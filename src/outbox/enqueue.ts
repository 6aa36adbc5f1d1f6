import type { Tx } from "../infra/database.ts";
import type { AnyEnvelope } from "../events/envelope.ts";
import { streamFor } from "../events/stream-entry.ts";
import { laneOf } from "../events/lanes.ts";
import { inSpan } from "../observability/tracing.ts";

/**
 * Records events in the outbox inside the caller's transaction: they are published if and only if
 * the state change that produced them commits. Nothing in the app publishes to Redis directly.
 */
export async function appendToOutbox(tx: Tx, events: AnyEnvelope[]): Promise<void> {
  if (events.length === 0) return;
  // A span of the trace that caused these events (their traceparent): request → outbox write.
  const attributes = { "outbox.events": events.length, "outbox.event_types": events.map((e) => e.eventType).join(",") };
  await inSpan("outbox write", events[0]!.traceparent, { attributes }, () => writeRows(tx, events));
}

async function writeRows(tx: Tx, events: AnyEnvelope[]): Promise<void> {
  await tx.outboxEvent.createMany({
    data: events.map((e) => ({
      eventId: e.eventId,
      stream: streamFor(e),
      lane: laneOf(e.aggregateId),
      aggregateType: e.aggregateType,
      aggregateId: e.aggregateId,
      eventType: e.eventType,
      envelope: e as object,
    })),
  });
}
