import { LRUCache } from "lru-cache";
import type { PrismaClient } from "../../platform/infra/database.ts";

export interface Price {
  priceCents: number;
  currency: string;
}

/** Enough for a large catalog's hot skus; an entry is a few dozen bytes. */
const MAX_CACHED_SKUS = 50_000;

// One cache per database client (tests run several databases in one process).
const caches = new WeakMap<PrismaClient, LRUCache<string, Price>>();

/**
 * Catalog prices of these skus; unknown skus are absent. Served from a per-process cache, read
 * from the database when missing or when `fresh` is asked for. Callers never trust a cached price
 * blindly: createOrder's write checks every price it used against the catalog in the same
 * statement, and asks again with `fresh` when one changed, so a stale entry costs a re-read, never
 * a wrong price.
 */
export async function lookUpPrices(
  prisma: PrismaClient,
  skus: readonly string[],
  fresh = false,
): Promise<Map<string, Price>> {
  let cache = caches.get(prisma);
  if (!cache) caches.set(prisma, (cache = new LRUCache({ max: MAX_CACHED_SKUS })));
  const toRead = fresh ? skus : skus.filter((sku) => !cache.has(sku));
  if (toRead.length > 0) {
    const rows = await prisma.product.findMany({
      where: { sku: { in: [...toRead] } },
      select: { sku: true, priceCents: true, currency: true },
    });
    for (const sku of toRead) cache.delete(sku);
    for (const { sku, priceCents, currency } of rows) cache.set(sku, { priceCents, currency });
  }
  const prices = new Map<string, Price>();
  for (const sku of skus) {
    const price = cache.get(sku);
    if (price) prices.set(sku, price);
  }
  return prices;
}
