import { v7 as uuidv7 } from "uuid";
import type { PrismaClient } from "../../platform/infra/database.ts";
import type { Order } from "../../generated/prisma/client.ts";
import { sql, join, empty } from "../../generated/prisma/internal/prismaNamespace.ts";
import { AppError, fromZodError } from "../../platform/shared/errors.ts";
import type { EventCause } from "../../platform/events/envelope.ts";
import { eventCatalog } from "../../contracts/index.ts";
import { inOutboxSpan, outboxInsert } from "../../platform/outbox/enqueue.ts";
import { createOrderInput, type CreateOrderInput } from "./create-order-input.ts";
import { priceOrder, type PricedOrder } from "./pricing.ts";
import { lookUpPrices } from "./catalog-prices.ts";
import {
  claimKey,
  firstResult,
  keyedRequest,
  type IdempotencyOption,
  type KeyedRequest,
} from "../../platform/idempotency/keys.ts";

/** Price changes racing one order: after this many fresh re-reads, ask the client to retry. */
const MAX_PRICING_ATTEMPTS = 3;

export interface CreateOrderResult {
  orderId: string;
  replayed: boolean;
  /** The row as written (absent for a replay): answers the mutation without reading it back. */
  order?: Order;
}

/**
 * Places an order: validates the input, prices every line from the catalog, and writes the order,
 * its items, the OrderCreated outbox row (and the idempotency key, if any) in one statement — one
 * transaction, one round trip. Stock is reserved later, asynchronously, by the inventory service
 * reacting to OrderCreated.
 */
export async function createOrder(
  prisma: PrismaClient,
  rawInput: unknown,
  cause: EventCause,
  idempotency?: IdempotencyOption,
): Promise<CreateOrderResult> {
  const parsed = createOrderInput.safeParse(rawInput);
  if (!parsed.success) throw fromZodError(parsed.error, "input");
  const input = parsed.data;
  const keyed = idempotency && keyedRequest(idempotency, { operation: "createOrder", input });
  const skus = input.items.map((item) => item.sku);

  for (let attempt = 1; attempt <= MAX_PRICING_ATTEMPTS; attempt++) {
    const priced = priceOrder(input.items, await lookUpPrices(prisma, skus, attempt > 1));
    const written = await writeOrder(prisma, input, priced, cause, keyed);
    if (written.outcome === "placed") return { orderId: written.order.id, replayed: false, order: written.order };
    if (written.outcome === "key-used") return { orderId: await firstResult(prisma, keyed!), replayed: true };
    // "prices-changed": the catalog moved since these prices were read; price again from the database.
  }
  throw new AppError("SERVICE_UNAVAILABLE", "catalog prices kept changing while the order was placed; retry");
}

type WriteOutcome = { outcome: "placed"; order: Order } | { outcome: "prices-changed" } | { outcome: "key-used" };

/**
 * One statement: each data-modifying CTE runs only if every price used is still the catalog's
 * (and the idempotency key was free), so all rows are written or none. A concurrent request with
 * the same key waits on the key's primary key until the first one commits, then writes nothing.
 */
async function writeOrder(
  prisma: PrismaClient,
  input: CreateOrderInput,
  priced: PricedOrder,
  cause: EventCause,
  keyed?: KeyedRequest,
): Promise<WriteOutcome> {
  const id = uuidv7();
  const { currency, totalCents, lines } = priced;
  const event = eventCatalog.create(
    "OrderCreated",
    id,
    { customerId: input.customerId, currency, totalCents, items: lines },
    { ...cause, correlationId: cause.correlationId ?? id },
  );
  const lineValues = join(lines.map((l) => sql`(${l.sku}, ${l.quantity}::int, ${l.unitPriceCents}::int)`));

  const rows = await inOutboxSpan(
    [event],
    () => prisma.$queryRaw<(Partial<Order> & { pricesCurrent: boolean; keyFree: boolean })[]>`
    WITH line (sku, quantity, unit_price_cents) AS (VALUES ${lineValues}),
    checked AS (
      SELECT count(*) = ${lines.length} AS prices_current
      FROM line JOIN products p ON p.sku = line.sku AND p.price_cents = line.unit_price_cents AND p.currency = ${currency}
    ),
    ${keyed ? sql`keyed AS (${claimKey(keyed, id, sql`(SELECT prices_current FROM checked)`)}),` : empty}
    placed AS (
      INSERT INTO orders (id, customer_id, currency, total_cents)
      SELECT ${id}::uuid, ${input.customerId}, ${currency}, ${totalCents}::int FROM checked
      WHERE prices_current ${keyed ? sql`AND EXISTS (SELECT 1 FROM keyed)` : empty}
      RETURNING id, customer_id AS "customerId", status, total_cents AS "totalCents", currency, reject_reason AS "rejectReason",
        cancel_reason AS "cancelReason", created_at AS "createdAt", updated_at AS "updatedAt"
    ),
    items AS (
      INSERT INTO order_items (order_id, sku, quantity, unit_price_cents)
      SELECT placed.id, line.sku, line.quantity, line.unit_price_cents FROM placed CROSS JOIN line
    ),
    events AS (${outboxInsert(eventCatalog, [event], sql`EXISTS (SELECT 1 FROM placed)`)})
    SELECT checked.prices_current AS "pricesCurrent", ${keyed ? sql`EXISTS (SELECT 1 FROM keyed)` : sql`true`} AS "keyFree", placed.*
    FROM checked LEFT JOIN placed ON true`,
  );

  const row = rows[0]!;
  if (!row.pricesCurrent) return { outcome: "prices-changed" };
  if (!row.keyFree) return { outcome: "key-used" };
  const { pricesCurrent: _p, keyFree: _k, ...order } = row;
  return { outcome: "placed", order: order as Order };
}
