import type { SqlTx } from "../infra/sql-transaction.ts";
import type { Envelope } from "../events/envelope.ts";
import type { EnvelopeOf, EventSpecs } from "../events/registry.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { InTransaction, Next, Traced } from "./message.ts";
import { PermanentError, type HandlerContext, type Handlers } from "./types.ts";

/**
 * Calls the handler for the event's type with the event typed for that type. The key and the
 * envelope are correlated through `K` (TypeScript's correlated-union pattern): `handlers[K]`
 * takes an `EnvelopeOf<S, K>`, which is what `event` is, so no cast is needed.
 */
export async function dispatch<S extends EventSpecs, K extends keyof S & string>(
  handlers: Handlers<S>,
  tx: SqlTx,
  event: EnvelopeOf<S, K>,
  ctx: HandlerContext,
): Promise<Envelope[]> {
  const handler = handlers[event.eventType];
  // decode only lets through types the consumer handles; this is for a caller that did not check.
  if (!handler) throw new PermanentError(`no handler for ${event.eventType}`);
  return handler(tx, event, ctx);
}

/**
 * The end of the chain: the consumer's handler, inside the transaction; what it emits goes to the
 * outbox, what it counts goes to `metrics` after the commit.
 */
export function handleWith<S extends EventSpecs>(
  handlers: Handlers<S>,
  metrics?: Metrics,
): Next<InTransaction<Traced<EnvelopeOf<S>>>> {
  return async (msg) => {
    const count: HandlerContext["count"] = (metric, labels = {}) =>
      (msg.afterCommit ??= []).push(() => metrics?.counter(metric).inc(labels));
    msg.emitted = await dispatch(handlers, msg.tx, msg.envelope, { cause: msg.cause, log: msg.log, count });
    return "handled";
  };
}
