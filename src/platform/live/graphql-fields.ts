import { AppError } from "../shared/errors.ts";
import type { Builder } from "../graphql/builder.ts";
import type { LiveEvent, LiveFilter, StreamHub } from "./hub.ts";
import type { SubscriptionQueue } from "./subscription-queue.ts";
import { isExpired, type Viewer } from "../auth/principal.ts";
import { unauthenticated } from "../auth/tokens.ts";

/**
 * Who receives a live subscription's events, checked on every event, not just at subscribe time:
 * an event the viewer may not see is skipped, and the subscription ends (UNAUTHENTICATED) once the
 * viewer's token has expired — over SSE too, where no socket close would end it.
 */
export interface LiveAudience {
  viewer: Viewer;
  mayReceive?: (event: LiveEvent) => boolean;
}

type SchemaTypesOf<B> = B extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** Fields every event type exposes, whatever its stream (used by OrderEvent and InventoryEvent). */
export function commonEventFields<P extends LiveEvent>(
  t: PothosSchemaTypes.InterfaceFieldBuilder<SchemaTypesOf<Builder>, P>,
) {
  return {
    eventId: t.id({ resolve: (e: LiveEvent) => e.envelope.eventId }),
    eventType: t.string({ resolve: (e: LiveEvent) => e.envelope.eventType }),
    occurredAt: t.field({ type: "DateTime", resolve: (e: LiveEvent) => e.envelope.occurredAt }),
    traceId: t.string({
      nullable: true,
      description: "W3C trace id of the request that caused this event.",
      resolve: (e: LiveEvent) => e.traceId,
    }),
    cursor: t.string({
      description: "Position on the stream; opaque, pass it back to resume after this event.",
      resolve: (e: LiveEvent) => e.cursor,
    }),
  };
}

/** How a live subscription ends with an error the client should see (slow, replay failed). */
export interface LiveFailure {
  failure: AppError;
}
export type LiveItem = LiveEvent | LiveFailure;

/**
 * Subscribes to a hub, validating `after` up front (so a bad cursor is a normal GraphQL error).
 * A subscriber cut off later gets one final result carrying the error and its last cursor, then
 * completion — the same over WebSocket and SSE, and its other subscriptions are unaffected.
 */
export async function subscribeLive(
  hub: StreamHub,
  filter: LiveFilter,
  after: string | null | undefined,
  audience: LiveAudience,
): Promise<AsyncGenerator<LiveItem>> {
  if (after != null) await hub.checkCursor(after);
  const queue = hub.subscribe(filter, after != null ? { after } : {});
  return closingQueueOnReturn(endWithFailure(queue, audience), queue);
}

/**
 * An async generator suspended in `await` (here: waiting for the queue's next event) only runs a
 * `return()` once that await settles, so a client that unsubscribes or disconnects would stay
 * registered with the hub until its next matching event — forever, for a quiet filter. Closing the
 * queue first settles the pending read (done), and the generator's cleanup runs at once.
 */
function closingQueueOnReturn<G extends AsyncGenerator<unknown>>(gen: G, queue: SubscriptionQueue<LiveEvent>): G {
  const original = gen.return.bind(gen);
  gen.return = (value) => {
    void queue.return();
    return original(value);
  };
  return gen;
}

async function* endWithFailure(queue: SubscriptionQueue<LiveEvent>, audience: LiveAudience): AsyncGenerator<LiveItem> {
  try {
    for await (const event of queue) {
      if (isExpired(audience.viewer)) {
        yield { failure: unauthenticated(`token expired; resubscribe with a new token and after: "${event.cursor}"`) };
        return;
      }
      if (audience.mayReceive && !audience.mayReceive(event)) continue;
      yield event;
    }
  } catch (err) {
    if (err instanceof AppError) yield { failure: err };
    else throw err;
  } finally {
    await queue.return();
  }
}

/** The resolve side of a live subscription: the value, or the failure as this result's error. */
export function unwrapLive<T>(item: T | LiveFailure): T {
  if (typeof item === "object" && item !== null && "failure" in item) throw item.failure;
  return item as T;
}

/** Like subscribeLive, for fields that push a fresh snapshot of some state after its events. */
export async function subscribeSnapshots<T>(
  hub: StreamHub,
  filter: LiveFilter,
  after: string | null | undefined,
  load: () => Promise<T | null>,
  viewer: Viewer,
) {
  if (after != null) await hub.checkCursor(after);
  const queue = hub.subscribe(filter, after != null ? { after } : {});
  return closingQueueOnReturn(
    snapshots(
      endWithFailure(queue, { viewer }),
      load,
      () => queue.size,
      () => queue.return(),
    ),
    queue,
  );
}

/**
 * "Current state, then again after events": for orderUpdated and stockLevel. Subscribes first and
 * loads second, so an event landing in between still triggers a reload. Events already queued are
 * coalesced into one reload (a replay or a burst yields the state once, not once per event).
 * `release` unregisters from the hub however this ends: when the first load throws, `items` was never
 * started, and returning an unstarted generator skips its `finally` (the subscriber would stay forever).
 */
async function* snapshots<T>(
  items: AsyncGenerator<LiveItem>,
  load: () => Promise<T | null>,
  queued: () => number,
  release: () => unknown,
): AsyncGenerator<T | LiveFailure> {
  try {
    const first = await load();
    if (first !== null) yield first;
    for await (const item of items) {
      if ("failure" in item) {
        yield item;
        return;
      }
      if (queued() > 0) continue;
      const next = await load();
      if (next !== null) yield next;
    }
  } finally {
    await items.return(undefined);
    await release();
  }
}
