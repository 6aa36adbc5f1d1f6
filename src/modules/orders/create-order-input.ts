import { z } from "zod";
import { customerIdSchema } from "../../contracts/index.ts";

export const MAX_LINES = 50;
export const MAX_QUANTITY = 1000;

export const createOrderInput = z.object({
  customerId: customerIdSchema,
  items: z
    .array(
      z.object({
        sku: z.string().trim().min(1, "must not be empty").max(64, "must be at most 64 characters"),
        quantity: z
          .number()
          .int("must be a whole number")
          .min(1, "must be at least 1")
          .max(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`),
      }),
    )
    .min(1, "an order needs at least one line")
    .max(MAX_LINES, `an order has at most ${MAX_LINES} lines`)
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.sku))
          ctx.addIssue({
            code: "custom",
            path: [i, "sku"],
            message: `duplicate sku "${item.sku}": put the whole quantity on one line`,
          });
        seen.add(item.sku);
      });
    }),
});

export type CreateOrderInput = z.output<typeof createOrderInput>;
