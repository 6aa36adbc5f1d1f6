import type { RedisClient } from "../infra/redis.ts";
import type { SqlTx } from "../infra/sql-transaction.ts";
import type { Envelope, EventCause } from "../events/envelope.ts";
import type { StreamName } from "../events/registry.ts";
import type { StreamEntry } from "../events/stream-entry.ts";
import type { Logger } from "../observability/logger.ts";
import { continueTrace } from "../observability/trace.ts";
import type { DeadLetterReason } from "./failure-policy.ts";

/**
 * What became of one delivery; the label of the duration metric and of the log line.
 * `skipped`: another module's event on a stream the group reads, acknowledged without parsing.
 */
export type Outcome = "handled" | "duplicate" | "skipped" | "retry" | "dead-letter";

/** Why a failed delivery is tried again: an outage, or the handler failed. */
export type RetryReason = "infrastructure" | "handler-error";

/** One partition of a stream the group reads, and the connection its reader holds. */
export interface Source {
  stream: StreamName;
  key: string;
  redis: RedisClient;
}

/**
 * One delivery of a stream entry, as the router hands it to the middleware chain. Middlewares add
 * to it as it goes in (the envelope once decoded, the logger and cause once traced, the
 * transaction once opened); the outer ones read what the inner ones recorded.
 */
export interface Message {
  readonly source: Source;
  readonly entry: StreamEntry;
  /** How often the group has delivered this entry: 1 the first time; XCLAIM and XAUTOCLAIM count. */
  readonly deliveries: number;
  /** The validated envelope (decode). */
  envelope?: Envelope;
  /** What the handler emitted (dispatch), appended to the outbox in its transaction (outbox). */
  emitted?: readonly Envelope[];
  /** Run once the handler's transaction has committed (metrics the handler counted); reset by each attempt. */
  afterCommit?: (() => void)[];
  /** The delivery failed and is to be tried again after `delayMs` (retry); the router schedules it. */
  retry?: { reason: RetryReason; delayMs: number };
  /** The entry went to the dead-letter stream (poison). */
  deadLetter?: { reason: DeadLetterReason; id: string };
}

/** After decode: the envelope, typed by the consumer's contract. */
export type Decoded<E extends Envelope = Envelope> = Omit<Message, "envelope"> & { envelope: E };

/** After tracing: the consumer span's trace for what the handler emits, and a logger carrying it. */
export type Traced<E extends Envelope = Envelope> = Decoded<E> & { cause: EventCause; log: Logger };

/** Inside the transaction (transaction). */
export type InTransaction<M extends Message = Message> = M & { tx: SqlTx };

/** The rest of the chain: handles the message and says what became of it (Watermill's HandlerFunc). */
export type Next<M> = (msg: M) => Promise<Outcome>;

/**
 * Wraps the rest of the chain (Watermill's HandlerMiddleware). `In` is the message it is given,
 * `Out` the one it passes on (a middleware that adds to the message says so in its type).
 */
export type Middleware<In, Out = In> = (next: Next<Out>) => Next<In>;

/**
 * Builds a chain outermost first, the way Watermill's router adds middlewares:
 * `chain<Message>().use(a).use(b).handle(h)` is `a(b(h))`, each step's message type checked
 * against the next.
 */
export interface Chain<In, Out> {
  use<Then>(middleware: Middleware<Out, Then>): Chain<In, Then>;
  handle(handler: Next<Out>): Next<In>;
}

export function chain<M>(): Chain<M, M> {
  return wrapWith<M, M>((next) => next);
}

function wrapWith<In, Out>(wrap: Middleware<In, Out>): Chain<In, Out> {
  return {
    use: <Then>(middleware: Middleware<Out, Then>) => wrapWith<In, Then>((next) => wrap(middleware(next))),
    handle: (handler) => wrap(handler),
  };
}

/** What the failure log lines of retry and poison say about a delivery. */
export function failureContext(group: string, msg: Message, err: unknown) {
  const { source, entry, envelope } = msg;
  return {
    err,
    traceId: envelope ? continueTrace(envelope.traceparent).traceId : undefined,
    group,
    stream: source.stream,
    key: source.key,
    entryId: entry.id,
    eventType: entry.type,
    deliveries: msg.deliveries,
  };
}
