import type { Redis } from "ioredis";
import { encodeEntryFields } from "../../src/platform/events/stream-entry.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";
import { eventCatalog } from "../../src/contracts/index.ts";

/** Writes valid OrderCreated entries straight onto a stream (what the relay would), returns their cursors. */
export async function publishOrders(
  redis: Redis,
  key: string,
  count: number,
  customerId = "pub",
  sku = "SKU-001",
): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < count; i++) {
    const orderId = `01a21254-e1f1-7133-a952-${String(Math.floor(Math.random() * 1e12)).padStart(12, "0")}`;
    const e = eventCatalog.create(
      "OrderCreated",
      orderId,
      { customerId, currency: "EUR", totalCents: i, items: [{ sku, quantity: 1, unitPriceCents: i }] },
      { trace: continueTrace() },
    );
    pipeline.xadd(key, "*", ...encodeEntryFields(e, eventCatalog.routingKeys(e)));
  }
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, id]) => {
    if (err) throw err;
    return id as string;
  });
}

/** Publishes `total` events in small batches every `everyMs` until done or stopped. */
export function steadyPublisher(
  redis: Redis,
  key: string,
  total: number,
  opts: { batch?: number; everyMs?: number; customerId?: string } = {},
) {
  const cursors: string[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped && cursors.length < total) {
      cursors.push(
        ...(await publishOrders(redis, key, Math.min(opts.batch ?? 10, total - cursors.length), opts.customerId)),
      );
      await new Promise((r) => setTimeout(r, opts.everyMs ?? 5));
    }
  })();
  return { cursors, done, stop: () => (stopped = true) };
}
