import { EnvelopeError } from "../events/envelope.ts";
import { PermanentError } from "./types.ts";
import { backoffDelay } from "../shared/backoff.ts";

/** Why an entry went to the dead-letter stream. */
export type DeadLetterReason =
  | "invalid-envelope"
  | "unknown-event-type"
  | "unknown-version"
  | "invalid-payload"
  | "permanent-error"
  | "max-deliveries-exceeded";

export type FailureDecision =
  { action: "retry"; delayMs: number } | { action: "dead-letter"; reason: DeadLetterReason };

export interface RetryLimits {
  maxDeliveries: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/**
 * What to do with an entry whose processing failed, given how often it has been delivered.
 * Infrastructure outages (database or Redis unreachable) are retried forever: an outage must
 * never push good events into the dead-letter stream.
 */
export function decideFailure(
  err: unknown,
  deliveries: number,
  limits: RetryLimits,
  isInfrastructure: (err: unknown) => boolean,
): FailureDecision {
  if (err instanceof EnvelopeError) return { action: "dead-letter", reason: err.reason };
  if (err instanceof PermanentError) return { action: "dead-letter", reason: "permanent-error" };
  if (isInfrastructure(err))
    return { action: "retry", delayMs: backoffDelay(Math.min(deliveries, 8), limits.retryBaseMs, limits.retryMaxMs) };
  if (deliveries >= limits.maxDeliveries) return { action: "dead-letter", reason: "max-deliveries-exceeded" };
  return { action: "retry", delayMs: backoffDelay(deliveries, limits.retryBaseMs, limits.retryMaxMs) };
}

/**
 * A failure the policy sends to the dead-letter stream: thrown by the retry middleware, caught by
 * the poison middleware (Watermill's PoisonQueue, whose filter is "was this decided poison").
 */
export class Poisoned extends Error {
  override name = "Poisoned";
  constructor(
    readonly reason: DeadLetterReason,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
