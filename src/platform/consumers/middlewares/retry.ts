import type { Logger } from "../../observability/logger.ts";
import { isInfrastructureError } from "../../shared/infrastructure-errors.ts";
import { decideFailure, Poisoned, type RetryLimits } from "../failure-policy.ts";
import { failureContext, type Message, type Middleware } from "../message.ts";

export interface RetryOptions extends RetryLimits {
  group: string;
  log: Logger;
  /** Outages (database or Redis unreachable) are retried forever; defaults to the platform's classification. */
  isInfrastructure?: (err: unknown) => boolean;
}

/**
 * Applies the failure policy to a delivery that failed: either it is tried again after a backoff
 * (`retry`: recorded on the message, the router re-takes the entry with XCLAIM when it is due and,
 * on an outage, pauses its reads for as long so as not to pull more work into it), or it can never
 * succeed and is thrown on as {@link Poisoned} for the poison middleware.
 */
export function retry<M extends Message>({
  group,
  log,
  isInfrastructure = isInfrastructureError,
  ...limits
}: RetryOptions): Middleware<M> {
  return (next) => async (msg) => {
    try {
      return await next(msg);
    } catch (err) {
      const decision = decideFailure(err, msg.deliveries, limits, isInfrastructure);
      if (decision.action === "dead-letter") throw new Poisoned(decision.reason, err);
      msg.retry = { reason: isInfrastructure(err) ? "infrastructure" : "handler-error", delayMs: decision.delayMs };
      log.warn({ ...failureContext(group, msg, err), retryInMs: decision.delayMs }, "event failed; will retry");
      return "retry";
    }
  };
}
