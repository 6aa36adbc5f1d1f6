import { sql, join, empty, type Sql } from "../../generated/prisma/internal/prismaNamespace.ts";
import type { SqlTx } from "../infra/sql-transaction.ts";
import type { Envelope } from "../events/envelope.ts";
import type { EventRegistry } from "../events/registry.ts";
import { fnv1a, OUTBOX_LANES } from "../events/lanes.ts";
import { inSpan } from "../observability/tracing.ts";

/** Knows which stream each event type travels on: the registry, or the typed contract built on it. */
type Streams = Pick<EventRegistry, "streamOf">;

/**
 * Records events in the outbox inside the caller's transaction: they are published if and only if
 * the state change that produced them commits. Nothing in the app publishes to Redis directly.
 */
export async function appendToOutbox(tx: SqlTx, streams: Streams, events: readonly Envelope[]): Promise<void> {
  if (events.length === 0) return;
  await inOutboxSpan(events, () => tx.$executeRaw(outboxInsert(streams, events)));
}

/** A span of the trace that caused these events (their traceparent): request → outbox write. */
export function inOutboxSpan<T>(events: readonly Envelope[], write: () => Promise<T>): Promise<T> {
  const attributes = { "outbox.events": events.length, "outbox.event_types": events.map((e) => e.eventType).join(",") };
  return inSpan("outbox write", events[0]!.traceparent, { attributes }, write);
}

/**
 * `INSERT INTO outbox …` for these events (at least one), as one statement: on its own inside a
 * transaction, or as a data-modifying CTE of a larger statement (createOrder), where `onlyIf`
 * makes the rows depend on the rest of that statement.
 */
export function outboxInsert(streams: Streams, events: readonly Envelope[], onlyIf?: Sql): Sql {
  const rows = events.map((e) => {
    const hash = fnv1a(e.aggregateId);
    return sql`(${e.eventId}::uuid, ${streams.streamOf(e.eventType)}, ${hash % OUTBOX_LANES}::smallint, ${hash}::bigint, ${e.aggregateType}, ${e.aggregateId}, ${e.eventType}, ${JSON.stringify(e)}::jsonb)`;
  });
  return sql`INSERT INTO outbox (event_id, stream, lane, agg_hash, aggregate_type, aggregate_id, event_type, envelope)
    SELECT * FROM (VALUES ${join(rows)}) AS event ${onlyIf ? sql`WHERE ${onlyIf}` : empty}`;
}
