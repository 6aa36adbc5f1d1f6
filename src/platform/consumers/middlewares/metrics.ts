import type { Metrics } from "../../observability/metrics.ts";
import type { Message, Middleware, Outcome } from "../message.ts";

/** What a consumer has done since it started (its deliveries by outcome, and entries it took over). */
export interface ConsumerStats {
  handled: number;
  duplicates: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  claimed: number;
}

const COUNTED_AS = {
  handled: "handled",
  duplicate: "duplicates",
  skipped: "skipped",
  retry: "retried",
  "dead-letter": "deadLettered",
} as const satisfies Record<Outcome, keyof ConsumerStats>;

export interface MetricsOptions {
  group: string;
  stats: ConsumerStats;
  metrics?: Metrics;
  /** Whether a type is declared: poison may carry any type, and unknown ones share one label value. */
  known: (type: string) => boolean;
}

/**
 * Counts each delivery by outcome and records how long it took, from the moment the router hands
 * it over to its acknowledgement (consumer_processing_duration_seconds); counts retries and dead
 * letters by reason. A delivery that ends in an error (the router backs off) is not counted.
 */
export function metrics<M extends Message>({ group, stats, metrics, known }: MetricsOptions): Middleware<M> {
  return (next) => async (msg) => {
    const started = performance.now();
    const outcome = await next(msg);
    stats[COUNTED_AS[outcome]]++;
    if (metrics) {
      if (msg.retry) metrics.consumerRetries.inc({ group, reason: msg.retry.reason });
      if (msg.deadLetter) metrics.deadLetters.inc({ group, reason: msg.deadLetter.reason });
      const eventType = known(msg.entry.type) ? msg.entry.type : "invalid";
      metrics.consumerDuration.observe({ group, event_type: eventType, outcome }, (performance.now() - started) / 1000);
    }
    return outcome;
  };
}
