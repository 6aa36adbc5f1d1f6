import type { Builder } from "../../platform/graphql/builder.ts";

export function registerProductSchema(builder: Builder): void {
  const Product = builder.prismaObject("Product", {
    description: "A sellable item. Prices are integer minor units (cents) in the product's currency.",
    fields: (t) => ({
      sku: t.exposeString("sku"),
      name: t.exposeString("name"),
      priceCents: t.exposeInt("priceCents"),
      currency: t.exposeString("currency"),
      available: t.int({
        description: "Units that can still be ordered: on hand minus reserved.",
        select: { stock: { select: { onHand: true, reserved: true } } },
        resolve: (p) => (p.stock ? p.stock.onHand - p.stock.reserved : 0),
      }),
    }),
  });

  builder.queryField("products", (t) =>
    t.prismaField({
      type: [Product],
      description: "The whole catalog, by sku.",
      resolve: (query, _root, _args, ctx) => ctx.prisma.product.findMany({ ...query, orderBy: { sku: "asc" } }),
    }),
  );
}
