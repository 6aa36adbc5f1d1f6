import { badInput } from "../../platform/shared/errors.ts";
import type { CreateOrderInput } from "./create-order-input.ts";
import type { Price } from "./catalog-prices.ts";

const MAX_INT4 = 2_147_483_647;

export interface PricedLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export interface PricedOrder {
  currency: string;
  totalCents: number;
  lines: PricedLine[];
}

/**
 * Prices every line from the catalog. Unknown skus, lines in different currencies and totals
 * beyond a 32-bit integer are input errors, named by the line that causes them.
 */
export function priceOrder(items: CreateOrderInput["items"], prices: ReadonlyMap<string, Price>): PricedOrder {
  const lines = items.map((item, i) => {
    const price = prices.get(item.sku);
    if (!price) throw badInput(`input.items[${i}].sku`, `unknown sku "${item.sku}"`);
    return { sku: item.sku, quantity: item.quantity, unitPriceCents: price.priceCents, currency: price.currency };
  });
  const currency = lines[0]!.currency;
  const mixed = lines.findIndex((l) => l.currency !== currency);
  if (mixed >= 0)
    throw badInput(`input.items[${mixed}].sku`, `priced in ${lines[mixed]!.currency}, the order is in ${currency}`);
  const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
  if (totalCents > MAX_INT4) throw badInput("input.items", "order total too large");
  return {
    currency,
    totalCents,
    lines: lines.map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents })),
  };
}
