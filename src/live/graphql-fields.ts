import { badInput } from "../errors.ts";
import { customerIdSchema, orderIdSchema } from "../orders/create-order-input.ts";
import type { LiveEvent } from "./hub.ts";
import type { SubscriptionQueue } from "./subscription-queue.ts";

/** Fields every event type exposes, whatever its stream (used by OrderEvent and InventoryEvent). */
export function commonEventFields(t: PothosSchemaTypes.InterfaceFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<{}>, LiveEvent> | any) {
  return {
    eventId: t.id({ resolve: (e: LiveEvent) => e.envelope.eventId }),
    eventType: t.string({ resolve: (e: LiveEvent) => e.envelope.eventType }),
    occurredAt: t.field({ type: "DateTime", resolve: (e: LiveEvent) => e.envelope.occurredAt }),
    traceId: t.string({ nullable: true, description: "W3C trace id of the request that caused this event.", resolve: (e: LiveEvent) => e.traceId }),
    cursor: t.string({ description: "Position on the stream; opaque, pass it back to resume after this event.", resolve: (e: LiveEvent) => e.cursor }),
  };
}

/** Routing keys for subscription arguments, validated: a bad id is a BAD_USER_INPUT error, not "no events". */
export function routingKeysFor(args: { orderId?: string | number | null; customerId?: string | number | null; sku?: string | null }): string[] {
  const keys: string[] = [];
  if (args.orderId != null) {
    const id = orderIdSchema.safeParse(String(args.orderId));
    if (!id.success) throw badInput("orderId", "must be an order id (UUID)");
    keys.push(`order:${id.data}`);
  }
  if (args.customerId != null) {
    const id = customerIdSchema.safeParse(String(args.customerId));
    if (!id.success) throw badInput("customerId", id.error.issues[0]!.message);
    keys.push(`customer:${id.data}`);
  }
  if (args.sku != null) {
    if (args.sku.length < 1 || args.sku.length > 64) throw badInput("sku", "must be 1 to 64 characters");
    keys.push(`sku:${args.sku}`);
  }
  return keys;
}

/**
 * "Current state, then again after each event": for orderUpdated and stockLevel. Subscribes first
 * and loads second, so an event landing in between still triggers a reload (never a stale last value).
 */
export async function* snapshots<T>(queue: SubscriptionQueue<LiveEvent>, load: () => Promise<T | null>): AsyncGenerator<T> {
  try {
    const first = await load();
    if (first !== null) yield first;
    for await (const _event of queue) {
      const next = await load();
      if (next !== null) yield next;
    }
  } finally {
    await queue.return();
  }
}
