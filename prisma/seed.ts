/**
 * Dev seed: a small catalog with stock, so GraphiQL has something to order. Idempotent: products
 * that already exist are left alone (their stock too), so it is safe on every `npm start`.
 */
import { loadConfig } from "../src/config.ts";
import { createDatabase } from "../src/platform/infra/database.ts";

export const CATALOG: { sku: string; name: string; priceCents: number; onHand: number }[] = [
  ["Espresso beans 1 kg", 2490, 120],
  ["Filter coffee 500 g", 1190, 200],
  ["Green tea 100 g", 890, 80],
  ["Ceramic mug", 1290, 60],
  ["Travel tumbler", 2490, 40],
  ["Pour-over dripper", 2990, 25],
  ["Paper filters (100)", 490, 300],
  ["Burr grinder", 8990, 12],
  ["Milk frother", 3990, 18],
  ["Kettle, gooseneck", 5990, 15],
  ["Digital scale", 3490, 20],
  ["Cold brew jar", 2790, 30],
  ["Tea infuser", 790, 90],
  ["Espresso cups (2)", 1690, 45],
  ["Cleaning tablets", 990, 70],
  ["Oat milk 1 l", 249, 150],
  ["Chocolate syrup", 599, 55],
  ["Biscotti box", 699, 65],
  ["Knock box", 1990, 10],
  ["Gift card 25 EUR", 2500, 1000],
].map(([name, priceCents, onHand], i) => ({
  sku: `SKU-${String(i + 1).padStart(3, "0")}`,
  name: name as string,
  priceCents: priceCents as number,
  onHand: onHand as number,
}));

export async function seed(databaseUrl: string): Promise<number> {
  const db = createDatabase(databaseUrl, 2, "seed");
  try {
    return await db.prisma.$transaction(async (tx) => {
      const products = await tx.product.createMany({
        data: CATALOG.map(({ sku, name, priceCents }) => ({ sku, name, priceCents, currency: "EUR" })),
        skipDuplicates: true,
      });
      await tx.stockLevel.createMany({
        data: CATALOG.map(({ sku, onHand }) => ({ sku, onHand })),
        skipDuplicates: true,
      });
      return products.count;
    });
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const added = await seed(loadConfig().DATABASE_URL);
  console.log(added ? `seed: added ${added} products` : "seed: catalog already present");
}
