import type { Database } from "../../platform/infra/database.ts";
import type { EventCause } from "../../platform/events/envelope.ts";
import type { Logger } from "../../platform/observability/logger.ts";
import { appendToOutbox } from "../../platform/outbox/enqueue.ts";
import { eventCatalog } from "../../contracts/index.ts";
import { AppError, badInput } from "../../platform/shared/errors.ts";
import { orderIdSchema } from "../../contracts/index.ts";
import { applyToOrder } from "./saga.ts";
import { runOnce, type IdempotencyOption } from "../../platform/idempotency/keys.ts";

const DEFAULT_REASON = "cancelled by customer";

/** PENDING or CONFIRMED → CANCELLED + OrderCancelled; inventory releases the stock when it sees it. */
export async function cancelOrder(
  db: Pick<Database, "transaction">,
  rawId: string,
  rawReason: string | null | undefined,
  cause: EventCause,
  log: Logger,
  /** Whether the caller may cancel orders of this customer (checked before anything changes). */
  mayCancelFor: (customerId: string) => boolean = () => true,
  idempotency?: IdempotencyOption,
): Promise<{ orderId: string; replayed: boolean }> {
  const id = orderIdSchema.safeParse(rawId);
  if (!id.success) throw badInput("id", "must be an order id (UUID)");
  const reason = rawReason?.trim() || DEFAULT_REASON;
  if (reason.length > 500) throw badInput("reason", "must be at most 500 characters");
  return db.transaction(async (tx) => {
    const cancel = async () => {
      const authorize = (customerId: string) => {
        if (!mayCancelFor(customerId))
          throw new AppError("FORBIDDEN", `not allowed: order ${id.data} belongs to another customer`, { field: "id" });
      };
      const result = await applyToOrder(
        tx,
        id.data,
        { type: "cancel", reason },
        { ...cause, correlationId: id.data },
        log,
        authorize,
      );
      if (!result.found) throw new AppError("NOT_FOUND", `order ${id.data} not found`, { field: "id" });
      if (result.decision.outcome !== "transition")
        throw new AppError("CONFLICT", result.decision.why, { field: "id" });
      await appendToOutbox(tx, eventCatalog, result.events);
      return id.data;
    };
    const { resultId, replayed } = await runOnce(
      tx,
      idempotency,
      { operation: "cancelOrder", input: { id: id.data, reason } },
      cancel,
    );
    return { orderId: resultId, replayed };
  });
}
