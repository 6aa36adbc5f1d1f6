import { v7 as uuidv7 } from "uuid";
import type { PrismaClient } from "../infra/database.ts";
import { badInput, fromZodError } from "../errors.ts";
import { newEvent, type EventCause } from "../events/envelope.ts";
import { appendToOutbox } from "../outbox/enqueue.ts";
import { createOrderInput } from "./create-order-input.ts";
import { runOnce, type IdempotencyOption } from "../idempotency/keys.ts";

const MAX_INT4 = 2_147_483_647;

/**
 * Places an order: validates the input, prices every line from the catalog, and writes the order,
 * its items and the OrderCreated event to the outbox in one transaction. Stock is reserved later,
 * asynchronously, by the inventory service reacting to OrderCreated.
 */
export async function createOrder(
  prisma: PrismaClient,
  rawInput: unknown,
  cause: EventCause,
  idempotency?: IdempotencyOption,
): Promise<{ orderId: string; replayed: boolean }> {
  const parsed = createOrderInput.safeParse(rawInput);
  if (!parsed.success) throw fromZodError(parsed.error, "input");
  const input = parsed.data;

  return prisma.$transaction(async (tx) => {
    const place = async () => {
      const products = await tx.product.findMany({ where: { sku: { in: input.items.map((i) => i.sku) } } });
      const bySku = new Map(products.map((p) => [p.sku, p]));

      const lines = input.items.map((item, i) => {
        const product = bySku.get(item.sku);
        if (!product) throw badInput(`input.items[${i}].sku`, `unknown sku "${item.sku}"`);
        return { sku: item.sku, quantity: item.quantity, unitPriceCents: product.priceCents, currency: product.currency };
      });
      const currency = lines[0]!.currency;
      const mixed = lines.findIndex((l) => l.currency !== currency);
      if (mixed >= 0) throw badInput(`input.items[${mixed}].sku`, `priced in ${lines[mixed]!.currency}, the order is in ${currency}`);
      const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      if (totalCents > MAX_INT4) throw badInput("input.items", "order total too large");

      const id = uuidv7();
      const items = lines.map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents }));
      // Two plain inserts: a nested create (or include) makes Prisma read the order back, a round trip each.
      await tx.order.create({ data: { id, customerId: input.customerId, currency, totalCents }, select: { id: true } });
      await tx.orderItem.createMany({ data: items.map((item) => ({ orderId: id, ...item })) });
      await appendToOutbox(tx, [newEvent("OrderCreated", id, { customerId: input.customerId, currency, totalCents, items }, { ...cause, correlationId: cause.correlationId ?? id })]);
      return id;
    };
    const { resultId, replayed } = await runOnce(tx, idempotency, { operation: "createOrder", input }, place);
    return { orderId: resultId, replayed };
  });
}

