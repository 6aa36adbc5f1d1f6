import type { Envelope } from "../../events/envelope.ts";
import type { Logger } from "../../observability/logger.ts";
import { runInSpan, startSpan, SpanKind } from "../../observability/tracing.ts";
import type { Decoded, Middleware, Traced } from "../message.ts";

export interface TracingOptions {
  group: string;
  log: Logger;
}

/**
 * A consumer span, child of the span that emitted the event, around the rest of the chain: the
 * events the handler emits carry it as their parent (the cause), and its logger carries its trace
 * id. Reports what became of the event (handled, with what it emitted and how long the
 * transaction took; or a duplicate) on that logger.
 */
export function tracing<E extends Envelope>({ group, log }: TracingOptions): Middleware<Decoded<E>, Traced<E>> {
  return (next) => async (msg) => {
    const event = msg.envelope;
    const span = startSpan(`${group} process ${event.eventType}`, event.traceparent, {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "redis",
        "messaging.consumer.group.name": group,
        "messaging.message.id": event.eventId,
      },
    });
    const { trace } = span;
    const traced = Object.assign(msg, {
      cause: { trace, correlationId: event.correlationId, causationId: event.eventId },
      log: log.child({
        traceId: trace.traceId,
        eventId: event.eventId,
        eventType: event.eventType,
        aggregateId: event.aggregateId,
        group,
      }),
    });
    const started = performance.now();
    const outcome = await runInSpan(span, () => next(traced));
    if (outcome === "duplicate") traced.log.info("event already processed; skipped");
    else if (outcome === "handled")
      traced.log.info(
        { emitted: (msg.emitted ?? []).map((e) => e.eventType), ms: Math.round(performance.now() - started) },
        "event handled",
      );
    return outcome;
  };
}
